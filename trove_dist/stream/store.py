"""Where stream state lives: the interface, and the in-memory store of the embedded default.

Every method is atomic with respect to every other: a Redis store implements the same contract
with transactions (``trove_dist.dist.redis_store``).  Everything a task does twice — record a
frame, cut parts, record an uploaded part, claim finalisation — has an effect only once.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from trove_dist.errors import NotFound
from trove_dist.stream.assembly import plan_cuts
from trove_dist.stream.records import Part, StreamCounts, StreamSpec, StreamStatus
from trove_dist.stream.state import InvalidTransition, StreamState, allowed


class StreamNotFound(NotFound):
    def __init__(self, stream_id: str) -> None:
        super().__init__(f"no stream {stream_id} (never created, or expired after it ended)")
        self.stream_id = stream_id


class StreamStore(ABC):
    @abstractmethod
    def create(self, spec: StreamSpec) -> None: ...

    @abstractmethod
    def spec(self, stream_id: str) -> StreamSpec: ...

    @abstractmethod
    def state(self, stream_id: str) -> StreamState: ...

    @abstractmethod
    def transition(
        self,
        stream_id: str,
        wanted: StreamState,
        *,
        only_from: Iterable[StreamState] | None = None,
        error: str | None = None,
    ) -> StreamState:
        """Move to ``wanted`` if the machine (and ``only_from``) allow it from the current
        state; raise ``InvalidTransition`` otherwise.  Returns the previous state."""

    @abstractmethod
    def set_upload_id(self, stream_id: str, upload_id: str) -> str:
        """Record the destination's upload id unless one is set; return the one in force."""

    @abstractmethod
    def upload_id(self, stream_id: str) -> str | None: ...

    @abstractmethod
    def set_total(self, stream_id: str, total: int) -> None:
        """The number of chunks, once known; setting a different value later is an error."""

    @abstractmethod
    def mark_received(self, stream_id: str, index: int) -> None: ...

    @abstractmethod
    def record_frame(self, stream_id: str, index: int, stored: int, plain: int) -> bool:
        """Record chunk ``index``'s frame size; ``False`` if it was already recorded."""

    @abstractmethod
    def has_frame(self, stream_id: str, index: int) -> bool: ...

    @abstractmethod
    def frame_sizes(self, stream_id: str) -> dict[int, tuple[int, int]]:
        """``index -> (stored size, plaintext size)`` of every recorded frame."""

    @abstractmethod
    def cut_parts(self, stream_id: str, header_size: int, cut_by: int) -> list[Part]:
        """Cut the parts that recorded frames allow (see ``assembly``), marking them as cut by
        chunk ``cut_by``'s write step; returns the new ones."""

    @abstractmethod
    def parts(self, stream_id: str) -> list[Part]: ...

    @abstractmethod
    def pending_parts(self, stream_id: str) -> list[Part]:
        """Parts cut and not yet uploaded (what a write step may have to upload again)."""

    @abstractmethod
    def part_uploaded(self, stream_id: str, number: int, etag: str, size: int) -> bool:
        """Record an uploaded part; ``True`` when every chunk now sits in an uploaded part."""

    @abstractmethod
    def claim_finalize(self, stream_id: str) -> bool:
        """``True`` for exactly one caller per stream."""

    @abstractmethod
    def status(self, stream_id: str) -> StreamStatus: ...

    @abstractmethod
    def counts(self, stream_id: str) -> StreamCounts:
        """State and progress counters without listing chunks (for frequent polling)."""

    @abstractmethod
    def expire(self, stream_id: str, seconds: float) -> None:
        """Forget the stream after ``seconds`` (called once it has ended)."""


@dataclass
class _Row:
    spec: StreamSpec
    state: StreamState = StreamState.IDLE
    error: str | None = None
    upload_id: str | None = None
    total: int | None = None
    received: set[int] = field(default_factory=set)
    frames: dict[int, tuple[int, int]] = field(default_factory=dict)
    parts: dict[int, Part] = field(default_factory=dict)
    next_frame: int = 0
    finalize_claimed: bool = False
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    expires_at: float | None = None


class MemoryStreamStore(StreamStore):
    """Thread-safe, in-process: the embedded default."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, _Row] = {}

    def _row(self, stream_id: str) -> _Row:
        row = self._rows.get(stream_id)
        if row is None or (row.expires_at is not None and row.expires_at <= time.time()):
            raise StreamNotFound(stream_id)
        return row

    def create(self, spec: StreamSpec) -> None:
        with self._lock:
            if spec.stream_id in self._rows:
                raise ValueError(f"stream {spec.stream_id} already exists")
            self._rows[spec.stream_id] = _Row(spec)

    def spec(self, stream_id: str) -> StreamSpec:
        with self._lock:
            return self._row(stream_id).spec

    def state(self, stream_id: str) -> StreamState:
        with self._lock:
            return self._row(stream_id).state

    def transition(
        self,
        stream_id: str,
        wanted: StreamState,
        *,
        only_from: Iterable[StreamState] | None = None,
        error: str | None = None,
    ) -> StreamState:
        with self._lock:
            row = self._row(stream_id)
            current = row.state
            if not allowed(current, wanted) or (only_from is not None and current not in set(only_from)):
                raise InvalidTransition(stream_id, current, wanted)
            row.state = wanted
            if error is not None:
                row.error = error
            row.updated_at = time.time()
            return current

    def set_upload_id(self, stream_id: str, upload_id: str) -> str:
        with self._lock:
            row = self._row(stream_id)
            if row.upload_id is None:
                row.upload_id = upload_id
            return row.upload_id

    def upload_id(self, stream_id: str) -> str | None:
        with self._lock:
            return self._row(stream_id).upload_id

    def set_total(self, stream_id: str, total: int) -> None:
        with self._lock:
            row = self._row(stream_id)
            if row.total is not None and row.total != total:
                raise ValueError(f"stream {stream_id} has {row.total} chunks, not {total}")
            row.total = total

    def mark_received(self, stream_id: str, index: int) -> None:
        with self._lock:
            row = self._row(stream_id)
            row.received.add(index)
            row.updated_at = time.time()

    def record_frame(self, stream_id: str, index: int, stored: int, plain: int) -> bool:
        with self._lock:
            row = self._row(stream_id)
            if index in row.frames:
                return False
            row.frames[index] = (stored, plain)
            row.updated_at = time.time()
            return True

    def has_frame(self, stream_id: str, index: int) -> bool:
        with self._lock:
            return index in self._row(stream_id).frames

    def frame_sizes(self, stream_id: str) -> dict[int, tuple[int, int]]:
        with self._lock:
            return dict(self._row(stream_id).frames)

    def cut_parts(self, stream_id: str, header_size: int, cut_by: int) -> list[Part]:
        with self._lock:
            row = self._row(stream_id)
            new = plan_cuts(
                {i: stored for i, (stored, _) in row.frames.items()},
                row.next_frame,
                len(row.parts) + 1,
                row.total,
                row.spec.part_min,
                row.spec.max_parts,
                header_size,
                cut_by,
                time.time(),
            )
            for part in new:
                row.parts[part.number] = part
                row.next_frame = part.last + 1
            return new

    def parts(self, stream_id: str) -> list[Part]:
        with self._lock:
            return [p for _, p in sorted(self._row(stream_id).parts.items())]

    def pending_parts(self, stream_id: str) -> list[Part]:
        with self._lock:
            return [p for _, p in sorted(self._row(stream_id).parts.items()) if not p.uploaded]

    def part_uploaded(self, stream_id: str, number: int, etag: str, size: int) -> bool:
        with self._lock:
            row = self._row(stream_id)
            part = row.parts[number]
            if part.uploaded:
                return False
            row.parts[number] = replace(part, etag=etag, size=size)
            row.updated_at = time.time()
            return _all_stored(row.total, row.next_frame, row.parts.values())

    def claim_finalize(self, stream_id: str) -> bool:
        with self._lock:
            row = self._row(stream_id)
            if row.finalize_claimed:
                return False
            row.finalize_claimed = True
            return True

    def status(self, stream_id: str) -> StreamStatus:
        with self._lock:
            row = self._row(stream_id)
            return build_status(
                stream_id,
                row.state,
                row.total,
                row.received,
                row.frames,
                list(row.parts.values()),
                row.spec.source is not None,
                row.error,
                row.upload_id,
                row.created_at,
                row.updated_at,
            )

    def counts(self, stream_id: str) -> StreamCounts:
        with self._lock:
            row = self._row(stream_id)
            stored = sum(p.last - p.first + 1 for p in row.parts.values() if p.uploaded)
            received = len(row.received | row.frames.keys())
            plain = sum(p for _, p in row.frames.values())
            return StreamCounts(row.state, row.total, received, len(row.frames), stored, plain)

    def expire(self, stream_id: str, seconds: float) -> None:
        with self._lock:
            self._row(stream_id).expires_at = time.time() + seconds


def _all_stored(total: int | None, next_frame: int, parts: Iterable[Part]) -> bool:
    return total is not None and next_frame >= total and all(p.uploaded for p in parts)


def build_status(
    stream_id: str,
    state: StreamState,
    total: int | None,
    received: Iterable[int],
    frames: dict[int, tuple[int, int]],
    parts: list[Part],
    source_is_object: bool,
    error: str | None,
    upload_id: str | None,
    created_at: float,
    updated_at: float,
) -> StreamStatus:
    """Shared by the stores: the counts and the chunks still missing."""
    stored = sum(p.last - p.first + 1 for p in parts if p.uploaded)
    have = set(received) | set(frames)
    if source_is_object and total is not None:
        have = set(range(total))
    end = total if total is not None else (max(have) + 1 if have else 0)
    return StreamStatus(
        stream_id=stream_id,
        state=state,
        total_chunks=total,
        received=len(have),
        transformed=len(frames),
        stored=stored,
        bytes_in=sum(plain for _, plain in frames.values()),
        missing=[i for i in range(end) if i not in have],
        error=error,
        upload_id=upload_id,
        created_at=created_at,
        updated_at=updated_at,
    )
