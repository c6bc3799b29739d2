"""Bodies handed to ``put``: chunking, size known up front, metering and checksums."""

from __future__ import annotations

import array
import gzip
import hashlib
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import blake3
import pytest
import xxhash
from hypothesis import given
from hypothesis import strategies as st

from trove_dist.checksum import ALGORITHMS, Checksum
from trove_dist.driver.body import MeteredChunks, PutBody, iter_chunks, known_size
from trove_dist.errors import ChecksumMismatch

DATA = bytes(range(256)) * 40 + b"tail"  # 10,244 bytes


def joined(chunks: Iterator[bytes | memoryview]) -> bytes:
    return b"".join(bytes(c) for c in chunks)


def sizes(chunks: Iterator[bytes | memoryview]) -> list[int]:
    return [memoryview(c).nbytes for c in chunks]


def reference_hex(algorithm: str, data: bytes) -> str:
    if algorithm == "sha256":
        return hashlib.sha256(data).hexdigest()
    if algorithm == "blake3":
        return str(blake3.blake3(data).hexdigest())
    return str(xxhash.xxh3_128_hexdigest(data))


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "body.bin"
    path.write_bytes(DATA)
    return path


# ---- iter_chunks -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_buffers_are_cut_into_chunks(kind: type[bytes | bytearray | memoryview]) -> None:
    body = kind(DATA)
    assert sizes(iter_chunks(body, 4096)) == [4096, 4096, 2052]
    assert joined(iter_chunks(body, 4096)) == DATA
    assert joined(iter_chunks(body)) == DATA
    assert sizes(iter_chunks(body, 1 << 20)) == [len(DATA)]


@given(st.binary(max_size=300), st.integers(1, 64))
def test_chunks_reassemble(data: bytes, chunk_size: int) -> None:
    chunks = list(iter_chunks(data, chunk_size))
    assert b"".join(bytes(c) for c in chunks) == data
    assert all(0 < len(c) <= chunk_size for c in chunks)


def test_non_byte_memoryview_is_cut_in_bytes() -> None:
    numbers = array.array("I", range(1001))  # 4,004 bytes
    expected = numbers.tobytes()
    for body in (memoryview(numbers), numbers.tobytes()):
        chunks = list(iter_chunks(body, 1000))
        assert [len(c) for c in chunks] == [1000, 1000, 1000, 1000, 4]
        assert b"".join(bytes(c) for c in chunks) == expected


def test_multidimensional_memoryview() -> None:
    view = memoryview(DATA[:24]).cast("B", (4, 6))
    assert joined(iter_chunks(view, 5)) == DATA[:24]
    assert sizes(iter_chunks(view, 5)) == [5, 5, 5, 5, 4]


def test_non_contiguous_memoryview() -> None:
    view = memoryview(DATA)[::3]
    assert joined(iter_chunks(view, 100)) == DATA[::3]
    assert known_size(view) == len(DATA[::3])


def test_readonly_and_writable_views() -> None:
    buffer = bytearray(b"hello world")
    chunks = list(iter_chunks(buffer, 5))
    assert [bytes(c) for c in chunks] == [b"hello", b" worl", b"d"]


@pytest.mark.parametrize("body", [b"", bytearray(), memoryview(b""), io.BytesIO(b""), iter([]), iter([b"", b""])])
def test_empty_bodies_yield_nothing(body: PutBody) -> None:
    assert list(iter_chunks(body, 10)) == []


def test_bytesio() -> None:
    assert sizes(iter_chunks(io.BytesIO(DATA), 4096)) == [4096, 4096, 2052]
    assert joined(iter_chunks(io.BytesIO(DATA), 4096)) == DATA


def test_bytesio_from_its_position() -> None:
    body = io.BytesIO(DATA)
    body.seek(10_000)
    assert joined(iter_chunks(body, 100)) == DATA[10_000:]


@pytest.mark.parametrize("buffering", [-1, 0])
def test_real_file(data_file: Path, buffering: int) -> None:
    with open(data_file, "rb", buffering=buffering) as f:
        assert joined(iter_chunks(f, 4096)) == DATA
    with open(data_file, "rb", buffering=buffering) as f:
        f.seek(100)
        assert joined(iter_chunks(f, 4096)) == DATA[100:]


def test_generator_keeps_its_sizes_and_drops_empty_chunks() -> None:
    def body() -> Iterator[bytes | bytearray | memoryview]:
        yield b"ab"
        yield b""
        yield bytearray(b"cde")
        yield memoryview(b"fghij")
        yield memoryview(b"")

    # PutBody says Iterable[bytes]; bytearray and memoryview chunks are accepted too.
    chunks = iter_chunks(body(), 2)
    assert [bytes(c) for c in chunks] == [b"ab", b"cde", b"fghij"]


def test_generator_yielding_non_byte_memoryviews() -> None:
    numbers = array.array("I", [1, 2, 3])
    chunks = list(iter_chunks(iter([memoryview(numbers)])))
    assert [len(c) for c in chunks] == [12]
    assert b"".join(bytes(c) for c in chunks) == numbers.tobytes()


def test_list_of_chunks() -> None:
    assert joined(iter_chunks([b"a", b"b"])) == b"ab"


class OnlyRead:
    """A readable without fileno, tell or iteration."""

    def __init__(self, data: bytes) -> None:
        self._f = io.BytesIO(data)

    def read(self, size: int = -1, /) -> bytes:
        return self._f.read(size)


def test_plain_readable() -> None:
    assert joined(iter_chunks(OnlyRead(DATA), 1000)) == DATA
    assert known_size(OnlyRead(DATA)) is None


def test_str_is_refused() -> None:
    with pytest.raises(TypeError, match="not str"):
        list(iter_chunks("text"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not str"):
        list(iter_chunks(""))  # type: ignore[arg-type]


@pytest.mark.parametrize("content", ["some text", ""])
def test_text_mode_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "t.txt"
    path.write_text(content)
    with open(path) as f, pytest.raises(TypeError, match="text mode"):
        list(iter_chunks(f))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="text mode"):
        list(iter_chunks(io.StringIO(content)))  # type: ignore[arg-type]


def test_text_mode_named_temporary_file_is_refused() -> None:
    with tempfile.NamedTemporaryFile("w+") as f, pytest.raises(TypeError, match="text mode"):
        list(iter_chunks(f))  # type: ignore[arg-type]


def test_readable_returning_str_is_refused() -> None:
    class TextReader:
        def read(self, size: int = -1, /) -> str:
            return "abc"

    with pytest.raises(TypeError, match="text mode"):
        list(iter_chunks(TextReader()))  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["str", 1, None, [1, 2], array.array("I", [1])])
def test_iterable_of_non_bytes_is_refused(bad: object) -> None:
    with pytest.raises(TypeError, match="must yield bytes"):
        list(iter_chunks(iter([b"ok", bad])))  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [1, 2.5, None, object()])
def test_not_a_body(bad: object) -> None:
    with pytest.raises(TypeError, match="cannot put"):
        list(iter_chunks(bad))  # type: ignore[arg-type]


# ---- known_size ------------------------------------------------------------------------


def test_known_size_of_buffers() -> None:
    assert known_size(DATA) == len(DATA)
    assert known_size(bytearray(DATA)) == len(DATA)
    assert known_size(memoryview(DATA)) == len(DATA)
    assert known_size(memoryview(array.array("I", range(10)))) == 40
    assert known_size(memoryview(DATA)[10:20]) == 10
    assert known_size(b"") == 0


def test_known_size_of_bytesio() -> None:
    body = io.BytesIO(DATA)
    assert known_size(body) == len(DATA)
    body.seek(100)
    assert known_size(body) == len(DATA) - 100
    body.seek(len(DATA) + 50)  # past the end: nothing left, not a negative size
    assert known_size(body) == 0
    body.seek(0)
    body.write(b"x")  # the buffer export was released: the BytesIO can still be written
    body.close()
    assert known_size(body) is None


@pytest.mark.parametrize("buffering", [-1, 0])
def test_known_size_of_a_real_file(data_file: Path, buffering: int) -> None:
    with open(data_file, "rb", buffering=buffering) as f:
        assert known_size(f) == len(DATA)
        f.seek(1000)
        assert known_size(f) == len(DATA) - 1000
        f.read(10)  # a buffered reader has read ahead; tell() still says where the caller is
        assert known_size(f) == len(DATA) - 1010
        f.seek(len(DATA) + 10)
        assert known_size(f) == 0
    assert known_size(f) is None  # closed


def test_known_size_of_a_named_temporary_file() -> None:
    with tempfile.NamedTemporaryFile() as f:
        f.write(DATA)
        f.flush()
        f.seek(4)
        assert known_size(f) == len(DATA) - 4


def test_known_size_of_a_pipe() -> None:
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, b"abc")
        with open(read_fd, "rb", closefd=False) as f:
            assert known_size(f) is None
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_known_size_of_a_compressed_stream_is_unknown(tmp_path: Path) -> None:
    # GzipFile has fileno() and tell(), but of two different streams.
    path = tmp_path / "x.gz"
    with gzip.open(path, "wb") as out:
        out.write(b"a" * 100_000)
    with gzip.open(path, "rb") as f:
        assert known_size(f) is None


def test_known_size_of_iterables_is_unknown() -> None:
    assert known_size(iter([b"abc"])) is None
    assert known_size([b"abc"]) is None


# ---- MeteredChunks ---------------------------------------------------------------------


def test_metering_counts_bytes() -> None:
    metered = MeteredChunks(iter_chunks(DATA, 1000))
    assert metered.size == 0
    assert not metered.exhausted
    assert joined(metered) == DATA
    assert metered.size == len(DATA)
    assert metered.exhausted
    assert metered.checksum is None  # no algorithm asked for


def test_metering_counts_bytes_of_non_byte_views() -> None:
    numbers = array.array("I", range(10))
    metered = MeteredChunks(iter([memoryview(numbers), b"xy"]))
    list(metered)
    assert metered.size == 42


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_checksum_matches_reference(algorithm: str) -> None:
    metered = MeteredChunks(iter_chunks(DATA, 333), algorithm=algorithm)
    with pytest.raises(RuntimeError, match="before"):
        _ = metered.checksum
    next(metered)
    with pytest.raises(RuntimeError, match="before"):
        _ = metered.checksum
    list(metered)
    checksum = metered.checksum
    assert checksum == Checksum(algorithm, reference_hex(algorithm, DATA))  # type: ignore[arg-type]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_checksum_of_empty_body(algorithm: str) -> None:
    metered = MeteredChunks(iter([]), algorithm=algorithm)
    assert list(metered) == []
    assert metered.size == 0
    assert metered.checksum is not None
    assert metered.checksum.value == reference_hex(algorithm, b"")


@given(st.lists(st.binary(max_size=50), max_size=10), st.sampled_from(ALGORITHMS))
def test_checksum_property(parts: list[bytes], algorithm: str) -> None:
    metered = MeteredChunks(iter_chunks(iter(parts)), algorithm=algorithm)
    assert joined(metered) == b"".join(parts)
    assert metered.checksum is not None
    assert metered.checksum.value == reference_hex(algorithm, b"".join(parts))
    assert metered.size == sum(map(len, parts))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_expected_checksum_matches(algorithm: str) -> None:
    expected = Checksum(algorithm, reference_hex(algorithm, DATA))  # type: ignore[arg-type]
    metered = MeteredChunks(iter_chunks(DATA, 1000), expected=expected)
    assert joined(metered) == DATA
    assert metered.checksum == expected


def test_expected_checksum_in_upper_case_matches() -> None:
    expected = Checksum("sha256", hashlib.sha256(DATA).hexdigest().upper())
    metered = MeteredChunks(iter_chunks(DATA, 1000), expected=expected)
    assert joined(metered) == DATA


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_expected_checksum_mismatch_raises_at_exhaustion(algorithm: str) -> None:
    wrong = Checksum(algorithm, reference_hex(algorithm, b"something else"))  # type: ignore[arg-type]
    metered = MeteredChunks(iter_chunks(DATA, 4096), expected=wrong, what="bkt/key")
    received = [bytes(next(metered)) for _ in range(3)]  # every chunk is handed out first
    assert b"".join(received) == DATA
    with pytest.raises(ChecksumMismatch) as caught:
        next(metered)
    error = caught.value
    assert error.algorithm == algorithm
    assert error.expected == wrong.value
    assert error.actual == reference_hex(algorithm, DATA)
    assert "bkt/key" in str(error)
    assert metered.exhausted


def test_expected_checksum_sets_the_algorithm() -> None:
    expected = Checksum("blake3", reference_hex("blake3", DATA))
    metered = MeteredChunks(iter_chunks(DATA), algorithm="sha256", expected=expected)
    list(metered)
    assert metered.checksum == expected


def test_unknown_algorithm() -> None:
    with pytest.raises(ValueError, match="unknown checksum algorithm"):
        MeteredChunks(iter([]), algorithm="md5")


def test_metered_chunks_is_its_own_iterator() -> None:
    metered = MeteredChunks(iter([b"a"]))
    assert iter(metered) is metered
    assert list(metered) == [b"a"]
    assert list(metered) == []  # stays exhausted
