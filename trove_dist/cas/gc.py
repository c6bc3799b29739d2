"""Garbage collection that is safe against concurrent stores and against crashes.

What others do, and what we take from each
-------------------------------------------
* git prunes only unreachable objects older than a grace period (two weeks): a writer that is
  still linking a fresh object in is protected by its age alone.  Simple, but it is a timing
  assumption; a writer slower than the grace period races the pruner.
* kopia deletes in two phases: contents are first marked deleted (a soft delete that writers can
  undo by rewriting), and only later, after a safety margin, are blobs removed.
* Pulp keeps orphans for a "protection time" and takes row locks, so a task re-using content
  and the orphan cleanup serialise in the database.

We use all three ideas, but make correctness rest on the database alone (time only decides
*when* something is worth collecting, never whether it is safe):

The protocol
------------
Each index entry is ``pending`` (a store claimed the hash and is writing), ``live`` (the blob is
complete), or ``deleting`` (condemned).  Each incarnation of an entry has a random
``generation``.  Every step below is atomic in the index (see ``index/base.py``).

Store(h)   1. ``begin_store``: live → add a reference and stop (nothing is written);
              absent → insert pending; pending → join it; deleting → take it over as a new
              pending generation.  A deleting entry is locked while a collector deletes its blob,
              so the takeover waits for that delete to finish (PostgreSQL: the upsert blocks on
              the row lock; SQLite: on the write lock; memory: on the index lock).
           2. Write the blob (always: a pending entry promises nothing about the blob).
           3. ``finish_store``: make *our* generation live and add the reference — only if the
              entry is still that generation and not deleting; otherwise go back to 1.
GC         1. ``condemn``: live entries with no reference and no pin, and pending entries
              (abandoned stores), untouched for the grace period → deleting.  Committed.
           2. ``collect``: lock each deleting entry still of the condemned generation (skipping
              ones a store holds), delete the blob, delete the entry, commit.
Sweep      An unindexed blob is first *adopted* as a deleting entry, then collected the same
           way; rebuild adopts an unindexed blob as pending, checks it is there, makes it live.

Why no entry can outlive its blob
---------------------------------
Invariant: a live entry's blob exists.  A blob is deleted only inside ``collect`` while its entry
is locked in state deleting; a store writes a blob only after committing a non-deleting
generation (step 1), and publishes it only if that generation was never condemned (step 3).
So for a store S and a deletion D of the same hash: if D's lock is taken after S's step 1
committed, D finds the entry pending/live (or of another generation) and deletes nothing; if D
began first, S's step 1 waits until D has committed — the delete is already done when S writes.
And a live entry can only be condemned when it has no reference, in one atomic step that a
concurrent ``begin_store`` either precedes (then the reference blocks the condemnation) or
follows (then it sees deleting and rewrites the blob under a new generation).  Hence a store of
content that GC is deleting at that moment ends with the blob written again, never with an
entry whose blob is gone, and every hash that holds a reference can be retrieved.

Crashes
-------
The index commits each step; a crash loses only the step in progress.  Killed in store after
step 1 or 2: the pending entry (and the blob, if written) is condemned by the next GC once it
is older than the grace period.  Killed during a streamed upload: the temporary key is deleted
by the orphan sweep after the grace period (as are a local driver's invisible temporary files of
a write killed midway).  Killed in GC after phase 1: entries stay deleting;
the next GC collects them, and a store takes them over meanwhile.  Killed in phase 2: the
transaction (and its lock) dies with the process and rolls back, leaving the entry deleting —
whether or not the blob was already deleted, nothing live points at it.  A blob written with no
entry (an index restored from a backup) is an orphan: the sweep deletes it after the grace period.

The grace period therefore only bounds how long a slow store may take before it has to start
over, and how long garbage lingers.  One assumption remains outside the database: a blob
delete that has returned (or raised) has no later effect — true of the local and memory
drivers; on a network store it holds once the request has completed or timed out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from typing import Protocol, runtime_checkable

from trove_dist.cas import checkpoints
from trove_dist.cas.blobstore import BlobStore
from trove_dist.cas.hashing import VerifiedReader, blob_key, digest_of_key
from trove_dist.cas.index.base import Index
from trove_dist.cas.models import Doomed, GCResult, RebuildResult, SweepResult
from trove_dist.checksum import Algorithm
from trove_dist.driver.models import ObjectInfo
from trove_dist.errors import ChecksumMismatch, ObjectNotFound

logger = logging.getLogger("trove_dist.cas.gc")

#: Keys of streamed bodies being hashed; never a blob key (those have three components).
TEMP_PREFIX = "tmp/"
#: Entries condemned, then collected, per index transaction.
BATCH = 256


@runtime_checkable
class SweepsTemporaries(Protocol):
    """A store that can remove the invisible temporary files of writes killed midway (the local
    driver): a crash inside a blob write then leaves nothing behind either."""

    def remove_stale_temporaries(self, bucket: str, older_than: float = ...) -> int: ...


class Collector:
    """GC, orphan sweep and index rebuild for one CAS bucket."""

    def __init__(self, store: BlobStore, bucket: str, index: Index, algorithm: Algorithm, grace: float) -> None:
        self.store = store
        self.bucket = bucket
        self.index = index
        self.algorithm = algorithm
        self.grace = grace

    def _delete_blob(self, item: Doomed) -> None:
        checkpoints.reached("gc.locked")
        self.store.delete(self.bucket, blob_key(item.hash))  # absent is not an error
        checkpoints.reached("gc.blob_deleted")

    def gc(self) -> GCResult:
        result = GCResult()
        while self.index.condemn(self.grace, BATCH) == BATCH:
            pass
        checkpoints.reached("gc.condemned")
        after = ""
        while doomed := self.index.doomed(after, BATCH):
            after = doomed[-1].hash
            result.scanned += len(doomed)
            collected = self.index.collect(doomed, self._delete_blob)
            checkpoints.reached("gc.collected")
            result.deleted += len(collected.deleted)
            result.freed_bytes += sum(item.size for item in collected.deleted)
            result.errors += collected.errors
        return result

    def sweep_orphans(self) -> SweepResult:
        result = SweepResult()
        cutoff = time.time() - self.grace
        if isinstance(self.store, SweepsTemporaries):
            result.temporaries += self.store.remove_stale_temporaries(self.bucket, older_than=self.grace)
        for info in self._objects():
            result.scanned += 1
            if info.last_modified.timestamp() >= cutoff:
                continue
            if info.key.startswith(TEMP_PREFIX):
                # A temporary key is private to the store that made it; one older than the grace
                # period belongs to a store that died (or lost its claim and starts over).
                self._delete(info, result)
                result.temporaries += 1
                continue
            digest = digest_of_key(self.algorithm, info.key)
            if digest is None:
                continue  # not ours: leave whatever else shares the bucket alone
            adopted = self.index.adopt_orphan(digest)
            if adopted is None:
                continue
            collected = self.index.collect([adopted], self._delete_blob)
            result.errors += collected.errors
            if collected.deleted:
                result.orphans += 1
                result.freed_bytes += info.size
        return result

    def _delete(self, info: ObjectInfo, result: SweepResult) -> None:
        try:
            self.store.delete(self.bucket, info.key)
        except Exception as exc:  # noqa: BLE001 - reported; the next sweep retries
            result.errors.append(f"{info.key}: {exc}")
            return
        result.freed_bytes += info.size

    def rebuild(self, references: Mapping[str, int], verify: bool) -> RebuildResult:
        result = RebuildResult()
        for info in self._objects():
            digest = digest_of_key(self.algorithm, info.key)
            if digest is None:
                continue
            result.scanned += 1
            generation = self.index.adopt_blob(digest, info.size)
            if generation is None:
                continue  # indexed already (by a store, or an earlier rebuild)
            # The blob must be checked *after* the pending entry exists: from then on no
            # collector can delete it, so what we see is what the live entry will promise.
            if not self._present(digest, verify, result):
                self.index.abandon(digest, generation)
                continue
            if self.index.finish_store(digest, generation, info.size, None, references.get(digest, 0)):
                result.added += 1
        return result

    def _present(self, digest: str, verify: bool, result: RebuildResult) -> bool:
        key = blob_key(digest)
        try:
            if not verify:
                self.store.head(self.bucket, key)
                return True
            with VerifiedReader(self.store.get(self.bucket, key), self.algorithm, digest, key) as reader:
                while reader.read(1024 * 1024):
                    pass
        except ObjectNotFound:
            return False
        except ChecksumMismatch:
            logger.warning("blob %s/%s does not match its hash; left unindexed", self.bucket, key)
            result.corrupt.append(digest)
            return False
        return True

    def _objects(self) -> Iterator[ObjectInfo]:
        for item in self.store.iter_list(self.bucket):
            if isinstance(item, ObjectInfo):
                yield item
