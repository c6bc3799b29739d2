"""``VersioningDriver``: every write keeps the previous version, listable, readable, restorable."""

from __future__ import annotations

import pytest

from trove_dist.driver.base import Driver
from trove_dist.errors import ObjectNotFound, VersionNotFound
from trove_dist.testing.harness import ConformanceBase, read_all
from trove_dist.testing.operations import FAKE_VERSION_ID
from trove_dist.testing.requirements import need_versioning


class VersioningTests(ConformanceBase):
    def test_versioning_is_off_until_enabled(self, driver: Driver, bucket: str) -> None:
        versioning = need_versioning(driver)
        assert versioning.get_versioning(bucket) is False
        versioning.set_versioning(bucket, True)
        assert versioning.get_versioning(bucket) is True
        versioning.set_versioning(bucket, False)
        assert versioning.get_versioning(bucket) is False

    def test_versions_are_listed_and_readable(self, driver: Driver, bucket: str) -> None:
        versioning = need_versioning(driver)
        versioning.set_versioning(bucket, True)
        v1 = driver.put(bucket, "k", b"version one")
        v2 = driver.put(bucket, "k", b"version two")
        assert v1.version_id
        assert v2.version_id
        assert v1.version_id != v2.version_id
        versions = [v for v in versioning.list_versions(bucket) if v.key == "k"]
        assert {v.version_id for v in versions} == {v1.version_id, v2.version_id}
        assert [v.version_id for v in versions if v.is_latest] == [v2.version_id]
        with versioning.get_version(bucket, "k", v1.version_id) as reader:
            assert reader.read() == b"version one"
        assert read_all(driver, bucket, "k") == b"version two"

    def test_list_versions_with_prefix(self, driver: Driver, bucket: str) -> None:
        versioning = need_versioning(driver)
        versioning.set_versioning(bucket, True)
        for key in ("a/1", "a/1", "b/1"):
            driver.put(bucket, key, b"x")
        assert sorted(v.key for v in versioning.list_versions(bucket, "a/")) == ["a/1", "a/1"]

    def test_delete_leaves_a_marker_and_keeps_versions(self, driver: Driver, bucket: str) -> None:
        versioning = need_versioning(driver)
        versioning.set_versioning(bucket, True)
        v1 = driver.put(bucket, "k", b"version one")
        assert v1.version_id
        driver.delete(bucket, "k")
        with pytest.raises(ObjectNotFound):
            driver.get(bucket, "k")
        versions = [v for v in versioning.list_versions(bucket) if v.key == "k"]
        latest = [v for v in versions if v.is_latest]
        assert len(latest) == 1
        assert latest[0].is_delete_marker
        with versioning.get_version(bucket, "k", v1.version_id) as reader:
            assert reader.read() == b"version one"

    def test_restore_version(self, driver: Driver, bucket: str) -> None:
        versioning = need_versioning(driver)
        versioning.set_versioning(bucket, True)
        v1 = driver.put(bucket, "k", b"version one")
        driver.put(bucket, "k", b"version two")
        assert v1.version_id
        restored = versioning.restore_version(bucket, "k", v1.version_id)
        assert restored.key == "k"
        assert restored.size == len(b"version one")
        assert read_all(driver, bucket, "k") == b"version one"

    def test_delete_version(self, driver: Driver, bucket: str) -> None:
        versioning = need_versioning(driver)
        versioning.set_versioning(bucket, True)
        v1 = driver.put(bucket, "k", b"version one")
        driver.put(bucket, "k", b"version two")
        assert v1.version_id
        versioning.delete_version(bucket, "k", v1.version_id)
        with pytest.raises(VersionNotFound):
            versioning.get_version(bucket, "k", v1.version_id)
        assert v1.version_id not in {v.version_id for v in versioning.list_versions(bucket)}
        assert read_all(driver, bucket, "k") == b"version two"

    def test_unknown_version_raises_version_not_found(self, driver: Driver, bucket: str) -> None:
        versioning = need_versioning(driver)
        versioning.set_versioning(bucket, True)
        driver.put(bucket, "k", b"x")
        with pytest.raises(VersionNotFound):
            versioning.get_version(bucket, "k", FAKE_VERSION_ID)
        with pytest.raises(VersionNotFound):
            versioning.restore_version(bucket, "k", FAKE_VERSION_ID)
