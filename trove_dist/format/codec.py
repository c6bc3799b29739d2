"""The interface a chunk transform implements for one object."""

from __future__ import annotations

from abc import ABC, abstractmethod


class ChunkCodec(ABC):
    """Per-object state of a chunk transform (a data key, a compression level …).

    ``encode`` and ``decode`` see the frame's index and final flag, so a codec can bind them
    (encryption does: a reordered or truncated object then fails authentication).
    """

    @abstractmethod
    def encode(self, index: int, final: bool, chunk: bytes) -> bytes: ...

    @abstractmethod
    def decode(self, index: int, final: bool, payload: bytes) -> bytes:
        """Invert ``encode``; raise a ``FormatError`` subclass on anything inconsistent."""
