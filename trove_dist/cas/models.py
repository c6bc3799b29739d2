"""Plain data a CAS and its index exchange — no I/O here."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class State(StrEnum):
    """The life of an index entry (the GC argument in ``gc.py`` is written in these terms).

    ``PENDING``: a store claimed the hash and is writing the blob; ``LIVE``: the blob is known to
    be complete; ``DELETING``: condemned by a collector, the blob may be gone at any moment.
    """

    PENDING = "pending"
    LIVE = "live"
    DELETING = "deleting"


@dataclass(frozen=True, slots=True)
class Entry:
    hash: str
    size: int
    refs: int
    pinned: bool
    state: State
    created: datetime
    touched: datetime  # the last reference change: GC waits a grace period after it

    @property
    def collectable(self) -> bool:
        return self.state is State.LIVE and self.refs == 0 and not self.pinned


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer to ``begin_store``: either the content was live and a reference was added (no
    write needed), or the caller holds ``generation`` of a pending entry and must write the blob."""

    referenced: bool
    generation: int


@dataclass(frozen=True, slots=True)
class Doomed:
    """An entry a collector condemned: its blob may be deleted under ``generation``."""

    hash: str
    size: int
    generation: int


@dataclass(frozen=True, slots=True)
class StoreResult:
    hash: str
    size: int
    #: False when the content was already stored (a reference was added, nothing was written).
    written: bool


@dataclass(slots=True)
class GCResult:
    #: Entries the collector examined (condemned this run, or left condemned by an earlier one).
    scanned: int = 0
    #: Blobs deleted together with their entries.
    deleted: int = 0
    freed_bytes: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for a task result (Flower shows it) and logs."""
        return asdict(self)


@dataclass(slots=True)
class SweepResult:
    #: Keys listed in the bucket.
    scanned: int = 0
    #: Blobs with no index entry, deleted.
    orphans: int = 0
    #: Abandoned temporary uploads, deleted.
    temporaries: int = 0
    freed_bytes: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class RebuildResult:
    scanned: int = 0
    #: Blobs that had no entry and now have one.
    added: int = 0
    #: Blobs whose content does not match their name (only with ``verify=True``); left unindexed,
    #: so the orphan sweep removes them.
    corrupt: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class IndexStats:
    entries: int
    live: int
    pending: int
    deleting: int
    referenced: int
    pinned: int
    bytes: int
