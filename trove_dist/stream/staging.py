"""Claim-check storage for chunk payloads between pipeline steps.

Raw chunks pushed by a producer wait here for a transform; transformed frames wait for the
writer that uploads their part.  Task messages carry only (stream id, chunk index); the bytes
live here.  Staging is bounded: a put beyond the bound raises ``StagingFull`` and the caller
backs off (a producer blocks or spills, a task retries later), so a burst cannot exhaust memory.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable

from trove_dist.errors import TroveError


class StagingFull(TroveError):
    """Staging is at its bound; retry after the pipeline drains."""


class Staging(ABC):
    @abstractmethod
    def put(self, stream_id: str, name: str, data: bytes) -> None:
        """Store ``data``; replacing an entry of the same name is allowed (idempotent retries)."""

    @abstractmethod
    def get(self, stream_id: str, name: str) -> bytes | None: ...

    @abstractmethod
    def delete(self, stream_id: str, names: Iterable[str]) -> None: ...

    @abstractmethod
    def drop(self, stream_id: str) -> None:
        """Remove everything staged for the stream."""

    @abstractmethod
    def used_bytes(self) -> int: ...


class MemoryStaging(Staging):
    def __init__(self, max_bytes: int = 512 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], bytes] = {}
        self._used = 0

    def put(self, stream_id: str, name: str, data: bytes) -> None:
        with self._lock:
            previous = self._entries.get((stream_id, name))
            growth = len(data) - (len(previous) if previous is not None else 0)
            if growth > 0 and self._used + growth > self.max_bytes:
                raise StagingFull(f"staging holds {self._used} of {self.max_bytes} bytes")
            self._entries[(stream_id, name)] = bytes(data)
            self._used += growth

    def get(self, stream_id: str, name: str) -> bytes | None:
        with self._lock:
            return self._entries.get((stream_id, name))

    def delete(self, stream_id: str, names: Iterable[str]) -> None:
        with self._lock:
            for name in names:
                data = self._entries.pop((stream_id, name), None)
                if data is not None:
                    self._used -= len(data)

    def drop(self, stream_id: str) -> None:
        with self._lock:
            for entry in [k for k in self._entries if k[0] == stream_id]:
                self._used -= len(self._entries.pop(entry))

    def used_bytes(self) -> int:
        with self._lock:
            return self._used


def raw_name(index: int) -> str:
    return f"raw:{index}"


def frame_name(index: int) -> str:
    return f"frame:{index}"
