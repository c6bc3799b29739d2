"""Objects: put, get, overwrite, head, delete, and what the returned ``ObjectInfo`` says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from trove_dist.driver.base import Driver
from trove_dist.driver.models import ObjectInfo
from trove_dist.errors import ObjectNotFound
from trove_dist.testing.harness import ConformanceBase, keys_in, payload, read_all

#: How far a backend's clock may be from ours before ``last_modified`` is called wrong.
CLOCK_SLACK = timedelta(minutes=15)


class ObjectTests(ConformanceBase):
    def test_put_then_get_round_trips(self, driver: Driver, bucket: str) -> None:
        data = payload(100_000, "round-trip")
        driver.put(bucket, "obj", data)
        assert read_all(driver, bucket, "obj") == data

    def test_put_returns_info_describing_the_object(self, driver: Driver, bucket: str) -> None:
        data = payload(4321, "info")
        before = datetime.now(UTC)
        info = driver.put(bucket, "dir/obj.bin", data)
        assert (info.bucket, info.key, info.size) == (bucket, "dir/obj.bin", len(data))
        assert isinstance(info.etag, str)
        assert info.etag
        assert info.last_modified.tzinfo is not None, "last_modified must be timezone-aware"
        assert before - CLOCK_SLACK <= info.last_modified <= datetime.now(UTC) + CLOCK_SLACK
        assert info.is_latest
        assert not info.is_delete_marker

    def test_head_matches_put(self, driver: Driver, bucket: str) -> None:
        put = driver.put(bucket, "obj", b"head me", content_type="text/x-test", metadata={"color": "blue"})
        head = driver.head(bucket, "obj")
        assert _summary(head) == _summary(put)
        assert head.last_modified.tzinfo is not None, "last_modified must be timezone-aware"

    def test_reader_info_matches_head(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "obj", b"read me", metadata={"m": "1"})
        with driver.get(bucket, "obj") as reader:
            assert _summary(reader.info) == _summary(driver.head(bucket, "obj"))
            assert (reader.offset, reader.length) == (0, 7)
            assert reader.read() == b"read me"

    def test_reader_reads_in_chunks_and_into_buffers(self, driver: Driver, bucket: str) -> None:
        data = payload(10_000, "chunks")
        driver.put(bucket, "obj", data)
        with driver.get(bucket, "obj") as reader:
            assert reader.readable()
            first = reader.read(1000)
            buffer = bytearray(3000)
            n = reader.readinto(buffer)
            rest = b"".join(reader.iter_chunks(4096))
            assert reader.read() == b""
        assert first + bytes(buffer[:n]) + rest == data
        assert reader.closed

    def test_overwrite_replaces_content_and_info(self, driver: Driver, bucket: str) -> None:
        first = driver.put(bucket, "obj", b"first version", metadata={"v": "1"})
        second = driver.put(bucket, "obj", b"second, longer version")
        assert read_all(driver, bucket, "obj") == b"second, longer version"
        head = driver.head(bucket, "obj")
        assert head.size == len(b"second, longer version")
        assert head.etag == second.etag != first.etag
        assert dict(head.metadata) == {}, "an overwrite without metadata must not keep the old metadata"
        assert keys_in(driver, bucket) == ["obj"]

    def test_overwrite_with_shorter_content_truncates(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "obj", payload(50_000, "long"))
        driver.put(bucket, "obj", b"short")
        assert read_all(driver, bucket, "obj") == b"short"
        assert driver.head(bucket, "obj").size == 5

    def test_zero_byte_object(self, driver: Driver, bucket: str) -> None:
        info = driver.put(bucket, "empty", b"")
        assert info.size == 0
        assert driver.head(bucket, "empty").size == 0
        assert read_all(driver, bucket, "empty") == b""
        assert driver.exists(bucket, "empty")
        assert keys_in(driver, bucket) == ["empty"]

    def test_exists(self, driver: Driver, bucket: str) -> None:
        assert not driver.exists(bucket, "obj")
        driver.put(bucket, "obj", b"x")
        assert driver.exists(bucket, "obj")
        assert not driver.exists(bucket, "ob")
        assert not driver.exists(bucket, "obj2")

    def test_delete_removes_the_object(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "obj", b"x")
        driver.put(bucket, "other", b"y")
        driver.delete(bucket, "obj")
        with pytest.raises(ObjectNotFound):
            driver.head(bucket, "obj")
        with pytest.raises(ObjectNotFound):
            driver.get(bucket, "obj")
        assert keys_in(driver, bucket) == ["other"]
        assert read_all(driver, bucket, "other") == b"y"

    def test_delete_is_idempotent(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "obj", b"x")
        driver.delete(bucket, "obj")
        driver.delete(bucket, "obj")
        driver.delete(bucket, "never/existed")
        assert keys_in(driver, bucket) == []

    def test_put_after_delete(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "obj", b"old")
        driver.delete(bucket, "obj")
        driver.put(bucket, "obj", b"new")
        assert read_all(driver, bucket, "obj") == b"new"

    def test_etag_is_stable_across_put_head_get_and_list(self, driver: Driver, bucket: str) -> None:
        etag = driver.put(bucket, "obj", b"stable").etag
        assert driver.head(bucket, "obj").etag == etag
        assert driver.head(bucket, "obj").etag == etag
        with driver.get(bucket, "obj") as reader:
            assert reader.info.etag == etag
        (listed,) = driver.list(bucket).objects
        assert listed.etag == etag

    def test_etag_differs_for_different_content(self, driver: Driver, bucket: str) -> None:
        etags = {
            driver.put(bucket, "a", b"content one").etag,
            driver.put(bucket, "b", b"content two").etag,
            driver.put(bucket, "c", b"").etag,
            driver.put(bucket, "d", payload(1 << 16, "etag")).etag,
        }
        assert len(etags) == 4

    def test_listed_info_matches_head(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "obj", payload(777, "listed"))
        (listed,) = driver.list(bucket).objects
        head = driver.head(bucket, "obj")
        assert (listed.bucket, listed.key, listed.size, listed.etag) == (bucket, "obj", 777, head.etag)


def _summary(info: ObjectInfo) -> tuple[object, ...]:
    return (info.bucket, info.key, info.size, info.etag, info.content_type, dict(info.metadata), info.checksum)
