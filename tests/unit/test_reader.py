"""``ObjectReader``: a binary file object over a backend stream, limited to its range."""

from __future__ import annotations

import array
import io
import shutil
from datetime import UTC, datetime

import pytest

from trove_dist.driver.models import ObjectInfo
from trove_dist.driver.reader import ObjectReader

DATA = bytes(range(256)) * 16  # 4,096 bytes


def info(size: int = len(DATA)) -> ObjectInfo:
    return ObjectInfo(bucket="b", key="k", size=size, etag="e", last_modified=datetime(2024, 1, 1, tzinfo=UTC))


class Trickle:
    """A source without readinto that hands out at most ``step`` bytes per read (like a socket),
    possibly as a bytearray, and counts its closes."""

    def __init__(self, data: bytes, step: int = 7, kind: type[bytes | bytearray] = bytes) -> None:
        self._data = data
        self._pos = 0
        self._step = step
        self._kind = kind
        self.closes = 0

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:
            size = len(self._data)
        n = min(size, self._step)
        chunk = self._data[self._pos : self._pos + n]
        self._pos += len(chunk)
        return self._kind(chunk)  # type: ignore[return-value]

    def close(self) -> None:
        self.closes += 1


class CountingBytesIO(io.BytesIO):
    closes = 0

    def close(self) -> None:
        self.closes += 1
        super().close()


def make(source_kind: str, data: bytes = DATA, **kwargs: object) -> ObjectReader:
    source: io.BytesIO | Trickle = io.BytesIO(data) if source_kind == "bytesio" else Trickle(data)
    return ObjectReader(info(len(data)), source, **kwargs)  # type: ignore[arg-type]


SOURCES = ["bytesio", "trickle"]


@pytest.mark.parametrize("kind", SOURCES)
def test_read_n_then_rest(kind: str) -> None:
    reader = make(kind)
    assert reader.read(10) == DATA[:10]
    assert reader.read(0) == b""
    assert reader.read(100) == DATA[10:110]
    assert reader.read() == DATA[110:]
    assert reader.read() == b""
    assert reader.read(5) == b""


@pytest.mark.parametrize("kind", SOURCES)
@pytest.mark.parametrize("size", [None, -1, -7])
def test_read_all(kind: str, size: int | None) -> None:
    assert make(kind).read(size) == DATA
    assert make(kind).readall() == DATA


def test_read_returns_bytes_even_if_the_source_does_not() -> None:
    reader = ObjectReader(info(), Trickle(DATA, step=10_000, kind=bytearray))
    chunk = reader.read(5)
    assert type(chunk) is bytes
    assert chunk == DATA[:5]


@pytest.mark.parametrize("kind", SOURCES)
def test_readinto(kind: str) -> None:
    reader = make(kind)
    buffer = bytearray(100)
    total = bytearray()
    while n := reader.readinto(buffer):
        assert 0 < n <= 100
        total += buffer[:n]
    assert bytes(total) == DATA
    assert reader.readinto(buffer) == 0


def test_readinto_a_non_byte_buffer() -> None:
    reader = make("bytesio")
    target = array.array("I", [0] * 4)
    assert reader.readinto(memoryview(target)) == 16
    assert target.tobytes() == DATA[:16]


@pytest.mark.parametrize("kind", SOURCES)
def test_length_limits_a_longer_source(kind: str) -> None:
    # The source holds the whole object; the reader serves only [offset, offset + length).
    source: io.BytesIO | Trickle = io.BytesIO(DATA[100:]) if kind == "bytesio" else Trickle(DATA[100:])
    reader = ObjectReader(info(), source, offset=100, length=50)
    assert (reader.offset, reader.length) == (100, 50)
    assert reader.read() == DATA[100:150]
    assert reader.read() == b""
    assert reader.readinto(bytearray(10)) == 0


@pytest.mark.parametrize("kind", SOURCES)
def test_length_limits_reads_in_pieces(kind: str) -> None:
    reader = make(kind, length=25)
    assert reader.read(10) == DATA[:10]
    buffer = bytearray(100)
    n = reader.readinto(buffer)
    assert 0 < n <= 15
    rest = reader.read(1000)
    assert bytes(buffer[:n]) + rest == DATA[10:25]
    assert reader.read(1) == b""


@pytest.mark.parametrize("kind", SOURCES)
def test_length_defaults_to_the_rest_of_the_object(kind: str) -> None:
    source: io.BytesIO | Trickle = io.BytesIO(DATA[1000:]) if kind == "bytesio" else Trickle(DATA[1000:])
    reader = ObjectReader(info(), source, offset=1000)
    assert reader.length == len(DATA) - 1000
    assert reader.read() == DATA[1000:]


@pytest.mark.parametrize("kind", SOURCES)
def test_short_source_ends_early(kind: str) -> None:
    source: io.BytesIO | Trickle = io.BytesIO(DATA[:10]) if kind == "bytesio" else Trickle(DATA[:10])
    reader = ObjectReader(info(), source)
    assert reader.read() == DATA[:10]
    assert reader.read() == b""


@pytest.mark.parametrize("kind", SOURCES)
def test_iter_chunks(kind: str) -> None:
    chunks = list(make(kind).iter_chunks(1000))
    assert [len(c) for c in chunks] == [1000, 1000, 1000, 1000, 96]
    assert b"".join(chunks) == DATA
    limited = list(make(kind, length=2500).iter_chunks(1000))
    assert [len(c) for c in limited] == [1000, 1000, 500]


def test_info_and_file_object_flags() -> None:
    reader = make("bytesio")
    assert reader.info.key == "k"
    assert reader.readable()
    assert not reader.writable()
    assert isinstance(reader, io.RawIOBase)


def test_seeking_within_the_range_when_the_source_can() -> None:
    reader = make("bytesio", offset=0, length=len(DATA))
    assert reader.seekable()
    assert reader.seek(10) == 10
    assert reader.read(5) == DATA[10:15]
    assert reader.tell() == 15
    assert reader.seek(-4, io.SEEK_END) == len(DATA) - 4
    assert reader.read() == DATA[-4:]
    assert reader.seek(-100, io.SEEK_CUR) == len(DATA) - 100
    assert reader.seek(10**9) == len(DATA)  # clamped to the range
    assert reader.read() == b""


def test_a_source_that_cannot_seek_makes_a_reader_that_cannot() -> None:
    reader = make("trickle")
    assert not reader.seekable()
    with pytest.raises(io.UnsupportedOperation):
        reader.seek(1)


# ---- closing ---------------------------------------------------------------------------


@pytest.mark.parametrize("source_type", [CountingBytesIO, Trickle])
def test_close_releases_source_and_callback_exactly_once(source_type: type[CountingBytesIO | Trickle]) -> None:
    source = source_type(DATA)
    calls: list[str] = []
    reader = ObjectReader(info(), source, on_close=lambda: calls.append("closed"))
    with reader:
        assert reader.read(5) == DATA[:5]
    assert reader.closed
    reader.close()
    reader.close()
    del reader  # IOBase.__del__ closes again: still once
    assert source.closes == 1
    assert calls == ["closed"]


def test_close_without_close_on_source() -> None:
    class NoClose:
        def read(self, size: int = -1, /) -> bytes:
            return b""

    calls: list[int] = []
    reader = ObjectReader(info(0), NoClose(), on_close=lambda: calls.append(1))
    reader.close()
    assert calls == [1]


def test_on_close_runs_even_if_closing_the_source_fails() -> None:
    class Broken(io.BytesIO):
        closes = 0

        def close(self) -> None:
            self.closes += 1
            raise OSError("connection reset")

    source = Broken(DATA)
    calls: list[int] = []
    reader = ObjectReader(info(), source, on_close=lambda: calls.append(1))
    with pytest.raises(OSError, match="reset"):
        reader.close()
    assert calls == [1]
    assert reader.closed
    reader.close()  # not retried
    assert source.closes == 1
    assert calls == [1]


@pytest.mark.parametrize("kind", SOURCES)
def test_read_after_close(kind: str) -> None:
    reader = make(kind)
    reader.close()
    with pytest.raises(ValueError, match="closed"):
        reader.read(1)
    with pytest.raises(ValueError, match="closed"):
        reader.read()
    with pytest.raises(ValueError, match="closed"):
        reader.readinto(bytearray(1))
    with pytest.raises(ValueError, match="closed"):
        list(reader.iter_chunks())


# ---- with the standard library -------------------------------------------------------


@pytest.mark.parametrize("kind", SOURCES)
def test_shutil_copyfileobj(kind: str) -> None:
    target = io.BytesIO()
    with make(kind, length=3000) as reader:
        shutil.copyfileobj(reader, target, 1024)
    assert target.getvalue() == DATA[:3000]


@pytest.mark.parametrize("kind", SOURCES)
def test_buffered_reader(kind: str) -> None:
    text = b"first line\nsecond line\nthird"
    buffered = io.BufferedReader(make(kind, text), buffer_size=8)
    assert buffered.readline() == b"first line\n"
    assert buffered.peek(1)[:1] == b"s"
    assert buffered.read(6) == b"second"
    assert list(buffered) == [b" line\n", b"third"]
    assert buffered.read() == b""
    buffered.close()
    assert buffered.raw.closed


@pytest.mark.parametrize("kind", SOURCES)
def test_buffered_reader_respects_length(kind: str) -> None:
    buffered = io.BufferedReader(make(kind, length=1000), buffer_size=64)
    assert buffered.read() == DATA[:1000]


def test_lines_through_iobase() -> None:
    reader = make("bytesio", b"a\nbb\nccc")
    assert list(reader) == [b"a\n", b"bb\n", b"ccc"]
