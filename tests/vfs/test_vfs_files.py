"""Reading and writing files through the VFS, on every backend."""

from __future__ import annotations

import gc
import io
import itertools
import os
import random

import pytest

from tests.vfs.storage_wrappers import CountingGets
from trove_dist.driver.base import Driver
from trove_dist.drivers.memory import MemoryDriver
from trove_dist.errors import PreconditionFailed
from trove_dist.middleware.compress import Compress
from trove_dist.middleware.encrypt import Encrypt, StaticKeyProvider
from trove_dist.trove import Trove
from trove_dist.vfs import VFS, BucketStorage, FileReader, FileWriter, Storage, for_trove


def _small_blocks(store: tuple[Storage, str]) -> VFS:
    """Blocks small enough that a test's few hundred KiB take every multi-block path."""
    return VFS(*store, read_block=4096, write_block=64 * 1024)


def _payload(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


# ---- reading ----------------------------------------------------------------------------------


def test_a_reader_is_a_seekable_file(vfs: VFS) -> None:
    vfs.write_bytes("t.txt", b"first line\nsecond line\nno newline at the end")
    with vfs.open("t.txt") as f:
        assert isinstance(f, FileReader)
        assert f.readable()
        assert f.seekable()
        assert not f.writable()
        assert f.size == 44
        assert f.info.size == 44
        assert f.readline() == b"first line\n"
        assert f.tell() == 11
        assert f.read(6) == b"second"
        assert f.seek(-7, io.SEEK_END) == 37
        assert f.read() == b"the end"
        assert f.read() == b""
        f.seek(0)
        assert list(f) == [b"first line\n", b"second line\n", b"no newline at the end"]
        f.seek(6)
        buffer = bytearray(4)
        assert f.readinto(buffer) == 4
        assert buffer == b"line"
        f.seek(1000)
        assert f.read(10) == b""
        assert f.readinto(bytearray(3)) == 0
        with pytest.raises(OSError):
            f.seek(-1)
    with pytest.raises(ValueError):
        f.read()


def test_reads_of_a_large_file_sequential_and_random(store: tuple[BucketStorage, str]) -> None:
    vfs = _small_blocks(store)
    data = _payload(3 * 1024 * 1024 + 123)
    vfs.write_bytes("big.bin", data)
    rng = random.Random(1)
    with vfs.open("big.bin") as f:
        assert f.read(10) == data[:10]
        assert f.read(300_000) == data[10:300_010]  # larger than a block: read straight through
        for _ in range(40):
            offset = rng.randrange(len(data))
            size = rng.choice([1, 100, 4096, 70_000, 1_000_000])
            f.seek(offset)
            assert f.read(size) == data[offset : offset + size]
        f.seek(5000)
        chunks = []
        while chunk := f.read(50_000):  # sequential again after jumps: growing range requests
            chunks.append(chunk)
        assert b"".join(chunks) == data[5000:]
        f.seek(0)
        view = bytearray(len(data))
        assert f.readinto(view) == len(data)
        assert view == data


def test_open_errors(vfs: VFS) -> None:
    vfs.mkdir("dir")
    with pytest.raises(FileNotFoundError):
        vfs.open("missing")
    with pytest.raises(IsADirectoryError):
        vfs.open("dir")
    with pytest.raises(IsADirectoryError):
        vfs.open("")
    with pytest.raises(ValueError, match="unsupported mode"):
        vfs.open("x", "ab")  # type: ignore[call-overload]


def test_read_bytes_ranges(vfs: VFS) -> None:
    vfs.write_bytes("r", b"0123456789")
    assert vfs.read_bytes("r", 2, 5) == b"234"
    assert vfs.read_bytes("r", 8) == b"89"
    assert vfs.read_bytes("r", 8, 100) == b"89"
    assert vfs.read_bytes("r", 20) == b""
    assert vfs.read_bytes("r", 5, 5) == b""


def test_a_reader_makes_as_few_requests_as_the_access_pattern_allows() -> None:
    """Over readers that cannot seek every request shows: one for a sequential scan, reading
    through short hops, one exact request per far jump, then growing ones."""
    driver = MemoryDriver()
    driver.create_bucket("requests")
    data = _payload(40 * 1024 * 1024)
    driver.put("requests", "f", data)
    counting = CountingGets(driver)
    vfs = VFS(counting, "requests")

    with vfs.open("f") as f:
        assert f.read(1000) == data[:1000]
        f.seek(200_000)  # a hop of ~200 KiB: read through
        assert f.read(1000) == data[200_000:201_000]
        assert counting.gets == [(0, None)]
        f.seek(30_000_000)  # far: one request of one block
        assert f.read(100) == data[30_000_000:30_000_100]
        assert counting.gets[1:] == [(30_000_000, 65536)]
        chunks = []
        while chunk := f.read(256 * 1024):  # then sequential: each request twice the last
            chunks.append(chunk)
        assert b"".join(chunks) == data[30_000_100:]
        lengths = [length or 0 for _, length in counting.gets[2:]]
        assert len(lengths) <= 8
        assert all(b == min(2 * a, 8 * 1024 * 1024) for a, b in itertools.pairwise(lengths[:-1]))
        f.seek(1000)
        assert f.read() == data[1000:]  # one read of everything: one request of everything
        assert counting.gets[-1] == (1000, len(data) - 1000)

    counting.gets.clear()
    with vfs.open("f") as f:
        assert f.read() == data
    assert counting.gets == [(0, None)]


def test_a_reader_refuses_to_splice_two_versions_of_a_file() -> None:
    """Over readers that cannot seek a jump opens a new range request: one that finds a
    different object (replaced meanwhile) fails instead of mixing the two."""
    driver = MemoryDriver()
    driver.create_bucket("splice")
    vfs = VFS(CountingGets(driver), "splice", read_block=16)
    vfs.write_bytes("f", b"a" * 1_000_000)
    with vfs.open("f") as f:
        assert f.read(10) == b"a" * 10
        f.seek(500)  # a short hop reads on through the stream already open: the same version
        assert f.read(10) == b"a" * 10
        vfs.write_bytes("f", b"b" * 1_000_000)
        f.seek(900_000)  # a jump makes a new request, which finds another object
        with pytest.raises(PreconditionFailed, match="replaced while it was being read"):
            f.read(10)


# ---- writing ----------------------------------------------------------------------------------


def test_a_small_file_appears_on_close(vfs: VFS) -> None:
    with vfs.create("w/small.txt", metadata={"k": "v"}, content_type="text/x-test") as f:
        assert isinstance(f, FileWriter)
        assert f.writable()
        f.write(b"hello ")
        f.write(memoryview(b"world"))
        assert f.tell() == 11
        assert not vfs.exists("w/small.txt")
    assert f.info is not None
    assert f.info.size == 11
    assert vfs.read_bytes("w/small.txt") == b"hello world"
    info = vfs.stat("w/small.txt")
    assert (info.content_type, dict(info.metadata)) == ("text/x-test", {"k": "v"})


def test_a_large_file_streams_in_blocks_and_appears_on_close(store: tuple[BucketStorage, str]) -> None:
    vfs = _small_blocks(store)
    data = _payload(1024 * 1024 + 17)
    with vfs.open("w/large.bin", "wb") as f:
        for start in range(0, len(data), 10_000):
            f.write(data[start : start + 10_000])
        assert not vfs.exists("w/large.bin")  # sixteen blocks sent, nothing visible yet
    assert vfs.read_bytes("w/large.bin") == data


@pytest.mark.parametrize("size", [10, 300 * 1024], ids=["one-put", "streamed"])
def test_an_exception_inside_with_leaves_nothing(store: tuple[BucketStorage, str], size: int) -> None:
    vfs = _small_blocks(store)

    def write_then_fail(path: str) -> None:
        with vfs.create(path) as f:
            f.write(_payload(size))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        write_then_fail("aborted.bin")
    assert not vfs.exists("aborted.bin")

    vfs.write_bytes("kept.bin", b"old")
    with pytest.raises(RuntimeError, match="boom"):
        write_then_fail("kept.bin")
    assert vfs.read_bytes("kept.bin") == b"old"  # not replaced, not truncated


def test_abort_and_an_unclosed_writer_store_nothing(local_vfs: VFS) -> None:
    vfs = _small_blocks((local_vfs.storage, local_vfs.bucket))
    writer = vfs.create("explicit")
    writer.write(_payload(200 * 1024))
    writer.abort()
    assert writer.closed
    assert not vfs.exists("explicit")

    def drop_unclosed() -> None:
        dropped = vfs.create("dropped")
        dropped.write(_payload(200 * 1024))  # an upload thread is running by now

    with pytest.warns(ResourceWarning, match="discarded"):
        drop_unclosed()
    gc.collect()
    assert not vfs.exists("dropped")


def test_exclusive_create(vfs: VFS) -> None:
    vfs.write_bytes("x", b"1")
    vfs.mkdir("d")
    with pytest.raises(FileExistsError):
        vfs.create("x", exclusive=True)
    with pytest.raises(FileExistsError):
        vfs.open("d", "xb")
    with pytest.raises(FileExistsError):
        vfs.write_bytes("x", b"2", exclusive=True)
    with vfs.open("new", "xb") as f:
        f.write(b"fresh")
    assert vfs.read_bytes("new") == b"fresh"


def test_exclusive_create_is_atomic_on_stores_with_conditional_writes(local_vfs: VFS) -> None:
    writer = local_vfs.create("race", exclusive=True)
    writer.write(b"loser")
    local_vfs.write_bytes("race", b"winner")  # created by someone else after the open
    with pytest.raises(FileExistsError):
        writer.close()
    assert local_vfs.read_bytes("race") == b"winner"


def test_writing_through_a_file_or_onto_a_directory(local_store: tuple[BucketStorage, str]) -> None:
    vfs = VFS(*local_store)
    vfs.write_bytes("f", b"file")
    vfs.mkdir("d")
    if isinstance(vfs.storage, Driver) and vfs.storage.limitations:  # a real filesystem underneath
        with pytest.raises(NotADirectoryError):
            vfs.write_bytes("f/child", b"x")
        with pytest.raises(IsADirectoryError):
            vfs.write_bytes("d", b"x")


# ---- through a Trove --------------------------------------------------------------------------


def test_for_trove_sees_what_trove_stores_and_the_reverse() -> None:
    with Trove(MemoryDriver()) as trove:
        trove.create_bucket("docs")
        vfs = for_trove(trove, "docs")
        storage: Storage = trove  # the facade satisfies the protocol (checked by mypy)
        assert vfs.storage is storage
        trove.put("docs", "from/trove.txt", b"put by trove")
        assert vfs.read_bytes("from/trove.txt") == b"put by trove"
        with vfs.create("from/vfs.txt") as f:
            f.write(b"written by the vfs")
        with trove.get("docs", "from/vfs.txt") as reader:
            assert reader.read() == b"written by the vfs"
        assert [e.name for e in vfs.read_dir("from")] == ["trove.txt", "vfs.txt"]


def test_random_reads_through_encryption_and_compression() -> None:
    """A Trove with chunk middleware stores framed objects; the VFS still reads any range
    (the framed format fetches only the frames it needs) and sizes are the plaintext's."""
    with Trove(MemoryDriver(), chunk_size=64 * 1024) as trove:
        trove.use(Compress(), priority=10)
        trove.use(Encrypt(StaticKeyProvider(os.urandom(32), "k1")), priority=20)
        trove.create_bucket("secret")
        vfs = for_trove(trove, "secret")
        data = b"".join(b"line %06d of a compressible file\n" % i for i in range(20_000))
        with vfs.create("log.txt") as f:
            f.write(data)
        assert vfs.stat("log.txt").size == len(data)
        rng = random.Random(3)
        with vfs.open("log.txt") as f:
            for _ in range(20):
                offset = rng.randrange(len(data))
                f.seek(offset)
                assert f.read(5000) == data[offset : offset + 5000]
        vfs.set_metadata("log.txt", {"tag": "kept"})
        assert vfs.read_bytes("log.txt") == data
