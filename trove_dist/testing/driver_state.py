"""The driver object itself: it answers ``ping``, reports what it can do, and once closed
refuses every operation with ``DriverClosed``."""

from __future__ import annotations

import pytest

from trove_dist.driver.base import Driver, Limitation
from trove_dist.driver.capabilities import CAPABILITIES, capabilities_of
from trove_dist.errors import DriverClosed
from trove_dist.testing.harness import ConformanceBase, DriverFactory, unique_bucket_name
from trove_dist.testing.operations import ALL_OPERATIONS, Operation, Target
from trove_dist.testing.requirements import skip_missing


class DriverStateTests(ConformanceBase):
    def test_ping(self, driver: Driver) -> None:
        driver.ping()

    def test_name_and_declarations(self, driver: Driver) -> None:
        assert isinstance(driver.name, str)
        assert driver.name
        assert repr(driver)
        assert all(isinstance(limit, Limitation) for limit in driver.limitations)
        assert all(isinstance(scheme, str) and scheme == scheme.lower() for scheme in type(driver).schemes)

    def test_capabilities_of_matches_the_protocols(self, driver: Driver) -> None:
        claimed = capabilities_of(driver)
        assert claimed == [name for name, proto in CAPABILITIES.items() if isinstance(driver, proto)]
        for name in claimed:  # a claimed capability has real methods, not placeholders
            for method in _protocol_methods(CAPABILITIES[name]):
                assert callable(getattr(driver, method)), f"{driver.name} claims {name} but {method} is not callable"

    def test_close_is_idempotent_and_context_manager_closes(self, driver_factory: DriverFactory) -> None:
        with driver_factory() as drv:
            drv.ping()
        with pytest.raises(DriverClosed):
            drv.ping()
        drv.close()
        drv.close()

    @pytest.mark.parametrize("op", ALL_OPERATIONS, ids=repr)
    def test_closed_driver_refuses_every_operation(self, driver_factory: DriverFactory, op: Operation) -> None:
        drv = driver_factory()
        drv.close()
        if op.capability:
            skip_missing(drv, op.capability)
        with pytest.raises(DriverClosed):
            op.run(drv, Target(unique_bucket_name(), "key", unique_bucket_name(), "good"))

    def test_closed_driver_refuses_bucket_listing(self, driver_factory: DriverFactory) -> None:
        drv = driver_factory()
        drv.close()
        with pytest.raises(DriverClosed):
            drv.list_buckets()
        with pytest.raises(DriverClosed):
            drv.ping()


def _protocol_methods(proto: type) -> list[str]:
    return [name for name, value in vars(proto).items() if callable(value) and not name.startswith("_")]
