"""What a CAS index must do, atomically, for the GC argument in ``trove_dist.cas.gc`` to hold.

Every method is one atomic step against the index's own storage (one transaction, or one hold
of a lock).  ``collect`` is the only method that does I/O on blobs, and it does so *inside* its
atomic step: that is what lets a store waiting on the same entry know that no blob delete is in
flight.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from trove_dist.cas.models import Claim, Doomed, Entry, IndexStats

#: Called by ``collect`` for each doomed blob while the entry is locked; raises to keep the entry.
DeleteBlob = Callable[[Doomed], None]


@dataclass(slots=True)
class Collected:
    deleted: list[Doomed] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Index(Protocol):
    def bind(self, bucket: str, algorithm: str) -> None:
        """Record which bucket and hash this index serves; refuse (``IndexMismatch``) an index
        made for others — the same digest means different content under another algorithm."""

    def begin_store(self, digest: str, size: int, owner: str | None) -> Claim:
        """Live: add a reference (for ``owner`` if given) and answer ``referenced``.  Absent:
        insert a pending entry.  Pending: join it.  Deleting: take it over as a new pending
        generation — waiting while a collector holds it."""

    def finish_store(self, digest: str, generation: int, size: int, owner: str | None, refs: int = 1) -> bool:
        """Make ``generation`` live and add ``refs`` references; False if that generation was
        condemned or replaced meanwhile (the caller must start again)."""

    def abandon(self, digest: str, generation: int) -> None:
        """Drop a pending entry of ``generation`` that holds no reference (a failed write)."""

    def release(self, digest: str) -> int:
        """Drop one reference; the references left.  ``HashNotFound`` / ``NoReferences``."""

    def release_owner(self, owner: str) -> int:
        """Drop every reference ``owner`` holds; how many.  Idempotent: a second call drops none."""

    def set_pinned(self, digest: str, pinned: bool) -> None:
        """``HashNotFound`` unless the entry is live."""

    def get(self, digest: str) -> Entry | None: ...

    def entries(self, after: str = "", limit: int = 1000) -> list[Entry]:
        """Entries with a hash greater than ``after``, in hash order."""

    def stats(self) -> IndexStats: ...

    def condemn(self, grace: float, limit: int) -> int:
        """Phase 1: mark at most ``limit`` entries deleting — live ones with no reference and no
        pin, and pending ones (abandoned stores) — untouched for ``grace`` seconds."""

    def doomed(self, after: str, limit: int) -> list[Doomed]:
        """Deleting entries with a hash greater than ``after``, in hash order."""

    def collect(self, doomed: Sequence[Doomed], delete_blob: DeleteBlob) -> Collected:
        """Phase 2: lock those entries still deleting under the same generation (skip ones a
        store is taking over), delete each blob, then the entries, in one atomic step."""

    def adopt_orphan(self, digest: str) -> Doomed | None:
        """Insert a deleting entry for a blob nobody indexed, so that its deletion follows the
        same protocol as any other; None when an entry exists."""

    def adopt_blob(self, digest: str, size: int) -> int | None:
        """Insert a pending entry for a stored blob found with no entry (index rebuild); its
        generation, or None when an entry exists."""

    def close(self) -> None: ...
