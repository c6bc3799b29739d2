"""Copy — within and across buckets, onto itself — and ``ServerCopyDriver.server_copy``."""

from __future__ import annotations

import pytest

from trove_dist.driver.base import Driver
from trove_dist.errors import BucketNotFound, ObjectNotFound
from trove_dist.testing.harness import BucketFactory, ConformanceBase, keys_in, payload, read_all
from trove_dist.testing.requirements import need_server_copy

DATA = payload(200_000, "copy")
META = {"origin": "source", "x-shared": "1"}


def _source(driver: Driver, bucket: str, key: str = "src.bin") -> None:
    driver.put(bucket, key, DATA, content_type="application/x-source", metadata=META)


class CopyTests(ConformanceBase):
    def test_copy_within_bucket_keeps_metadata_and_content_type(self, driver: Driver, bucket: str) -> None:
        _source(driver, bucket)
        info = driver.copy(bucket, "src.bin", bucket, "dst/copy.txt")
        assert (info.bucket, info.key, info.size) == (bucket, "dst/copy.txt", len(DATA))
        head = driver.head(bucket, "dst/copy.txt")
        assert read_all(driver, bucket, "dst/copy.txt") == DATA
        assert dict(head.metadata) == META
        assert head.content_type == "application/x-source", "copy must keep the type, not guess from the new key"
        assert head.etag == info.etag
        assert read_all(driver, bucket, "src.bin") == DATA, "the source must be intact"
        assert keys_in(driver, bucket) == ["dst/copy.txt", "src.bin"]

    def test_copy_across_buckets(self, driver: Driver, bucket: str, new_bucket: BucketFactory) -> None:
        other = new_bucket()
        _source(driver, bucket)
        driver.copy(bucket, "src.bin", other, "src.bin")
        assert read_all(driver, other, "src.bin") == DATA
        assert dict(driver.head(other, "src.bin").metadata) == META
        assert keys_in(driver, bucket) == ["src.bin"]
        assert keys_in(driver, other) == ["src.bin"]

    def test_copy_replaces_metadata_when_given(self, driver: Driver, bucket: str) -> None:
        _source(driver, bucket)
        driver.copy(bucket, "src.bin", bucket, "dst", metadata={"New-Name": "new"})
        assert dict(driver.head(bucket, "dst").metadata) == {"new-name": "new"}, "replaced and lowercased, not merged"
        assert dict(driver.head(bucket, "src.bin").metadata) == META

    def test_copy_with_empty_metadata_clears_it(self, driver: Driver, bucket: str) -> None:
        _source(driver, bucket)
        driver.copy(bucket, "src.bin", bucket, "dst", metadata={})
        assert dict(driver.head(bucket, "dst").metadata) == {}

    def test_copy_replaces_content_type_when_given(self, driver: Driver, bucket: str) -> None:
        _source(driver, bucket)
        driver.copy(bucket, "src.bin", bucket, "dst", content_type="text/x-new")
        head = driver.head(bucket, "dst")
        assert head.content_type == "text/x-new"
        assert dict(head.metadata) == META

    def test_copy_onto_itself_keeps_content_and_metadata(self, driver: Driver, bucket: str) -> None:
        _source(driver, bucket)
        driver.copy(bucket, "src.bin", bucket, "src.bin")
        assert read_all(driver, bucket, "src.bin") == DATA
        assert dict(driver.head(bucket, "src.bin").metadata) == META
        assert keys_in(driver, bucket) == ["src.bin"]

    def test_copy_onto_itself_replaces_metadata(self, driver: Driver, bucket: str) -> None:
        _source(driver, bucket)
        info = driver.copy(bucket, "src.bin", bucket, "src.bin", metadata={"rewritten": "yes"})
        assert read_all(driver, bucket, "src.bin") == DATA, "content must survive a copy onto itself"
        head = driver.head(bucket, "src.bin")
        assert dict(head.metadata) == {"rewritten": "yes"}
        assert head.size == info.size == len(DATA)
        assert head.content_type == "application/x-source"

    def test_copy_overwrites_destination(self, driver: Driver, bucket: str) -> None:
        _source(driver, bucket)
        driver.put(bucket, "dst", b"old destination", metadata={"old": "1"})
        driver.copy(bucket, "src.bin", bucket, "dst")
        assert read_all(driver, bucket, "dst") == DATA
        assert dict(driver.head(bucket, "dst").metadata) == META

    def test_copy_is_independent_of_its_source(self, driver: Driver, bucket: str) -> None:
        _source(driver, bucket)
        driver.copy(bucket, "src.bin", bucket, "dst")
        driver.put(bucket, "src.bin", b"source changed")
        driver.delete(bucket, "src.bin")
        assert read_all(driver, bucket, "dst") == DATA

    def test_copy_of_zero_byte_object(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "empty", b"")
        assert driver.copy(bucket, "empty", bucket, "empty2").size == 0
        assert read_all(driver, bucket, "empty2") == b""

    def test_copy_errors(self, driver: Driver, bucket: str, new_bucket: BucketFactory) -> None:
        _source(driver, bucket)
        missing = new_bucket.name("missing")
        with pytest.raises(ObjectNotFound):
            driver.copy(bucket, "absent", bucket, "dst")
        with pytest.raises(BucketNotFound):
            driver.copy(missing, "src.bin", bucket, "dst")
        with pytest.raises(BucketNotFound):
            driver.copy(bucket, "src.bin", missing, "dst")
        assert keys_in(driver, bucket) == ["src.bin"]
        assert not driver.bucket_exists(missing)

    # ---- ServerCopyDriver ---------------------------------------------------------------

    def test_server_copy_copies_and_keeps_metadata(
        self, driver: Driver, bucket: str, new_bucket: BucketFactory
    ) -> None:
        server = need_server_copy(driver)
        other = new_bucket()
        _source(driver, bucket)
        info = server.server_copy(bucket, "src.bin", other, "copy")
        assert (info.bucket, info.key, info.size) == (other, "copy", len(DATA))
        assert read_all(driver, other, "copy") == DATA
        head = driver.head(other, "copy")
        assert dict(head.metadata) == META
        assert head.content_type == "application/x-source"

    def test_server_copy_replaces_metadata_and_content_type(self, driver: Driver, bucket: str) -> None:
        server = need_server_copy(driver)
        _source(driver, bucket)
        server.server_copy(bucket, "src.bin", bucket, "src.bin", metadata={"Replaced": "yes"}, content_type="a/b")
        head = driver.head(bucket, "src.bin")
        assert read_all(driver, bucket, "src.bin") == DATA
        assert dict(head.metadata) == {"replaced": "yes"}, "metadata names are lowercased on every path"
        assert head.content_type == "a/b"

    def test_server_copy_errors(self, driver: Driver, bucket: str, new_bucket: BucketFactory) -> None:
        server = need_server_copy(driver)
        _source(driver, bucket)
        with pytest.raises(ObjectNotFound):
            server.server_copy(bucket, "absent", bucket, "dst")
        with pytest.raises(BucketNotFound):
            server.server_copy(bucket, "src.bin", new_bucket.name("missing"), "dst")
        assert keys_in(driver, bucket) == ["src.bin"]
