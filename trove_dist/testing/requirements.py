"""Skip — visibly, with the reason — what a driver does not claim to do.

A capability a driver lacks, or a ``Limitation`` it declares, must show up in the test report as
a skip naming the driver and the missing piece; it must never turn into a silent pass.
"""

from __future__ import annotations

import pytest

from trove_dist.driver.base import Driver, Limitation
from trove_dist.driver.capabilities import (
    ConditionalDriver,
    LifecycleDriver,
    MultipartDriver,
    NotificationDriver,
    PresignDriver,
    RangeDriver,
    ServerCopyDriver,
    VersioningDriver,
    capabilities_of,
)


def skip_missing(driver: Driver, capability: str) -> None:
    """Skip the running test unless ``driver`` implements ``capability`` (a ``CAPABILITIES`` name)."""
    if capability not in capabilities_of(driver):
        pytest.skip(f"{driver.name} does not implement {capability}")


def skip_limited(driver: Driver, limitation: Limitation) -> None:
    if limitation in driver.limitations:
        pytest.skip(f"{driver.name} declares Limitation.{limitation.name}: {limitation.value}")


# One function per protocol: mypy cannot pass a Protocol class where ``type[T]`` is expected.


def need_range(driver: Driver) -> RangeDriver:
    if not isinstance(driver, RangeDriver):
        pytest.skip(f"{driver.name} does not implement range")
    return driver


def need_server_copy(driver: Driver) -> ServerCopyDriver:
    if not isinstance(driver, ServerCopyDriver):
        pytest.skip(f"{driver.name} does not implement server_copy")
    return driver


def need_conditional(driver: Driver) -> ConditionalDriver:
    if not isinstance(driver, ConditionalDriver):
        pytest.skip(f"{driver.name} does not implement conditional")
    return driver


def need_multipart(driver: Driver) -> MultipartDriver:
    if not isinstance(driver, MultipartDriver):
        pytest.skip(f"{driver.name} does not implement multipart")
    return driver


def need_presign(driver: Driver) -> PresignDriver:
    if not isinstance(driver, PresignDriver):
        pytest.skip(f"{driver.name} does not implement presign")
    return driver


def need_versioning(driver: Driver) -> VersioningDriver:
    if not isinstance(driver, VersioningDriver):
        pytest.skip(f"{driver.name} does not implement versioning")
    return driver


def need_lifecycle(driver: Driver) -> LifecycleDriver:
    if not isinstance(driver, LifecycleDriver):
        pytest.skip(f"{driver.name} does not implement lifecycle")
    return driver


def need_notification(driver: Driver) -> NotificationDriver:
    if not isinstance(driver, NotificationDriver):
        pytest.skip(f"{driver.name} does not implement notification")
    return driver
