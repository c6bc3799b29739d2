"""``Dedup``: objects stored as a manifest of chunks kept once in a CAS.

    cas = CAS(trove, bucket="cas", index="sqlite:///srv/cas.db")   # blobs go through trove's middleware
    trove.use(Dedup(cas, ContentDefinedChunker()), scope=ForBuckets("backups"))

On write the plaintext is cut into chunks (fixed-size by default), each stored in the CAS, and
the object's stored content becomes a manifest (``manifest.py``); the ``trove-dedup`` metadata
marks it and names the *owner* id under which the object's chunk references are held.  Reads are
transparent, and a range fetches only the chunks it covers.  Deleting or overwriting the object
releases the owner's references in one idempotent step — so two overwrites racing to release
the same old object cannot release it twice, and the old manifest need not be read to do it.

Chunk middleware still applies to the manifest (compress, encrypt); to encrypt the chunks at
rest, give the CAS a ``Trove`` with ``Encrypt`` as its blob store.  The CAS bucket itself is never
deduplicated (its blobs would recurse into the CAS).

A put that fails after the chunks are stored (say, a failed ``if_none_match``) or a process
killed mid-put keeps the owner's references: the content is retained, never lost; releasing
that owner id (it is not visible anywhere else) or rebuilding reference counts reclaims it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import IO, ClassVar

from trove_dist.cas.cas import CAS
from trove_dist.driver.models import ObjectInfo
from trove_dist.driver.reader import ObjectReader
from trove_dist.ids import new_object_id
from trove_dist.middleware.base import ObjectMiddleware
from trove_dist.middleware.context import Direction, Operation
from trove_dist.middleware.dedup.chunking import Chunker, FixedSizeChunker
from trove_dist.middleware.dedup.manifest import HEADER_MAX, CorruptManifest, Manifest, decode, decode_header
from trove_dist.middleware.dedup.reader import ChunkReader

MARKER = "trove-dedup"
VERSION = "1"

StoredOpener = Callable[[], ObjectReader]


class Dedup(ObjectMiddleware):
    name = "dedup"
    direction: ClassVar[Direction] = Direction.READ_WRITE
    tracks_lifecycle: ClassVar[bool] = True

    def __init__(self, cas: CAS, chunker: Chunker | None = None) -> None:
        self.cas = cas
        self.chunker = chunker or FixedSizeChunker()
        self._lock = threading.Lock()
        # prepare_write chooses the owner id (it must be in the metadata before the content
        # streams); wrap_write, called next for the same operation, picks it up.
        self._owners: dict[int, str] = {}

    # ---- write --------------------------------------------------------------------------

    def prepare_write(self, op: Operation, metadata: dict[str, str]) -> None:
        if op.bucket == self.cas.bucket:
            return
        owner = new_object_id()
        metadata[MARKER] = f"{VERSION}:{owner}"
        with self._lock:
            self._owners[id(op)] = owner

    def wrap_write(self, op: Operation, chunks: Iterator[bytes]) -> Iterator[bytes]:
        with self._lock:
            owner = self._owners.pop(id(op), None)
        if owner is None:
            return chunks
        return self._store(owner, chunks)

    def _store(self, owner: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
        digests: list[str] = []
        offsets: list[int] = []
        lengths: list[int] = []
        size = 0
        try:
            for piece in self.chunker.split(chunks):
                stored = self.cas.store(piece, owner=owner)
                digests.append(stored.hash)
                offsets.append(size)
                lengths.append(stored.size)
                size += stored.size
            manifest = Manifest(self.cas.algorithm, owner, size, tuple(digests), tuple(offsets), tuple(lengths))
            yield manifest.encode()
        except BaseException:
            # The object will not be written (the source failed, or the writer gave up on us).
            self.cas.release_owner(owner)
            raise

    # ---- read ---------------------------------------------------------------------------

    def claims(self, info: ObjectInfo) -> bool:
        return _owner(info) is not None

    def logical_size(self, info: ObjectInfo, stored: StoredOpener | None = None) -> int:
        if stored is None:
            raise TypeError(
                "Dedup needs the content pipeline to pass the stored form to logical_size: the size of a "
                "deduplicated object is in its manifest (metadata is fixed before the content is seen)"
            )
        with stored() as reader:
            return decode_header(reader.read(HEADER_MAX)).size

    def open_read(
        self, op: Operation, info: ObjectInfo, stored: ObjectReader, offset: int, length: int | None
    ) -> IO[bytes]:
        with stored:
            manifest = decode(stored.read())
        if manifest.algorithm != self.cas.algorithm:
            raise CorruptManifest(f"{info.bucket}/{info.key} was deduplicated with {manifest.algorithm}")
        count = max(manifest.size - offset, 0) if length is None else min(length, max(manifest.size - offset, 0))
        return ChunkReader(self.cas, manifest, offset, count)  # type: ignore[return-value]

    # ---- lifecycle ----------------------------------------------------------------------

    def released(self, op: Operation, info: ObjectInfo) -> None:
        owner = _owner(info)
        if owner is not None:
            self.cas.release_owner(owner)


def _owner(info: ObjectInfo) -> str | None:
    version, sep, owner = info.metadata.get(MARKER, "").partition(":")
    return owner if sep and version == VERSION and owner else None
