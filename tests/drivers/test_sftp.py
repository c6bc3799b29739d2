"""The SFTP driver against a real OpenSSH sshd (tests/servers/sftp.py), chrooted, on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.sftp import SFTPServer, sftp_server
from trove_dist.driver.registry import open_driver
from trove_dist.testing import DriverConformance, DriverFactory


@pytest.fixture(scope="session")
def sftp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SFTPServer]:
    with sftp_server(tmp_path_factory.mktemp("sshd")) as server:
        yield server


# ---- the conformance suite ------------------------------------------------------------------


class TestSFTPConformance(DriverConformance):
    """The whole suite against sshd, 256 MiB large-object cases included (about 2 s each way)."""

    @pytest.fixture
    def driver_factory(self, sftp: SFTPServer) -> DriverFactory:
        return lambda: open_driver(sftp.dsn())
