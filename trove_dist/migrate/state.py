"""Where a migration's state lives: its spec, counters, one outcome per object, the planner's
page marks, the batches it cut, and the destination keys to delete.

The store is the same kind as the streams' — Redis when distributed (``redis_state``), memory
otherwise (here) — so progress can be read by any process, and a re-run with the same id finds
what is done.  Every write a task may repeat is idempotent: an outcome is replaced by a
compare-and-set against the one the writer read, and the counters move by the difference
between the two (``counter_deltas``), so a redelivered task never counts an object twice.

A separate *memory* per (source, destination, transforms) pairing remembers, for each key, the
source etag copied and the destination etag it produced: an incremental re-run under any id
skips a key whose two etags are both unchanged, without reading either object.
"""

from __future__ import annotations

import json
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum

from trove_dist.errors import NotFound
from trove_dist.migrate.spec import MigrationSpec


class Status(StrEnum):
    PENDING = "pending"  # planned; a batch or a stream is on it (or, in a dry run, would be)
    COPIED = "copied"
    SKIPPED = "skipped"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        return self is not Status.PENDING


class Phase(StrEnum):
    PLANNING = "planning"
    COPYING = "copying"  # every page planned; copies still running
    COMPLETED = "completed"
    COMPLETED_WITH_FAILURES = "completed_with_failures"
    PLANNED = "planned"  # a dry run's end
    FAILED = "failed"  # the migration itself could not go on (an unreadable source...)

    @property
    def ended(self) -> bool:
        return self not in (Phase.PLANNING, Phase.COPYING)


class Method(StrEnum):
    BATCH = "batch"  # copied with others in one task, through get/put and the middleware
    STREAM = "stream"  # a chunked stream read from the source by ranges
    SERVER_COPY = "server-copy"  # inside the backend, with others in one task


class MigrationNotFound(NotFound):
    def __init__(self, migration_id: str) -> None:
        super().__init__(f"no migration {migration_id} (never started here, or its state expired)")


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Status
    size: int
    source_etag: str
    reason: str = ""
    method: str = ""
    task: str = ""  # the batch id or stream id working on it
    destination_etag: str = ""
    verified: bool = False

    def encode(self) -> str:
        rest = {k: v for k, v in asdict(self).items() if k not in ("status", "size") and v not in ("", False)}
        return f"{self.status.value}\t{self.size}\t{json.dumps(rest, ensure_ascii=False, separators=(',', ':'))}"

    @classmethod
    def decode(cls, text: str) -> Outcome:
        status, size, rest = text.split("\t", 2)
        return cls(Status(status), int(size), **json.loads(rest))


@dataclass(frozen=True, slots=True)
class Counters:
    objects_planned: int = 0
    bytes_planned: int = 0
    objects_copied: int = 0
    bytes_copied: int = 0
    objects_skipped: int = 0
    bytes_skipped: int = 0
    objects_failed: int = 0
    bytes_failed: int = 0
    objects_verified: int = 0
    objects_deleted: int = 0
    bytes_deleted: int = 0

    @property
    def objects_pending(self) -> int:
        return self.objects_planned - self.objects_copied - self.objects_skipped - self.objects_failed

    @property
    def bytes_pending(self) -> int:
        return self.bytes_planned - self.bytes_copied - self.bytes_skipped - self.bytes_failed

    @classmethod
    def from_mapping(cls, values: Mapping[str, int]) -> Counters:
        names = {f.name for f in fields(cls)}
        return cls(**{k: int(v) for k, v in values.items() if k in names})


def counter_deltas(old: Outcome | None, new: Outcome) -> dict[str, int]:
    """How the counters move when an object's outcome goes from ``old`` to ``new``."""
    deltas: Counter[str] = Counter()
    if old is None:
        deltas["objects_planned"] += 1
    deltas["bytes_planned"] += new.size - (old.size if old is not None else 0)
    if old is not None and old.status.final:
        deltas[f"objects_{old.status.value}"] -= 1
        deltas[f"bytes_{old.status.value}"] -= old.size
    if new.status.final:
        deltas[f"objects_{new.status.value}"] += 1
        deltas[f"bytes_{new.status.value}"] += new.size
    deltas["objects_verified"] += int(new.verified) - int(old.verified if old is not None else False)
    return {name: value for name, value in deltas.items() if value}


@dataclass(frozen=True, slots=True)
class PageMark:
    """Where planner page ``n`` starts: the source listing's cursor, and the last relative key
    of the page before (destination keys up to it were joined by that page)."""

    cursor: str | None
    after: str | None

    def encode(self) -> str:
        return json.dumps([self.cursor, self.after], ensure_ascii=False)

    @classmethod
    def decode(cls, text: str) -> PageMark:
        cursor, after = json.loads(text)
        return cls(cursor, after)


@dataclass(frozen=True, slots=True)
class BatchItem:
    key: str  # relative to the roots
    size: int
    etag: str
    method: str

    @staticmethod
    def encode_all(items: Iterable[BatchItem]) -> str:
        return json.dumps([[i.key, i.size, i.etag, i.method] for i in items], ensure_ascii=False)

    @classmethod
    def decode_all(cls, text: str) -> list[BatchItem]:
        return [cls(*row) for row in json.loads(text)]


@dataclass(frozen=True, slots=True)
class StreamProgress:
    """A running stream: plaintext bytes transformed so far, and how many of its chunks have
    been handed to the pipeline (the chunks after them wait for room in its window)."""

    moved: int = 0
    sent: int = 0

    def encode(self) -> str:
        return f"{self.moved},{self.sent}"

    @classmethod
    def decode(cls, text: str) -> StreamProgress:
        moved, sent = text.split(",")
        return cls(int(moved), int(sent))


@dataclass(frozen=True, slots=True)
class Meta:
    phase: Phase
    started_at: float
    updated_at: float
    finished_at: float | None = None
    error: str | None = None
    runs: int = 1  # 1, then one more each time the migration is resumed


Change = tuple[str, Outcome | None, Outcome]  # key, the outcome read, the one to write


class MigrationStore(ABC):
    """Atomic operations on one migration's state (and the pairing memories)."""

    # ---- lifecycle ----------------------------------------------------------------------

    @abstractmethod
    def create(self, spec: MigrationSpec) -> None:
        """Record a new migration; ``ValueError`` if the id is taken."""

    @abstractmethod
    def reopen(self, spec: MigrationSpec) -> None:
        """Start planning ``spec`` (an existing migration's, see ``same_work``) again from the
        first page — a resume: page marks, claims, extraneous keys, running streams' progress
        and the end are cleared; outcomes and counters stay."""

    @abstractmethod
    def spec(self, migration_id: str) -> MigrationSpec: ...

    @abstractmethod
    def meta(self, migration_id: str) -> Meta: ...

    @abstractmethod
    def set_phase(self, migration_id: str, phase: Phase, error: str | None = None) -> None: ...

    @abstractmethod
    def claim(self, migration_id: str, name: str) -> bool:
        """``True`` for exactly one caller per name (until ``reopen``)."""

    @abstractmethod
    def claimed(self, migration_id: str, name: str) -> bool: ...

    @abstractmethod
    def expire(self, migration_id: str, seconds: float) -> None: ...

    # ---- outcomes -----------------------------------------------------------------------

    @abstractmethod
    def outcomes(self, migration_id: str, keys: list[str]) -> dict[str, Outcome | None]: ...

    @abstractmethod
    def apply(self, migration_id: str, changes: list[Change]) -> list[bool]:
        """Write each new outcome if the stored one is still the one read (compare-and-set),
        moving the counters; returns which writes happened."""

    @abstractmethod
    def counters(self, migration_id: str) -> Counters: ...

    @abstractmethod
    def iter_outcomes(self, migration_id: str) -> Iterator[tuple[str, Outcome]]:
        """Every object's outcome, in no particular order, fetched a slice at a time."""

    def record(self, migration_id: str, key: str, update: Callable[[Outcome | None], Outcome | None]) -> Outcome | None:
        """Apply ``update`` to the key's current outcome until the compare-and-set holds;
        ``update`` returns ``None`` to leave it as it is.  Returns what is stored after."""
        while True:
            current = self.outcomes(migration_id, [key])[key]
            new = update(current)
            if new is None or new == current:
                return current
            if self.apply(migration_id, [(key, current, new)])[0]:
                return new

    # ---- planning -----------------------------------------------------------------------

    @abstractmethod
    def set_page(self, migration_id: str, page: int, mark: PageMark) -> None:
        """Record where page ``page`` starts, once (a repeated planner task sets the same)."""

    @abstractmethod
    def page(self, migration_id: str, page: int) -> PageMark | None: ...

    @abstractmethod
    def put_batch(self, migration_id: str, batch_id: str, items: list[BatchItem]) -> None: ...

    @abstractmethod
    def batch(self, migration_id: str, batch_id: str) -> list[BatchItem]: ...

    @abstractmethod
    def add_extraneous(self, migration_id: str, keys: Mapping[str, int]) -> None:
        """Destination keys (relative, with their sizes) that the source does not have."""

    @abstractmethod
    def iter_extraneous(self, migration_id: str) -> Iterator[tuple[str, int]]: ...

    @abstractmethod
    def mark_deleted(self, migration_id: str, key: str, size: int) -> bool:
        """Count an extraneous key as deleted, once."""

    @abstractmethod
    def deleted(self, migration_id: str) -> Iterator[str]: ...

    # ---- streams in flight ----------------------------------------------------------------

    @abstractmethod
    def set_stream(self, migration_id: str, stream_id: str, progress: StreamProgress | None) -> None:
        """Record a running stream's progress (``None``: it ended)."""

    @abstractmethod
    def streams(self, migration_id: str) -> dict[str, StreamProgress]:
        """The migration's running streams (a resume starts with none known)."""

    # ---- what past migrations of a pairing copied ----------------------------------------

    @abstractmethod
    def remembered(self, pair: str, keys: list[str]) -> dict[str, tuple[str, str]]:
        """``key -> (source etag, destination etag)`` of earlier copies, for the keys known."""

    @abstractmethod
    def remember(self, pair: str, copies: Mapping[str, tuple[str, str]]) -> None:
        """Record ``key -> (source etag, destination etag)`` of copies just made."""

    @abstractmethod
    def forget(self, pair: str, keys: list[str]) -> None: ...


@dataclass
class _Row:
    spec: MigrationSpec
    meta: Meta
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    counters: Counter[str] = field(default_factory=Counter)
    pages: dict[int, PageMark] = field(default_factory=dict)
    batches: dict[str, list[BatchItem]] = field(default_factory=dict)
    extraneous: dict[str, int] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    claims: set[str] = field(default_factory=set)
    streams: dict[str, StreamProgress] = field(default_factory=dict)
    expires_at: float | None = None


class MemoryMigrationStore(MigrationStore):
    """The embedded default: one process, a lock around every operation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, _Row] = {}
        self._memories: dict[str, dict[str, tuple[str, str]]] = {}

    def _row(self, migration_id: str) -> _Row:
        row = self._rows.get(migration_id)
        if row is None or (row.expires_at is not None and row.expires_at <= time.time()):
            raise MigrationNotFound(migration_id)
        return row

    def create(self, spec: MigrationSpec) -> None:
        with self._lock:
            if spec.migration_id in self._rows:
                raise ValueError(f"migration {spec.migration_id} already exists")
            now = time.time()
            self._rows[spec.migration_id] = _Row(spec, Meta(Phase.PLANNING, now, now))

    def reopen(self, spec: MigrationSpec) -> None:
        with self._lock:
            row = self._row(spec.migration_id)
            row.spec = spec
            row.pages.clear()
            row.claims.clear()
            row.extraneous.clear()
            row.streams.clear()
            row.expires_at = None
            row.meta = Meta(Phase.PLANNING, time.time(), time.time(), runs=row.meta.runs + 1)

    def spec(self, migration_id: str) -> MigrationSpec:
        with self._lock:
            return self._row(migration_id).spec

    def meta(self, migration_id: str) -> Meta:
        with self._lock:
            return self._row(migration_id).meta

    def set_phase(self, migration_id: str, phase: Phase, error: str | None = None) -> None:
        with self._lock:
            row = self._row(migration_id)
            row.meta = with_phase(row.meta, phase, error)

    def claim(self, migration_id: str, name: str) -> bool:
        with self._lock:
            row = self._row(migration_id)
            if name in row.claims:
                return False
            row.claims.add(name)
            return True

    def claimed(self, migration_id: str, name: str) -> bool:
        with self._lock:
            return name in self._row(migration_id).claims

    def expire(self, migration_id: str, seconds: float) -> None:
        with self._lock:
            self._row(migration_id).expires_at = time.time() + seconds

    def outcomes(self, migration_id: str, keys: list[str]) -> dict[str, Outcome | None]:
        with self._lock:
            stored = self._row(migration_id).outcomes
            return {key: stored.get(key) for key in keys}

    def apply(self, migration_id: str, changes: list[Change]) -> list[bool]:
        with self._lock:
            row = self._row(migration_id)
            done = []
            for key, old, new in changes:
                if row.outcomes.get(key) != old:
                    done.append(False)
                    continue
                row.outcomes[key] = new
                row.counters.update(counter_deltas(old, new))
                done.append(True)
            return done

    def counters(self, migration_id: str) -> Counters:
        with self._lock:
            return Counters.from_mapping(self._row(migration_id).counters)

    def iter_outcomes(self, migration_id: str) -> Iterator[tuple[str, Outcome]]:
        with self._lock:
            items = list(self._row(migration_id).outcomes.items())
        yield from items

    def set_page(self, migration_id: str, page: int, mark: PageMark) -> None:
        with self._lock:
            self._row(migration_id).pages.setdefault(page, mark)

    def page(self, migration_id: str, page: int) -> PageMark | None:
        with self._lock:
            return self._row(migration_id).pages.get(page)

    def put_batch(self, migration_id: str, batch_id: str, items: list[BatchItem]) -> None:
        with self._lock:
            self._row(migration_id).batches[batch_id] = list(items)

    def batch(self, migration_id: str, batch_id: str) -> list[BatchItem]:
        with self._lock:
            return list(self._row(migration_id).batches.get(batch_id, []))

    def add_extraneous(self, migration_id: str, keys: Mapping[str, int]) -> None:
        with self._lock:
            self._row(migration_id).extraneous.update(keys)

    def iter_extraneous(self, migration_id: str) -> Iterator[tuple[str, int]]:
        with self._lock:
            items = sorted(self._row(migration_id).extraneous.items())
        yield from items

    def mark_deleted(self, migration_id: str, key: str, size: int) -> bool:
        with self._lock:
            row = self._row(migration_id)
            if key in row.deleted:
                return False
            row.deleted.add(key)
            row.counters.update({"objects_deleted": 1, "bytes_deleted": size})
            return True

    def deleted(self, migration_id: str) -> Iterator[str]:
        with self._lock:
            keys = sorted(self._row(migration_id).deleted)
        yield from keys

    def set_stream(self, migration_id: str, stream_id: str, progress: StreamProgress | None) -> None:
        with self._lock:
            streams = self._row(migration_id).streams
            if progress is None:
                streams.pop(stream_id, None)
            else:
                streams[stream_id] = progress

    def streams(self, migration_id: str) -> dict[str, StreamProgress]:
        with self._lock:
            return dict(self._row(migration_id).streams)

    def remembered(self, pair: str, keys: list[str]) -> dict[str, tuple[str, str]]:
        with self._lock:
            memory = self._memories.get(pair, {})
            return {key: memory[key] for key in keys if key in memory}

    def remember(self, pair: str, copies: Mapping[str, tuple[str, str]]) -> None:
        with self._lock:
            self._memories.setdefault(pair, {}).update(copies)

    def forget(self, pair: str, keys: list[str]) -> None:
        with self._lock:
            memory = self._memories.get(pair, {})
            for key in keys:
                memory.pop(key, None)


def with_phase(meta: Meta, phase: Phase, error: str | None) -> Meta:
    """``meta`` moved to ``phase`` now (with its end time, if the phase is an end)."""
    now = time.time()
    return replace(
        meta,
        phase=phase,
        updated_at=now,
        finished_at=now if phase.ended else None,
        error=error if error is not None else meta.error,
    )
