"""End-to-end verification: the source's bytes against the destination's, read back through
the destination's read middleware (so a compressed, encrypted copy is decoded first), each side
hashed as it streams.  Nothing is trusted from metadata: both sides are read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from trove_dist.checksum import Hasher, new_hasher
from trove_dist.migrate.spec import MigrationSpec
from trove_dist.trove import Trove

ALGORITHM = "blake3"
READ_SIZE = 1024 * 1024


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Digest:
    size: int
    value: str


class HashingChunks:
    """The chunks of a reader, hashed as they pass (the source side of a copy that verifies)."""

    def __init__(self, reader: Readable) -> None:
        self._reader = reader
        self._hasher: Hasher = new_hasher(ALGORITHM)
        self._size = 0

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self._reader.read(READ_SIZE):
            self._hasher.update(chunk)
            self._size += len(chunk)
            yield chunk

    @property
    def digest(self) -> Digest:
        return Digest(self._size, self._hasher.hexdigest())


def digest(reader: Readable) -> Digest:
    chunks = HashingChunks(reader)
    for _ in chunks:
        pass
    return chunks.digest


def source_digest(source: Trove, spec: MigrationSpec, relative: str) -> Digest:
    with source.get(spec.source.bucket, spec.source.key(relative)) as reader:
        return digest(reader)


def mismatch(destination: Trove, spec: MigrationSpec, relative: str, expected: Digest) -> str | None:
    """Why the destination's content is not ``expected`` — or ``None`` when it is."""
    with destination.get(spec.destination.bucket, spec.destination.key(relative)) as reader:
        actual = digest(reader)
    if actual.size != expected.size:
        return f"verification failed: the destination reads back {actual.size} bytes, the source has {expected.size}"
    if actual.value != expected.value:
        return f"verification failed: the destination's {ALGORITHM} differs from the source's"
    return None
