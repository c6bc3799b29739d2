"""The fixtures every conformance mixin builds on: a driver, and buckets that clean up after
themselves.

A third-party author overrides one fixture, ``driver_factory``: a callable returning a fresh
driver.  Everything else — bucket names, cleanup, capability checks — is the suite's job, so a
test only states what it checks.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator

import pytest

from trove_dist.driver.base import Driver
from trove_dist.driver.capabilities import MultipartDriver, VersioningDriver
from trove_dist.driver.models import ObjectInfo

DriverFactory = Callable[[], Driver]

MiB = 1024 * 1024


def unique_bucket_name(tag: str = "") -> str:
    """A valid bucket name no other test (or earlier run against a shared backend) uses."""
    return f"trove-ct-{tag}{'-' if tag else ''}{uuid.uuid4().hex[:16]}"


def payload(size: int, seed: int | str = 0) -> bytes:
    """Deterministic bytes that differ from seed to seed at every position worth checking."""
    return random.Random(str(seed)).randbytes(size)


def read_all(driver: Driver, bucket: str, key: str) -> bytes:
    with driver.get(bucket, key) as reader:
        return reader.read()


def keys_in(driver: Driver, bucket: str, prefix: str = "") -> list[str]:
    """Every key under ``prefix``, in listing order, walking all pages."""
    return [entry.key for entry in driver.iter_list(bucket, prefix=prefix) if isinstance(entry, ObjectInfo)]


def purge_bucket(driver: Driver, bucket: str) -> None:
    """Remove ``bucket`` with everything in it: versions, unfinished uploads, objects."""
    if not driver.bucket_exists(bucket):
        return
    if isinstance(driver, MultipartDriver):
        for upload in driver.list_multipart_uploads(bucket):
            driver.abort_multipart(bucket, upload.key, upload.upload_id)
    if isinstance(driver, VersioningDriver):
        for version in list(driver.list_versions(bucket)):
            if version.version_id is not None:
                driver.delete_version(bucket, version.key, version.version_id)
    driver.delete_bucket(bucket, force=True)


class BucketFactory:
    """Hands out unique bucket names and removes every one of them when the test ends."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver
        self._names: list[str] = []

    def __call__(self, tag: str = "") -> str:
        """A new, empty bucket."""
        name = self.name(tag)
        self._driver.create_bucket(name)
        return name

    def name(self, tag: str = "") -> str:
        """A fresh name, not created; removed at the end if the test creates it."""
        name = unique_bucket_name(tag)
        self._names.append(name)
        return name

    def cleanup(self) -> None:
        for name in reversed(self._names):
            purge_bucket(self._driver, name)


class ConformanceBase:
    """Fixtures shared by every conformance mixin; see ``DriverConformance``."""

    @pytest.fixture
    def driver_factory(self) -> DriverFactory:
        """Override in the subclass: return a callable that opens a fresh, empty driver."""
        raise NotImplementedError(
            f"{type(self).__name__} must override the driver_factory fixture with a callable returning a Driver"
        )

    @pytest.fixture
    def driver(self, driver_factory: DriverFactory) -> Iterator[Driver]:
        drv = driver_factory()
        assert isinstance(drv, Driver), f"driver_factory returned {drv!r}, not a trove_dist Driver"
        try:
            yield drv
        finally:
            drv.close()

    @pytest.fixture
    def new_bucket(self, driver: Driver) -> Iterator[BucketFactory]:
        factory = BucketFactory(driver)
        yield factory
        factory.cleanup()

    @pytest.fixture
    def bucket(self, new_bucket: BucketFactory) -> str:
        """An empty bucket that exists for the duration of the test."""
        return new_bucket()
