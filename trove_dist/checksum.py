"""Incremental checksums: SHA-256, BLAKE3 and XXH3-128.

SHA-256 is what S3 and most tools speak; BLAKE3 is as strong and three times faster on one
core; XXH3 is fast enough to be free but is *not* collision-resistant, so it is meant for change
detection on trusted data, never for content addressing of adversarial input.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

import blake3
import xxhash

Algorithm = Literal["sha256", "blake3", "xxh3"]
ALGORITHMS: tuple[Algorithm, ...] = get_args(Algorithm)
#: Length of each algorithm's hex digest as ``new_hasher(...).hexdigest()`` produces it.
HEX_DIGEST_LENGTHS: dict[Algorithm, int] = {"sha256": 64, "blake3": 64, "xxh3": 32}
_HEX_RE = re.compile(r"[0-9a-f]+")


class Hasher(Protocol):
    def update(self, data: bytes | bytearray | memoryview, /) -> object: ...
    def hexdigest(self) -> str: ...


def new_hasher(algorithm: str) -> Hasher:
    """A fresh incremental hasher; raises ValueError for an unknown algorithm name."""
    if algorithm == "sha256":
        return hashlib.sha256()
    if algorithm == "blake3":
        return blake3.blake3()
    if algorithm == "xxh3":
        return xxhash.xxh3_128()
    raise ValueError(f"unknown checksum algorithm {algorithm!r} (choose from {', '.join(ALGORITHMS)})")


def validate_algorithm(algorithm: str) -> Algorithm:
    for known in ALGORITHMS:
        if algorithm == known:
            return known
    raise ValueError(f"unknown checksum algorithm {algorithm!r} (choose from {', '.join(ALGORITHMS)})")


@dataclass(frozen=True, slots=True)
class Checksum:
    """A digest together with the algorithm that produced it (``sha256:ab12…`` as text)."""

    algorithm: Algorithm
    value: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.value}"

    @classmethod
    def parse(cls, text: str) -> Checksum:
        """Parse ``ALGORITHM:HEX``; the digest must have the algorithm's length (any case)."""
        if not isinstance(text, str):
            raise ValueError(f"checksum {text!r} is not of the form ALGORITHM:HEX")
        algorithm, sep, value = text.partition(":")
        if not sep or not value:
            raise ValueError(f"checksum {text!r} is not of the form ALGORITHM:HEX")
        known = validate_algorithm(algorithm)
        value = value.lower()
        if len(value) != HEX_DIGEST_LENGTHS[known] or not _HEX_RE.fullmatch(value):
            raise ValueError(f"checksum {text!r}: a {known} digest is {HEX_DIGEST_LENGTHS[known]} hexadecimal digits")
        return cls(known, value)

    def matches(self, other: Checksum) -> bool:
        """Same algorithm and digest; hex case does not matter (a ``Checksum`` may be built
        directly from an upper-case digest)."""
        return self.algorithm == other.algorithm and hmac.compare_digest(
            self.value.lower().encode("utf-8", "surrogatepass"), other.value.lower().encode("utf-8", "surrogatepass")
        )


def digest(algorithm: str, data: bytes | bytearray | memoryview) -> Checksum:
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return Checksum(validate_algorithm(algorithm), hasher.hexdigest())
