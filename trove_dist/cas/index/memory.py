"""An index in a dict: for tests and for a CAS used by one process only.

One lock makes every method atomic; ``collect`` holds it while blobs are deleted, which is the
"row lock" of the GC protocol (a store for any hash waits, not only for the doomed ones: fine in
one process).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from trove_dist.cas.errors import HashNotFound, IndexMismatch, NoReferences
from trove_dist.cas.index.base import Collected, DeleteBlob
from trove_dist.cas.models import Claim, Doomed, Entry, IndexStats, State


@dataclass(slots=True)
class _Row:
    size: int
    refs: int
    pinned: bool
    state: State
    generation: int
    created: float
    touched: float


class MemoryIndex:
    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.RLock()
        self._rows: dict[str, _Row] = {}
        self._owners: dict[str, Counter[str]] = {}
        self._bound: tuple[str, str] | None = None
        self._clock = clock

    def bind(self, bucket: str, algorithm: str) -> None:
        with self._lock:
            if self._bound is None:
                self._bound = (bucket, algorithm)
            elif self._bound != (bucket, algorithm):
                raise IndexMismatch(f"this index serves bucket {self._bound[0]!r} with {self._bound[1]}")

    def begin_store(self, digest: str, size: int, owner: str | None) -> Claim:
        with self._lock:
            now = self._clock()
            row = self._rows.get(digest)
            if row is None:
                row = self._rows[digest] = _Row(size, 0, False, State.PENDING, _generation(), now, now)
                return Claim(False, row.generation)
            row.touched = now
            if row.state is State.LIVE:
                self._reference(row, digest, owner, 1)
                return Claim(True, row.generation)
            if row.state is State.DELETING:
                row.state, row.generation, row.refs, row.size = State.PENDING, _generation(), 0, size
            return Claim(False, row.generation)

    def finish_store(self, digest: str, generation: int, size: int, owner: str | None, refs: int = 1) -> bool:
        with self._lock:
            row = self._rows.get(digest)
            if row is None or row.generation != generation or row.state is State.DELETING:
                return False
            row.state, row.size, row.touched = State.LIVE, size, self._clock()
            self._reference(row, digest, owner, refs)
            return True

    def _reference(self, row: _Row, digest: str, owner: str | None, n: int) -> None:
        row.refs += n
        if owner is not None and n:
            self._owners.setdefault(owner, Counter())[digest] += n

    def abandon(self, digest: str, generation: int) -> None:
        with self._lock:
            row = self._rows.get(digest)
            if row is not None and row.generation == generation and row.state is State.PENDING and not row.refs:
                del self._rows[digest]

    def release(self, digest: str) -> int:
        with self._lock:
            row = self._rows.get(digest)
            if row is None or row.state is not State.LIVE:
                raise HashNotFound(digest)
            if row.refs == 0:
                raise NoReferences(digest)
            row.refs -= 1
            row.touched = self._clock()
            return row.refs

    def release_owner(self, owner: str) -> int:
        with self._lock:
            held = self._owners.pop(owner, Counter())
            now = self._clock()
            for digest, n in held.items():
                row = self._rows.get(digest)
                if row is not None:
                    row.refs = max(0, row.refs - n)
                    row.touched = now
            return sum(held.values())

    def set_pinned(self, digest: str, pinned: bool) -> None:
        with self._lock:
            row = self._rows.get(digest)
            if row is None or row.state is not State.LIVE:
                raise HashNotFound(digest)
            row.pinned = pinned
            row.touched = self._clock()

    def get(self, digest: str) -> Entry | None:
        with self._lock:
            row = self._rows.get(digest)
            return None if row is None else _entry(digest, row)

    def entries(self, after: str = "", limit: int = 1000) -> list[Entry]:
        with self._lock:
            digests = sorted(d for d in self._rows if d > after)[:limit]
            return [_entry(d, self._rows[d]) for d in digests]

    def stats(self) -> IndexStats:
        with self._lock:
            rows = list(self._rows.values())
        return IndexStats(
            entries=len(rows),
            live=sum(r.state is State.LIVE for r in rows),
            pending=sum(r.state is State.PENDING for r in rows),
            deleting=sum(r.state is State.DELETING for r in rows),
            referenced=sum(r.refs > 0 for r in rows),
            pinned=sum(r.pinned for r in rows),
            bytes=sum(r.size for r in rows),
        )

    def condemn(self, grace: float, limit: int) -> int:
        with self._lock:
            cutoff = self._clock() - grace
            count = 0
            for row in self._rows.values():
                if count >= limit:
                    break
                idle = row.touched < cutoff
                unreferenced = row.state is State.LIVE and row.refs == 0 and not row.pinned
                if idle and (unreferenced or row.state is State.PENDING):
                    row.state = State.DELETING
                    count += 1
            return count

    def doomed(self, after: str, limit: int) -> list[Doomed]:
        with self._lock:
            found = sorted(d for d, r in self._rows.items() if r.state is State.DELETING and d > after)[:limit]
            return [Doomed(d, self._rows[d].size, self._rows[d].generation) for d in found]

    def collect(self, doomed: Sequence[Doomed], delete_blob: DeleteBlob) -> Collected:
        result = Collected()
        with self._lock:
            for item in doomed:
                row = self._rows.get(item.hash)
                if row is None or row.state is not State.DELETING or row.generation != item.generation:
                    continue
                try:
                    delete_blob(item)
                except Exception as exc:  # noqa: BLE001 - the entry stays condemned; the next GC retries
                    result.errors.append(f"{item.hash}: {exc}")
                    continue
                del self._rows[item.hash]
                result.deleted.append(item)
        return result

    def adopt_orphan(self, digest: str) -> Doomed | None:
        with self._lock:
            if digest in self._rows:
                return None
            now = self._clock()
            row = self._rows[digest] = _Row(0, 0, False, State.DELETING, _generation(), now, now)
            return Doomed(digest, 0, row.generation)

    def adopt_blob(self, digest: str, size: int) -> int | None:
        with self._lock:
            if digest in self._rows:
                return None
            now = self._clock()
            row = self._rows[digest] = _Row(size, 0, False, State.PENDING, _generation(), now, now)
            return row.generation

    def close(self) -> None:
        """Nothing to release: the entries live as long as the object."""


def _generation() -> int:
    return secrets.randbits(62) + 1


def _entry(digest: str, row: _Row) -> Entry:
    return Entry(
        hash=digest,
        size=row.size,
        refs=row.refs,
        pinned=row.pinned,
        state=row.state,
        created=datetime.fromtimestamp(row.created, UTC),
        touched=datetime.fromtimestamp(row.touched, UTC),
    )
