"""The CAS operations, against every index and two blob stores."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from tests.cas.support import CountingStore, IndexSpec, blob_keys
from trove_dist.cas import (
    CAS,
    HashNotFound,
    Index,
    IndexMismatch,
    MemoryIndex,
    NoReferences,
    SQLiteIndex,
    State,
    blob_key,
)
from trove_dist.cas.gc import TEMP_PREFIX
from trove_dist.cas.hashing import hash_bytes
from trove_dist.driver.body import PutBody
from trove_dist.driver.models import ObjectInfo
from trove_dist.drivers.memory import MemoryDriver
from trove_dist.errors import ChecksumMismatch


def test_store_and_retrieve(cas: CAS) -> None:
    result = cas.store(b"hello world")
    assert result.written
    assert result.size == 11
    assert result.hash == hash_bytes("blake3", b"hello world")
    assert blob_keys(cas) == [blob_key(result.hash)]
    assert blob_key(result.hash) == f"{result.hash[:2]}/{result.hash[2:4]}/{result.hash}"
    with cas.retrieve(result.hash) as reader:
        assert reader.read() == b"hello world"
    assert cas.exists(result.hash)
    entry = cas.stat(result.hash)
    assert (entry.size, entry.refs, entry.pinned, entry.state) == (11, 1, False, State.LIVE)


def test_storing_existing_content_adds_a_reference_and_writes_nothing(index: Index) -> None:
    store = CountingStore(MemoryDriver())
    cas = CAS(store, index=index)
    first = cas.store(b"x" * 1000)
    again = cas.store(io.BytesIO(b"x" * 1000))
    assert (first.written, again.written) == (True, False)
    assert first.hash == again.hash
    assert sum(store.puts.values()) == 1
    assert cas.stat(first.hash).refs == 2


def test_a_long_stream_is_hashed_while_written_to_a_temporary_key(index: Index) -> None:
    store = CountingStore(MemoryDriver())
    cas = CAS(store, index=index, spool_limit=64 * 1024)
    data = os.urandom(300 * 1024)
    first = cas.store(io.BytesIO(data))
    second = cas.store(iter([data[:100_000], data[100_000:]]))
    assert first.hash == second.hash == hash_bytes("blake3", data)
    assert (first.written, second.written) == (True, False)
    temporaries = [k for k in store.puts if k.startswith(TEMP_PREFIX)]
    assert len(temporaries) == 2  # each stream was spooled to a temporary key ...
    assert store.copies == 1  # ... and only the new content was copied to its address
    assert blob_keys(cas) == [blob_key(first.hash)]  # the temporaries are gone
    assert cas.read(first.hash) == data


def test_empty_content(cas: CAS) -> None:
    result = cas.store(b"")
    assert cas.read(result.hash) == b""
    assert cas.stat(result.hash).size == 0


def test_release_pin_and_unpin(cas: CAS) -> None:
    digest = cas.store(b"abc").hash
    cas.store(b"abc")
    assert cas.release(digest) == 1
    assert cas.release(digest) == 0
    with pytest.raises(NoReferences):
        cas.release(digest)
    cas.pin(digest)
    assert cas.stat(digest).pinned
    assert cas.gc().deleted == 0  # pinned: kept with no reference
    cas.unpin(digest)
    result = cas.gc()
    assert (result.scanned, result.deleted, result.freed_bytes, result.errors) == (1, 1, 3, [])
    assert not cas.exists(digest)
    assert blob_keys(cas) == []
    for operation in (cas.release, cas.pin, cas.unpin, cas.stat, cas.retrieve):
        with pytest.raises(HashNotFound):
            operation(digest)


def test_gc_keeps_referenced_content_and_waits_for_the_grace_period(index: Index) -> None:
    cas = CAS(MemoryDriver(), index=index, grace_period=0.3)
    kept = cas.store(b"kept").hash
    dropped = cas.store(b"dropped").hash
    cas.release(dropped)
    assert cas.gc().deleted == 0  # released just now
    time.sleep(0.35)
    result = cas.gc()
    assert result.deleted == 1
    assert cas.exists(kept)
    assert not cas.exists(dropped)
    assert cas.index.stats().entries == 1


def test_owner_references_are_released_together_and_only_once(cas: CAS) -> None:
    a = cas.store(b"a", owner="obj_1").hash
    cas.store(b"a", owner="obj_1")
    b = cas.store(b"b", owner="obj_1").hash
    cas.store(b"b", owner="obj_2")
    cas.store(b"b")
    assert cas.release_owner("obj_1") == 3
    assert cas.release_owner("obj_1") == 0
    assert (cas.stat(a).refs, cas.stat(b).refs) == (0, 2)
    assert cas.release_owner("obj_2") == 1
    assert cas.stat(b).refs == 1


def test_corruption_is_detected_on_retrieve(cas: CAS, blob_driver: MemoryDriver) -> None:
    digest = cas.store(b"precious bytes" * 1000).hash
    blob_driver.put(cas.bucket, blob_key(digest), b"precious bytez" * 1000)
    with cas.retrieve(digest) as reader:
        reader.read(4096)  # no complaint before the end ...
        with pytest.raises(ChecksumMismatch):
            reader.read()  # ... the read that reaches it raises
    with pytest.raises(ChecksumMismatch):
        cas.read(digest)
    blob_driver.put(cas.bucket, blob_key(digest), b"precious bytes" * 999)  # truncated
    with pytest.raises(ChecksumMismatch):
        cas.read(digest)


def test_sweep_deletes_unindexed_blobs_and_stale_temporaries_after_the_grace_period(index: Index) -> None:
    driver = MemoryDriver()
    cas = CAS(driver, index=index, grace_period=0.3)
    kept = cas.store(b"indexed").hash
    orphan = hash_bytes("blake3", b"orphan")
    driver.put(cas.bucket, blob_key(orphan), b"orphan")
    driver.put(cas.bucket, f"{TEMP_PREFIX}abandoned", b"half an upload")
    driver.put(cas.bucket, "README", b"not ours")
    assert cas.sweep_orphans().orphans == 0  # too young
    time.sleep(0.35)
    result = cas.sweep_orphans()
    assert (result.scanned, result.orphans, result.temporaries, result.errors) == (4, 1, 1, [])
    assert sorted(blob_keys(cas)) == sorted([blob_key(kept), "README"])
    assert cas.index.stats().entries == 1


def test_rebuild_index_from_the_stored_blobs(blob_driver: MemoryDriver, tmp_path: Path) -> None:
    old = CAS(blob_driver, index=MemoryIndex())
    a = old.store(b"alpha").hash
    b = old.store(b"beta").hash
    c = old.store(b"gamma").hash
    blob_driver.put(old.bucket, blob_key(c), b"gamm4")  # rotted while the index was lost
    cas = CAS(blob_driver, index=SQLiteIndex(tmp_path / "new.sqlite"), grace_period=0.0)
    result = cas.rebuild_index({a: 2}, verify=True)
    assert (result.scanned, result.added, result.corrupt) == (3, 2, [c])
    assert (cas.stat(a).refs, cas.stat(b).refs) == (2, 0)
    assert not cas.exists(c)
    assert cas.rebuild_index(verify=True).added == 0  # idempotent
    assert cas.gc().deleted == 1  # b: no reference restored
    assert cas.sweep_orphans().orphans == 1  # the rotten blob
    assert blob_keys(cas) == [blob_key(a)]
    assert cas.read(a) == b"alpha"
    cas.close()


def test_hash_algorithms() -> None:
    driver = MemoryDriver()
    sha = CAS(driver, index=MemoryIndex(), bucket="sha", algorithm="sha256")
    digest = sha.store(b"abc").hash
    assert digest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    with pytest.raises(ValueError, match="not collision-resistant"):
        CAS(driver, index=MemoryIndex(), bucket="xxh", algorithm="xxh3")
    xx = CAS(driver, index=MemoryIndex(), bucket="xxh", algorithm="xxh3", allow_non_cryptographic=True)
    quick = xx.store(b"abc").hash
    assert len(quick) == 32
    assert xx.read(quick) == b"abc"
    with pytest.raises(ValueError, match="unknown checksum algorithm"):
        CAS(driver, index=MemoryIndex(), algorithm="md5")


@pytest.mark.parametrize("bad", ["../../etc/passwd", "AB" * 32 + "x", "ab", "g" * 64, ""])
def test_malformed_hashes_never_become_keys(bad: str) -> None:
    cas = CAS(MemoryDriver(), index=MemoryIndex())
    for operation in (cas.retrieve, cas.exists, cas.pin, cas.release, cas.stat):
        with pytest.raises(ValueError):
            operation(bad)


def test_upper_case_hashes_are_accepted(cas: CAS) -> None:
    digest = cas.store(b"case").hash
    assert cas.read(digest.upper()) == b"case"


def test_an_index_serves_one_bucket_and_one_algorithm(index: Index) -> None:
    driver = MemoryDriver()
    CAS(driver, index=index, bucket="one")
    with pytest.raises(IndexMismatch):
        CAS(driver, index=index, bucket="two")
    with pytest.raises(IndexMismatch):
        CAS(driver, index=index, bucket="one", algorithm="sha256")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_migrations_are_versioned_and_applied_once(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    location = str(tmp_path / "m.sqlite") if kind == "sqlite" else request.getfixturevalue("pg_url")
    spec = IndexSpec(kind, location)
    first = spec.open()
    second = spec.open()  # reopening finds the schema current and changes nothing
    for index in (first, second):
        assert index.schema_version == 1  # type: ignore[attr-defined]
        index.close()


def test_cas_opens_an_index_from_a_location(tmp_path: Path) -> None:
    with CAS(MemoryDriver(), index=f"sqlite://{tmp_path / 'x.sqlite'}") as cas:
        assert cas.read(cas.store(b"located").hash) == b"located"
    with CAS(MemoryDriver(), index="memory:") as cas:
        assert cas.store(b"m").written


def test_a_failed_write_leaves_no_entry(index: Index) -> None:
    class Failing(CountingStore):
        def put(self, bucket: str, key: str, data: PutBody) -> ObjectInfo:
            raise OSError("disk full")

    cas = CAS(Failing(MemoryDriver()), index=index)
    with pytest.raises(OSError, match="disk full"):
        cas.store(b"doomed")
    assert cas.index.stats().entries == 0
