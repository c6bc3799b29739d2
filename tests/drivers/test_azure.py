"""The Azure driver against Azurite (Azure's blob-service emulator, a real HTTP server)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.azure import AzuriteServer, azurite_server
from trove_dist.driver.registry import open_driver
from trove_dist.testing import DriverConformance, DriverFactory


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    with azurite_server(tmp_path_factory.mktemp("azurite")) as server:
        yield server


class TestAzureConformance(DriverConformance):
    @pytest.fixture
    def driver_factory(self, azurite: AzuriteServer) -> DriverFactory:
        return lambda: open_driver(azurite.dsn())
