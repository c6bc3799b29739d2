"""Checksums: text form, parsing, and digests equal to the reference implementations."""

from __future__ import annotations

import hashlib

import blake3
import pytest
import xxhash
from hypothesis import given
from hypothesis import strategies as st

from trove_dist.checksum import ALGORITHMS, Checksum, digest, new_hasher, validate_algorithm

REFERENCES = {
    "sha256": lambda data: hashlib.sha256(data).hexdigest(),
    "blake3": lambda data: blake3.blake3(data).hexdigest(),
    "xxh3": lambda data: xxhash.xxh3_128_hexdigest(data),
}


def test_algorithms() -> None:
    assert set(ALGORITHMS) == {"sha256", "blake3", "xxh3"}
    for algorithm in ALGORITHMS:
        assert validate_algorithm(algorithm) == algorithm


@pytest.mark.parametrize("name", ["md5", "SHA256", "sha-256", "", "xxh64", "blake2b", " sha256"])
def test_unknown_algorithm(name: str) -> None:
    with pytest.raises(ValueError, match="unknown checksum algorithm"):
        validate_algorithm(name)
    with pytest.raises(ValueError, match="unknown checksum algorithm"):
        new_hasher(name)
    with pytest.raises(ValueError, match="unknown checksum algorithm"):
        digest(name, b"x")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("data", [b"", b"a", b"hello world", bytes(range(256)) * 1000])
def test_digest_matches_reference(algorithm: str, data: bytes) -> None:
    result = digest(algorithm, data)
    assert result.algorithm == algorithm
    assert result.value == REFERENCES[algorithm](data)
    assert digest(algorithm, bytearray(data)) == result
    assert digest(algorithm, memoryview(data)) == result


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_incremental_equals_one_shot(algorithm: str) -> None:
    hasher = new_hasher(algorithm)
    for piece in (b"ab", b"", b"cdef", memoryview(b"g")):
        hasher.update(piece)
    assert hasher.hexdigest() == REFERENCES[algorithm](b"abcdefg")


@given(st.binary(max_size=200), st.sampled_from(ALGORITHMS))
def test_str_parse_round_trip(data: bytes, algorithm: str) -> None:
    checksum = digest(algorithm, data)
    text = str(checksum)
    assert text == f"{algorithm}:{checksum.value}"
    assert Checksum.parse(text) == checksum
    assert Checksum.parse(text.replace(checksum.value, checksum.value.upper())) == checksum


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sha256",
        "sha256:",
        ":abcd",
        "md5:" + "0" * 32,
        "SHA256:" + "0" * 64,
        "sha256:" + "0" * 63,  # too short
        "sha256:" + "0" * 65,  # too long
        "sha256:" + "g" * 64,  # not hex
        "sha256:" + "0" * 62 + " 0",
        "sha256: " + "0" * 64,
        "sha256:" + "0" * 64 + "\n",
        "sha256:" + "０" * 64,  # fullwidth digits
        "blake3:" + "0" * 32,  # an xxh3 length for blake3
        "xxh3:" + "0" * 64,  # a sha256 length for xxh3
        "xxh3:0x" + "0" * 30,
    ],
)
def test_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="checksum"):
        Checksum.parse(text)


def test_parse_non_string() -> None:
    with pytest.raises(ValueError, match="checksum"):
        Checksum.parse(None)  # type: ignore[arg-type]


def test_matches() -> None:
    a = digest("sha256", b"a")
    assert a.matches(digest("sha256", b"a"))
    assert not a.matches(digest("sha256", b"b"))
    assert not a.matches(Checksum("blake3", a.value))  # same hex, other algorithm
    assert a.matches(Checksum("sha256", a.value.upper()))
    assert Checksum("sha256", a.value.upper()).matches(a)
    assert not a.matches(Checksum("sha256", "ü" * 64))  # non-ASCII does not crash compare_digest


def test_checksum_is_frozen_and_hashable() -> None:
    a = digest("xxh3", b"a")
    assert {a: 1}[digest("xxh3", b"a")] == 1
    with pytest.raises(AttributeError):
        a.value = "x"  # type: ignore[misc]
