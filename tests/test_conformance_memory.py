"""The driver conformance suite against the in-process memory driver."""

from __future__ import annotations

import pytest

from trove_dist.drivers.memory import MemoryDriver
from trove_dist.testing import DriverConformance, DriverFactory


class TestMemoryDriverConformance(DriverConformance):
    @pytest.fixture
    def driver_factory(self) -> DriverFactory:
        return MemoryDriver
