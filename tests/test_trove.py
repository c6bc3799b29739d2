"""The Trove facade: routing, merged listings, checksums, copies across backends."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from trove_dist import Trove
from trove_dist.checksum import digest
from trove_dist.driver.models import CommonPrefix, ObjectInfo
from trove_dist.drivers.local import LocalDriver
from trove_dist.drivers.memory import MemoryDriver
from trove_dist.errors import (
    BackendNotFound,
    ChecksumMismatch,
    DriverClosed,
    InvalidBucket,
    InvalidKey,
    ObjectNotFound,
)


@pytest.fixture
def routed(tmp_path: Path) -> Trove:
    trove = Trove(
        LocalDriver(tmp_path / "primary", durable=False),
        backends={"archive": MemoryDriver(), "cache": MemoryDriver()},
        routes=[("*.log", "archive"), ("tmp/**", "cache")],
        default_bucket="bkt",
    )
    trove.create_bucket("bkt")
    return trove


def keys_of(entries: list[ObjectInfo | CommonPrefix]) -> list[str]:
    return [e.key if isinstance(e, ObjectInfo) else e.prefix for e in entries]


def test_puts_land_on_the_routed_backend(routed: Trove) -> None:
    routed.put(None, "a/b.log", b"log")
    routed.put(None, "tmp/x/y", b"tmp")
    routed.put(None, "doc.txt", b"doc")
    assert routed.backend("archive").head(None, "a/b.log").size == 3
    assert routed.backend("cache").head(None, "tmp/x/y").size == 3
    assert routed.backend("default").head(None, "doc.txt").size == 3
    for name, key in [("default", "a/b.log"), ("archive", "doc.txt"), ("cache", "doc.txt")]:
        with pytest.raises(ObjectNotFound):
            routed.backend(name).head(None, key)
    assert routed.get(None, "a/b.log").read() == b"log"
    with pytest.raises(BackendNotFound):
        routed.backend("nowhere")


def test_listing_merges_backends_in_order_over_many_pages(routed: Trove) -> None:
    keys = [f"k{i:03d}.log" if i % 3 == 0 else (f"tmp/k{i:03d}" if i % 3 == 1 else f"k{i:03d}.txt") for i in range(60)]
    for key in keys:
        routed.put(None, key, key.encode())
    listed = keys_of(list(routed.iter_list(page_size=7)))
    assert listed == sorted(keys)
    pages = 0
    cursor = None
    seen: list[str] = []
    while True:
        page = routed.list(max_keys=7, cursor=cursor)
        pages += 1
        seen += [o.key for o in page.objects]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == sorted(keys)
    assert pages >= 9
    rolled = keys_of(list(routed.iter_list(delimiter="/", page_size=2)))
    assert rolled == sorted([k for k in keys if "/" not in k] + ["tmp/"])


def test_stale_copy_on_a_backend_the_route_no_longer_targets_is_hidden(routed: Trove) -> None:
    routed.backend("default").put(None, "old.log", b"stale")  # bypasses the *.log route
    routed.put(None, "old.log", b"fresh")
    listed = [o for o in routed.iter_list() if isinstance(o, ObjectInfo)]
    assert [o.key for o in listed] == ["old.log"]
    assert listed[0].size == len(b"fresh")


def test_every_put_stores_a_checksum_and_verify_catches_corruption(tmp_path: Path) -> None:
    trove = Trove(LocalDriver(tmp_path, durable=False), default_bucket="bkt", verify=True)
    trove.create_bucket("bkt")
    info = trove.put(None, "f.bin", b"x" * 10_000)
    assert info.checksum == digest("blake3", b"x" * 10_000)
    assert trove.get(None, "f.bin").read() == b"x" * 10_000
    # Flip one byte on disk behind the driver's back (same size, xattr untouched).
    path = tmp_path / "bkt" / "f.bin"
    fd = os.open(path, os.O_WRONLY)
    os.pwrite(fd, b"y", 5_000)
    os.close(fd)
    with pytest.raises(ChecksumMismatch), trove.get(None, "f.bin") as reader:
        reader.read()
    # A range cannot be verified: an explicit request is refused, the default skips it.
    with pytest.raises(ValueError, match="whole-object"):
        trove.get(None, "f.bin", offset=1, length=2, verify=True)
    assert trove.get(None, "f.bin", offset=4_999, length=2).read() == b"xy"


@pytest.mark.parametrize("algorithm", ["sha256", "blake3", "xxh3"])
def test_checksum_algorithm_is_configurable(algorithm: str) -> None:
    trove = Trove(MemoryDriver(), checksum=algorithm)  # type: ignore[arg-type]
    trove.create_bucket("bkt")
    assert trove.put("bkt", "k", b"abc").checksum == digest(algorithm, b"abc")
    assert trove.head("bkt", "k").checksum == digest(algorithm, b"abc")


def test_cross_backend_copy_streams_and_verifies(routed: Trove) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 17)
    routed.put(None, "big.bin", io.BytesIO(payload), metadata={"Owner": "ops"}, content_type="application/x-test")
    info = routed.copy(None, "big.bin", None, "big.log")  # default -> archive
    assert info.size == len(payload)
    assert routed.backend("archive").get(None, "big.log").read() == payload
    copied = routed.head(None, "big.log")
    assert copied.metadata == {"owner": "ops"}
    assert copied.content_type == "application/x-test"
    assert copied.checksum == routed.head(None, "big.bin").checksum


def test_copy_within_one_backend_uses_the_driver(routed: Trove) -> None:
    routed.put(None, "a.txt", b"one")
    routed.copy(None, "a.txt", None, "b.txt", metadata={"k": "v"})
    assert routed.get(None, "b.txt").read() == b"one"
    assert routed.head(None, "b.txt").metadata == {"k": "v"}


def test_buckets_span_backends(routed: Trove) -> None:
    routed.create_bucket("second")
    for name in ("default", "archive", "cache"):
        assert routed.backend(name).bucket_exists("second")
    assert [b.name for b in routed.list_buckets()] == ["bkt", "second"]
    routed.put("second", "x.log", b"1")
    routed.delete_bucket("second", force=True)
    assert [b.name for b in routed.list_buckets()] == ["bkt"]


def test_default_bucket_and_validation(tmp_path: Path) -> None:
    trove = Trove(MemoryDriver())
    with pytest.raises(InvalidBucket):
        trove.put(None, "k", b"")
    trove.create_bucket("bkt")
    with pytest.raises(InvalidKey):
        trove.put("bkt", "../escape", b"")
    with pytest.raises(ObjectNotFound):
        trove.get("bkt", "missing")


def test_close_closes_every_driver_but_a_pinned_view_does_not(tmp_path: Path) -> None:
    primary, other = MemoryDriver(), MemoryDriver()
    trove = Trove(primary, backends={"other": other})
    trove.backend("other").close()
    other.list_buckets()  # still open
    with trove:
        pass
    for driver in (primary, other):
        with pytest.raises(DriverClosed):
            driver.list_buckets()


def test_open_from_dsn(tmp_path: Path) -> None:
    with Trove.open(f"file://{tmp_path}/store?durable=false", default_bucket="bkt") as trove:
        assert isinstance(trove.driver, LocalDriver)
        assert trove.driver.durable is False
        trove.create_bucket("bkt")
        trove.put(None, "k", b"v")
    assert (tmp_path / "store" / "bkt" / "k").read_bytes() == b"v"
