"""What the local driver promises beyond the common contract: containment, atomicity, layout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from trove_dist.driver import open_driver
from trove_dist.driver.keypaths import MAX_PIECE_BYTES, key_components
from trove_dist.drivers.local import LocalDriver
from trove_dist.drivers.local.driver import TEMP_PREFIX
from trove_dist.errors import InvalidDSN, InvalidKey, KeyConflict, ObjectNotFound


@pytest.fixture
def driver(tmp_path: Path) -> LocalDriver:
    drv = LocalDriver(tmp_path / "root", durable=False)
    drv.create_bucket("bkt")
    return drv


def all_keys(drv: LocalDriver, bucket: str = "bkt") -> list[str]:
    return [o.key for o in drv.iter_list(bucket)]  # type: ignore[union-attr]


def test_plain_keys_are_plain_files(driver: LocalDriver) -> None:
    driver.put("bkt", "docs/readme.md", b"# hi")
    assert (driver.root / "bkt" / "docs" / "readme.md").read_bytes() == b"# hi"


def test_symlinked_directory_pointing_out_is_refused_not_followed(driver: LocalDriver, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    os.symlink(outside, driver.root / "bkt" / "link")
    with pytest.raises(InvalidKey, match="symbolic link"):
        driver.get("bkt", "link/secret")
    with pytest.raises(InvalidKey, match="symbolic link"):
        driver.put("bkt", "link/planted", b"x")
    with pytest.raises(InvalidKey, match="symbolic link"):
        driver.head("bkt", "link/secret")
    assert not (outside / "planted").exists()
    assert "link/secret" not in all_keys(driver)


def test_symlinked_file_is_refused(driver: LocalDriver, tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"outside")
    os.symlink(target, driver.root / "bkt" / "alias")
    with pytest.raises(InvalidKey, match="symbolic link"):
        driver.get("bkt", "alias")
    driver.put("bkt", "alias", b"replaced")  # rename replaces the link itself, never its target
    assert target.read_bytes() == b"outside"
    assert driver.get("bkt", "alias").read() == b"replaced"


def test_bucket_that_is_a_symlink_is_not_a_bucket(driver: LocalDriver, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", driver.root / "linked")
    assert not driver.bucket_exists("linked")
    assert "linked" not in [b.name for b in driver.list_buckets()]


INTERNAL_LOOKING_KEYS = [".trove-tmp-0123456789abcdef", ".trove", ".hidden", "a/.trove-tmp-x", "%", "%~", "a%~/b"]


@pytest.mark.parametrize("key", INTERNAL_LOOKING_KEYS)
def test_keys_that_look_internal_are_ordinary_keys(driver: LocalDriver, key: str) -> None:
    driver.put("bkt", key, key.encode())
    assert driver.get("bkt", key).read() == key.encode()
    assert key in all_keys(driver)
    for component in key_components(key):
        assert not component.startswith(".")
    driver.delete("bkt", key)
    assert all_keys(driver) == []


def test_long_segments_fit_the_filesystem(driver: LocalDriver) -> None:
    keys = ["k" * 1000, "é" * 500, "a" * 239 + "." + "b" * 600, "x/" + "%" * 300 + "/y"]
    for key in keys:
        assert all(len(c.encode()) <= MAX_PIECE_BYTES + 3 for c in key_components(key))
        driver.put("bkt", key, key.encode())
    assert all_keys(driver) == sorted(keys)
    for key in keys:
        assert driver.get("bkt", key).read() == key.encode()


def test_object_and_prefix_with_the_same_name_is_a_clear_conflict(driver: LocalDriver) -> None:
    driver.put("bkt", "a", b"file")
    with pytest.raises(KeyConflict):
        driver.put("bkt", "a/b", b"x")
    driver.delete("bkt", "a")
    driver.put("bkt", "a/b", b"x")
    with pytest.raises(KeyConflict):
        driver.put("bkt", "a", b"file")
    assert driver.get("bkt", "a/b").read() == b"x"


def test_delete_removes_emptied_directories(driver: LocalDriver) -> None:
    driver.put("bkt", "a/b/c/d", b"x")
    driver.put("bkt", "a/keep", b"y")
    driver.delete("bkt", "a/b/c/d")
    assert sorted(os.listdir(driver.root / "bkt" / "a")) == ["keep"]
    assert driver.list("bkt", delimiter="/", prefix="a/").common_prefixes == []


def test_foreign_files_are_listed_with_a_stable_etag(driver: LocalDriver) -> None:
    (driver.root / "bkt" / "dropped.csv").write_bytes(b"a,b\n")
    info = driver.head("bkt", "dropped.csv")
    assert info.size == 4
    assert info.content_type == "text/csv"
    assert [o.etag for o in driver.iter_list("bkt")] == [info.etag]  # type: ignore[union-attr]
    (driver.root / "bkt" / ".DS_Store").write_bytes(b"junk")  # dot files are never objects
    assert all_keys(driver) == ["dropped.csv"]


def test_temp_files_and_empty_directories_are_invisible(driver: LocalDriver) -> None:
    (driver.root / "bkt" / "empty" / "deeper").mkdir(parents=True)
    (driver.root / "bkt" / f"{TEMP_PREFIX}deadbeef").write_bytes(b"half")
    assert driver.list("bkt", delimiter="/").common_prefixes == []
    assert all_keys(driver) == []
    driver.delete_bucket("bkt")  # only leftovers remain: the bucket counts as empty
    assert not driver.bucket_exists("bkt")


def test_etag_from_put_matches_head_and_list_and_copy(driver: LocalDriver) -> None:
    put = driver.put("bkt", "k", b"content", metadata={"a": "1"})
    assert driver.head("bkt", "k").etag == put.etag
    copied = driver.copy("bkt", "k", "bkt", "k2")
    assert copied.etag == put.etag == driver.head("bkt", "k2").etag
    assert driver.head("bkt", "k2").metadata == {"a": "1"}


def test_dsn_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drv = open_driver(f"file://{tmp_path}/a?durable=false")
    assert isinstance(drv, LocalDriver)
    assert drv.root == tmp_path / "a"
    assert drv.durable is False
    monkeypatch.chdir(tmp_path)
    rel = open_driver("file://./rel")
    assert isinstance(rel, LocalDriver)
    assert rel.root == tmp_path / "rel"
    assert rel.durable is True
    with pytest.raises(InvalidDSN):
        open_driver("file://somehost/x")
    with pytest.raises(InvalidDSN):
        open_driver(f"file://{tmp_path}/a?durable=maybe")
    with pytest.raises(InvalidDSN):
        open_driver(f"file://{tmp_path}/missing?create=false")


def test_settled_directory_listing_cache_sees_later_changes(driver: LocalDriver) -> None:
    for i in range(5):
        driver.put("bkt", f"k{i}", b"x")
    bucket_dir = driver.root / "bkt"
    old = time.time_ns() - 10_000_000_000
    os.utime(bucket_dir, ns=(old, old))  # pretend the directory settled long ago: now cacheable
    assert all_keys(driver) == [f"k{i}" for i in range(5)]
    assert str(bucket_dir) in driver._listing_cache
    driver.put("bkt", "k9", b"x")  # changes the directory's mtime
    driver.delete("bkt", "k0")
    assert all_keys(driver) == ["k1", "k2", "k3", "k4", "k9"]


_SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    from trove_dist.drivers.local import LocalDriver
    drv = LocalDriver(sys.argv[1], durable=True)
    def body():
        for _ in range(10_000):
            yield b"n" * 65536
            sys.stdout.write("."); sys.stdout.flush()
            time.sleep(0.001)
    drv.put("bkt", "victim", body(), metadata={"version": "new"})
    """
)


def test_a_writer_killed_mid_put_leaves_the_previous_version_intact(driver: LocalDriver) -> None:
    driver.put("bkt", "victim", b"old" * 1000, metadata={"version": "old"})
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(driver.root)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.read(20)  # it has written at least 20 chunks
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    info = driver.head("bkt", "victim")
    assert info.metadata == {"version": "old"}
    assert driver.get("bkt", "victim").read() == b"old" * 1000
    assert all_keys(driver) == ["victim"]
    leftovers = [n for n in os.listdir(driver.root / "bkt") if n.startswith(TEMP_PREFIX)]
    assert len(leftovers) == 1  # invisible to every operation, and reclaimable:
    assert driver.remove_stale_temporaries("bkt", older_than=3600) == 0  # too young: maybe in progress
    assert driver.remove_stale_temporaries("bkt", older_than=0) == 1
    assert [n for n in os.listdir(driver.root / "bkt") if n.startswith(TEMP_PREFIX)] == []
    assert driver.get("bkt", "victim").read() == b"old" * 1000


def test_missing_intermediate_directory_is_object_not_found(driver: LocalDriver) -> None:
    with pytest.raises(ObjectNotFound):
        driver.get("bkt", "no/such/dir/key")
    driver.delete("bkt", "no/such/dir/key")


def test_the_component_walk_refuses_symlinks_too(driver: LocalDriver, tmp_path: Path) -> None:
    """Kernels without openat2 take the component-by-component path: same refusals."""
    from trove_dist.drivers.local import resolve

    outside = tmp_path / "outside2"
    outside.mkdir()
    os.symlink(outside, driver.root / "bkt" / "link2")
    original = resolve.available
    resolve.available = False
    try:
        with pytest.raises(InvalidKey, match="symbolic link"):
            driver.get("bkt", "link2/x")
        with pytest.raises(InvalidKey, match="symbolic link"):
            driver.put("bkt", "link2/x", b"x")
        driver.put("bkt", "walked/a", b"ok")
        assert driver.get("bkt", "walked/a").read() == b"ok"
    finally:
        resolve.available = original
    assert list(outside.iterdir()) == []
