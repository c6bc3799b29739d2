"""Content addresses: which hash functions may name content, how a hash becomes a key, and a
reader that proves on the way out that the bytes still have the name they were stored under.

A content address is only as good as the hash's collision resistance: with a non-cryptographic
hash (xxh3) anyone who can choose content can make two objects share an address and have one
served in place of the other.  So xxh3 is refused unless the caller says, explicitly, that the
data is not adversarial.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator

from trove_dist.cas.blobstore import BlobReader
from trove_dist.checksum import HEX_DIGEST_LENGTHS, Algorithm, Hasher, new_hasher, validate_algorithm
from trove_dist.errors import ChecksumMismatch

CRYPTOGRAPHIC: frozenset[Algorithm] = frozenset({"blake3", "sha256"})
_HEX = re.compile(r"[0-9a-f]+")


def content_algorithm(algorithm: str, *, allow_non_cryptographic: bool = False) -> Algorithm:
    """Validate the hash a CAS names content with."""
    known = validate_algorithm(algorithm)
    if known not in CRYPTOGRAPHIC and not allow_non_cryptographic:
        raise ValueError(
            f"{known} is not collision-resistant: content-addressing with it lets crafted content "
            "replace other content; pass allow_non_cryptographic=True only for trusted data"
        )
    return known


def validate_hash(algorithm: Algorithm, value: str) -> str:
    """A lower-case hex digest of the algorithm's length; anything else (a path, a typo) is refused
    before it can become a storage key."""
    if not isinstance(value, str):
        raise TypeError(f"a content hash is a hex string, not {type(value).__name__}")
    lowered = value.lower()
    if len(lowered) != HEX_DIGEST_LENGTHS[algorithm] or not _HEX.fullmatch(lowered):
        raise ValueError(f"{value!r} is not a {algorithm} digest ({HEX_DIGEST_LENGTHS[algorithm]} hex digits)")
    return lowered


def blob_key(digest: str) -> str:
    """``ab/cd/abcd…``: two levels of 256 fan-out keep directories small on filesystem backends
    and spread keys across partitions on object stores."""
    return f"{digest[0:2]}/{digest[2:4]}/{digest}"


def digest_of_key(algorithm: Algorithm, key: str) -> str | None:
    """The digest a blob key names, or None when the key is not a blob key of this algorithm."""
    parts = key.split("/")
    if len(parts) != 3:
        return None
    first, second, digest = parts
    if len(digest) != HEX_DIGEST_LENGTHS[algorithm] or not _HEX.fullmatch(digest):
        return None
    if first != digest[0:2] or second != digest[2:4]:
        return None
    return digest


def hash_bytes(algorithm: Algorithm, data: bytes | bytearray | memoryview) -> str:
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return hasher.hexdigest()


class HashingChunks:
    """Passes chunks through while hashing and counting them (a body for ``put``)."""

    def __init__(self, algorithm: Algorithm, chunks: Iterable[bytes | memoryview]) -> None:
        self._hasher: Hasher = new_hasher(algorithm)
        self._chunks = iter(chunks)
        self.size = 0

    def __iter__(self) -> Iterator[bytes | memoryview]:
        for chunk in self._chunks:
            self._hasher.update(chunk)
            self.size += len(chunk) if isinstance(chunk, bytes) else chunk.nbytes
            yield chunk

    def hexdigest(self) -> str:
        return self._hasher.hexdigest()


class VerifiedReader(io.RawIOBase):
    """Reads a blob and raises ``ChecksumMismatch`` from the read that reaches its end when the
    bytes do not hash to the address they were fetched by (bit rot, a truncated or tampered
    blob).  A caller that stops early has been told nothing, as with any streaming checksum."""

    def __init__(self, source: BlobReader, algorithm: Algorithm, expected: str, what: str) -> None:
        super().__init__()
        self._source = source
        self._algorithm = algorithm
        self._expected = expected
        self._what = what
        self._hasher = new_hasher(algorithm)
        self._checked = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if not len(view):
            return 0
        data = self._source.read(len(view))
        n = len(data)
        if n:
            view[:n] = data
            self._hasher.update(data)
        else:
            self._check()
        return n

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        data = self._source.read(size) if size else b""
        if data:
            self._hasher.update(data)
        elif size:
            self._check()
        return data

    def readall(self) -> bytes:
        parts = []
        while chunk := self._source.read(1024 * 1024):
            self._hasher.update(chunk)
            parts.append(chunk)
        self._check()
        return b"".join(parts)

    def _check(self) -> None:
        if self._checked:
            return
        self._checked = True
        actual = self._hasher.hexdigest()
        if actual != self._expected:
            raise ChecksumMismatch(self._what, self._algorithm, self._expected, actual)

    def close(self) -> None:
        if not self.closed:
            self._source.close()
        super().close()
