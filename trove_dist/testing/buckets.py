"""Buckets: create, exist, list, delete — empty, non-empty, forced."""

from __future__ import annotations

import pytest

from trove_dist.driver.base import Driver
from trove_dist.errors import BucketAlreadyExists, BucketNotEmpty, BucketNotFound
from trove_dist.testing.harness import BucketFactory, ConformanceBase, keys_in, read_all


class BucketTests(ConformanceBase):
    def test_created_bucket_exists_and_is_listed(self, driver: Driver, new_bucket: BucketFactory) -> None:
        name = new_bucket.name()
        assert not driver.bucket_exists(name)
        assert name not in [b.name for b in driver.list_buckets()]
        driver.create_bucket(name)
        assert driver.bucket_exists(name)
        assert [b.name for b in driver.list_buckets()].count(name) == 1

    def test_new_bucket_is_empty(self, driver: Driver, bucket: str) -> None:
        page = driver.list(bucket)
        assert (page.objects, page.common_prefixes, page.next_cursor) == ([], [], None)

    def test_list_buckets_is_sorted_by_name(self, driver: Driver, new_bucket: BucketFactory) -> None:
        made = {new_bucket("c"), new_bucket("a"), new_bucket("b")}
        names = [b.name for b in driver.list_buckets()]
        assert made <= set(names)
        assert names == sorted(names)

    def test_create_twice_raises_bucket_already_exists(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "keep", b"kept")
        with pytest.raises(BucketAlreadyExists):
            driver.create_bucket(bucket)
        assert read_all(driver, bucket, "keep") == b"kept"

    def test_create_twice_with_exist_ok_keeps_contents(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "keep", b"kept")
        driver.create_bucket(bucket, exist_ok=True)
        assert driver.bucket_exists(bucket)
        assert keys_in(driver, bucket) == ["keep"]

    def test_buckets_are_independent(self, driver: Driver, new_bucket: BucketFactory) -> None:
        one, two = new_bucket(), new_bucket()
        driver.put(one, "same-key", b"one")
        driver.put(two, "same-key", b"two")
        assert read_all(driver, one, "same-key") == b"one"
        assert read_all(driver, two, "same-key") == b"two"
        driver.delete(one, "same-key")
        assert read_all(driver, two, "same-key") == b"two"

    def test_delete_empty_bucket(self, driver: Driver, new_bucket: BucketFactory) -> None:
        name = new_bucket()
        driver.delete_bucket(name)
        assert not driver.bucket_exists(name)
        assert name not in [b.name for b in driver.list_buckets()]

    def test_delete_bucket_emptied_by_deletes(self, driver: Driver, new_bucket: BucketFactory) -> None:
        name = new_bucket()
        driver.put(name, "a/b", b"x")
        driver.delete(name, "a/b")
        driver.delete_bucket(name)
        assert not driver.bucket_exists(name)

    def test_delete_non_empty_bucket_raises_bucket_not_empty(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "deep/nested/key", b"x")
        with pytest.raises(BucketNotEmpty):
            driver.delete_bucket(bucket)
        assert driver.bucket_exists(bucket)
        assert read_all(driver, bucket, "deep/nested/key") == b"x"

    def test_delete_non_empty_bucket_with_force(self, driver: Driver, new_bucket: BucketFactory) -> None:
        name = new_bucket()
        keys = ["top", "dir/", "dir/file", "dir/sub/deeper", "z" * 200]
        for key in keys:
            driver.put(name, key, key.encode())
        driver.delete_bucket(name, force=True)
        assert not driver.bucket_exists(name)
        # The name is free again, and what comes back is empty: force really deleted the objects.
        driver.create_bucket(name)
        assert keys_in(driver, name) == []

    def test_delete_missing_bucket_raises_bucket_not_found(self, driver: Driver, new_bucket: BucketFactory) -> None:
        name = new_bucket.name()
        with pytest.raises(BucketNotFound):
            driver.delete_bucket(name)
        with pytest.raises(BucketNotFound):
            driver.delete_bucket(name, force=True)

    def test_deleted_bucket_rejects_object_operations(self, driver: Driver, new_bucket: BucketFactory) -> None:
        name = new_bucket()
        driver.delete_bucket(name)
        with pytest.raises(BucketNotFound):
            driver.put(name, "k", b"x")
        with pytest.raises(BucketNotFound):
            driver.list(name)
        assert not driver.bucket_exists(name)
