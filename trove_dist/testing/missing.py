"""Missing things raise the condition's class — ``BucketNotFound``, ``ObjectNotFound`` — on
every operation, so callers can catch the condition rather than a vendor error."""

from __future__ import annotations

import pytest

from trove_dist.driver.base import Driver
from trove_dist.errors import BucketNotFound, ObjectNotFound
from trove_dist.testing.harness import BucketFactory, ConformanceBase, keys_in
from trove_dist.testing.operations import Operation, Target, pick
from trove_dist.testing.requirements import skip_missing

MISSING_BUCKET_OPERATIONS = pick(
    "put",
    "put_stream",
    "get",
    "get_ranged",
    "head",
    "exists",
    "delete",
    "copy_from",
    "copy_to",
    "delete_bucket",
    "delete_bucket_force",
    "list",
    "iter_list",
    "get_range",
    "server_copy_from",
    "server_copy_to",
    "delete_if_match",
    "initiate_multipart",
    "list_multipart_uploads",
    "set_versioning",
    "get_versioning",
    "list_versions",
    "get_lifecycle",
    "set_lifecycle",
)

MISSING_OBJECT_OPERATIONS = pick("get", "get_ranged", "head", "copy_from", "get_range", "server_copy_from")


class MissingTests(ConformanceBase):
    @pytest.mark.parametrize("op", MISSING_BUCKET_OPERATIONS, ids=repr)
    def test_missing_bucket_raises_bucket_not_found(
        self, driver: Driver, new_bucket: BucketFactory, op: Operation
    ) -> None:
        if op.capability:
            skip_missing(driver, op.capability)
        good = new_bucket()
        driver.put(good, "good", b"good")
        missing = new_bucket.name("missing")
        with pytest.raises(BucketNotFound) as caught:
            op.run(driver, Target(missing, "some/key", good, "good"))
        assert caught.value.bucket == missing
        assert not driver.bucket_exists(missing), f"{op.name} on a missing bucket created it"
        assert keys_in(driver, good) == ["good"]

    def test_bucket_exists_is_false_for_missing_bucket(self, driver: Driver, new_bucket: BucketFactory) -> None:
        assert driver.bucket_exists(new_bucket.name("missing")) is False

    @pytest.mark.parametrize("op", MISSING_OBJECT_OPERATIONS, ids=repr)
    def test_missing_object_raises_object_not_found(self, driver: Driver, bucket: str, op: Operation) -> None:
        if op.capability:
            skip_missing(driver, op.capability)
        driver.put(bucket, "present", b"present")
        driver.put(bucket, "missing/child", b"a key *under* the missing one")
        with pytest.raises(ObjectNotFound) as caught:
            op.run(driver, Target(bucket, "missing", bucket, "present"))
        assert (caught.value.bucket, caught.value.key) == (bucket, "missing")
        assert sorted(keys_in(driver, bucket)) == ["missing/child", "present"]

    def test_missing_object_is_not_found_for_exists(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "prefix-of-nothing/x", b"x")
        assert driver.exists(bucket, "missing") is False
        assert driver.exists(bucket, "prefix-of-nothing") is False
        assert driver.exists(bucket, "prefix-of-nothing/") is False

    def test_not_found_errors_are_distinct(self, driver: Driver, bucket: str, new_bucket: BucketFactory) -> None:
        with pytest.raises(ObjectNotFound) as object_error:
            driver.head(bucket, "missing")
        assert not isinstance(object_error.value, BucketNotFound)
        with pytest.raises(BucketNotFound) as bucket_error:
            driver.head(new_bucket.name(), "missing")
        assert not isinstance(bucket_error.value, ObjectNotFound)
