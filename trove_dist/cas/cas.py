"""``CAS``: content stored once under its hash, shared by reference count, collected safely.

    cas = CAS(LocalDriver("/srv/blobs"), bucket="cas", index="sqlite:///srv/cas.db")
    result = cas.store(open("video.mp4", "rb"))      # streams; hashes as it goes
    with cas.retrieve(result.hash) as reader:       # verifies the hash as it reads
        data = reader.read()
    cas.release(result.hash)                        # drop the reference store() added
    cas.gc()                                        # after the grace period, the blob goes

Blobs live at ``ab/cd/<hash>`` in the bucket of any ``BlobStore`` — a driver, or a ``Trove`` whose
middleware encrypts them at rest.  The index (memory, SQLite, PostgreSQL) holds reference counts
and pins; ``gc.py`` explains why a concurrent store and collection cannot lose data.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta

from trove_dist.cas import checkpoints
from trove_dist.cas.blobstore import BlobStore
from trove_dist.cas.errors import HashNotFound, StoreContention
from trove_dist.cas.gc import TEMP_PREFIX, Collector
from trove_dist.cas.hashing import (
    HashingChunks,
    VerifiedReader,
    blob_key,
    content_algorithm,
    hash_bytes,
    validate_hash,
)
from trove_dist.cas.index import Index, open_index
from trove_dist.cas.models import Entry, GCResult, RebuildResult, State, StoreResult, SweepResult
from trove_dist.driver.body import DEFAULT_CHUNK_SIZE, PutBody, iter_chunks
from trove_dist.errors import ObjectNotFound

#: How many times a store starts over after losing its claim to a collector (each loss means
#: it ran longer than the grace period).
STORE_ATTEMPTS = 5


class CAS:
    def __init__(
        self,
        store: BlobStore,
        *,
        index: Index | str,
        bucket: str = "cas",
        algorithm: str = "blake3",
        allow_non_cryptographic: bool = False,
        grace_period: float | timedelta = 3600.0,
        spool_limit: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        """``index``: an ``Index`` or where to open one (``memory:``, ``sqlite:///path``, a
        PostgreSQL URL; an index opened here is closed by ``close``).  ``grace_period``: how
        long unreferenced content (and an unfinished store) is kept before GC may take it.
        ``spool_limit``: bodies up to this size are hashed in memory before anything is written,
        so storing known content writes nothing at all; longer streams are hashed while they
        are written to a temporary key."""
        self.algorithm = content_algorithm(algorithm, allow_non_cryptographic=allow_non_cryptographic)
        grace = grace_period.total_seconds() if isinstance(grace_period, timedelta) else float(grace_period)
        if grace < 0:
            raise ValueError("grace_period must not be negative")
        if spool_limit <= 0:
            raise ValueError("spool_limit must be positive")
        self.blobs = store
        self.bucket = bucket
        self.grace_period = grace
        self.spool_limit = spool_limit
        self._owns_index = isinstance(index, str)
        self.index = open_index(index) if isinstance(index, str) else index
        try:
            self.index.bind(bucket, self.algorithm)
            store.create_bucket(bucket, exist_ok=True)
        except BaseException:
            self.close()
            raise
        self._collector = Collector(store, bucket, self.index, self.algorithm, grace)

    # ---- content ------------------------------------------------------------------------

    def store(self, data: PutBody, *, owner: str | None = None) -> StoreResult:
        """Store ``data`` (bytes, a binary file or an iterable of bytes) and add one reference
        to it — held by ``owner`` when given, so that ``release_owner`` can drop it later."""
        if isinstance(data, (bytes, bytearray, memoryview)):
            return self._store_buffer(_flat(data), owner)
        chunks = iter_chunks(data, min(self.spool_limit, DEFAULT_CHUNK_SIZE))
        head: list[bytes | memoryview] = []
        spooled = 0
        for chunk in chunks:
            head.append(bytes(chunk))  # the source may reuse its buffer
            spooled += len(head[-1])
            if spooled > self.spool_limit:
                return self._store_stream(itertools.chain(head, chunks), owner)
        return self._store_buffer(memoryview(b"".join(head)), owner)

    def _store_buffer(self, view: memoryview, owner: str | None) -> StoreResult:
        digest = hash_bytes(self.algorithm, view)
        key = blob_key(digest)
        return self._commit(digest, view.nbytes, lambda: self.blobs.put(self.bucket, key, view), owner)

    def _store_stream(self, chunks: Iterator[bytes | memoryview], owner: str | None) -> StoreResult:
        temp = f"{TEMP_PREFIX}{secrets.token_hex(16)}"
        body = HashingChunks(self.algorithm, chunks)
        try:
            self.blobs.put(self.bucket, temp, body)
            checkpoints.reached("store.temp_written")
            digest = body.hexdigest()
            key = blob_key(digest)
            return self._commit(digest, body.size, lambda: self.blobs.copy(self.bucket, temp, self.bucket, key), owner)
        finally:
            self.blobs.delete(self.bucket, temp)

    def _commit(self, digest: str, size: int, write: Callable[[], object], owner: str | None) -> StoreResult:
        for _ in range(STORE_ATTEMPTS):
            claim = self.index.begin_store(digest, size, owner)
            if claim.referenced:
                return StoreResult(digest, size, written=False)
            checkpoints.reached("store.claimed")
            try:
                write()
            except BaseException:
                self.index.abandon(digest, claim.generation)
                raise
            checkpoints.reached("store.written")
            if self.index.finish_store(digest, claim.generation, size, owner):
                checkpoints.reached("store.finished")
                return StoreResult(digest, size, written=True)
        raise StoreContention(f"storing {digest} lost its claim to GC {STORE_ATTEMPTS} times")

    def retrieve(self, digest: str) -> VerifiedReader:
        """A reader of the content; the read that reaches its end raises ``ChecksumMismatch``
        if the stored bytes no longer hash to ``digest``."""
        digest = validate_hash(self.algorithm, digest)
        key = blob_key(digest)
        try:
            source = self.blobs.get(self.bucket, key)
        except ObjectNotFound:
            raise HashNotFound(digest) from None
        return VerifiedReader(source, self.algorithm, digest, f"{self.bucket}/{key}")

    def read(self, digest: str) -> bytes:
        """The whole content, verified."""
        with self.retrieve(digest) as reader:
            return reader.readall()

    # ---- references -----------------------------------------------------------------------

    def exists(self, digest: str) -> bool:
        entry = self.index.get(validate_hash(self.algorithm, digest))
        return entry is not None and entry.state is State.LIVE

    def stat(self, digest: str) -> Entry:
        entry = self.index.get(validate_hash(self.algorithm, digest))
        if entry is None or entry.state is not State.LIVE:
            raise HashNotFound(digest)
        return entry

    def pin(self, digest: str) -> None:
        """Keep the content whatever its references (GC skips pinned entries)."""
        self.index.set_pinned(validate_hash(self.algorithm, digest), True)

    def unpin(self, digest: str) -> None:
        self.index.set_pinned(validate_hash(self.algorithm, digest), False)

    def release(self, digest: str) -> int:
        """Drop one reference that ``store`` added; returns the references left.  Content with
        none left is collected by GC after the grace period."""
        return self.index.release(validate_hash(self.algorithm, digest))

    def release_owner(self, owner: str) -> int:
        """Drop every reference stored under ``owner``; idempotent (a repeated call drops none)."""
        return self.index.release_owner(owner)

    # ---- maintenance ------------------------------------------------------------------------

    def gc(self) -> GCResult:
        """Delete content with no reference and no pin, untouched for the grace period (and
        stores abandoned that long ago)."""
        return self._collector.gc()

    def sweep_orphans(self) -> SweepResult:
        """Delete blobs that have no index entry and temporary uploads, older than the grace period."""
        return self._collector.sweep_orphans()

    def rebuild_index(self, references: Mapping[str, int] | None = None, *, verify: bool = False) -> RebuildResult:
        """Index every blob in the bucket that has no entry (after losing the index, or moving
        the blobs).  ``references`` gives the reference counts to restore (hash → count; the
        rest start at zero and are collectable); ``verify`` reads each blob and leaves out any
        whose content does not match its name."""
        return self._collector.rebuild(references or {}, verify)

    def close(self) -> None:
        if self._owns_index:
            self.index.close()

    def __enter__(self) -> CAS:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<CAS {self.algorithm} bucket={self.bucket!r} index={self.index!r}>"


def _flat(data: bytes | bytearray | memoryview) -> memoryview:
    view = memoryview(data)
    if view.c_contiguous:
        return view.cast("B") if view.format != "B" or view.ndim != 1 else view
    return memoryview(view.tobytes())
