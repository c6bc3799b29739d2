"""The driver conformance suite against the local filesystem driver."""

from __future__ import annotations

from pathlib import Path

import pytest

from trove_dist.drivers.local import LocalDriver
from trove_dist.testing import DriverConformance, DriverFactory


class TestLocalDriverConformance(DriverConformance):
    @pytest.fixture
    def driver_factory(self, tmp_path: Path) -> DriverFactory:
        return lambda: LocalDriver(root=tmp_path)
