"""Azurite's blob service as a separate process on 127.0.0.1, for the Azure driver's tests and
benchmark.

Azurite comes from npm (``scripts/install-test-servers`` installs a version whose declared
Node engine matches the machine's).  It runs with ``--inMemoryPersistence``, which Azurite
refuses to combine with ``--location``; the process runs in a scratch working directory
instead, so nothing it might write lands in the repository.
"""

from __future__ import annotations

import contextlib
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from tests.servers.process import free_port, running

ACCOUNT = "devstoreaccount1"
#: Azurite's well-known development key (public, documented by Microsoft for the emulator).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
REPO = Path(__file__).resolve().parents[2]
AZURITE_BLOB = REPO / ".cache" / "azurite" / "node_modules" / ".bin" / "azurite-blob"


@dataclass(frozen=True)
class AzuriteServer:
    host: str
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.endpoint};"
        )

    def dsn(self, **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"tls": "false", **params}.items())
        return f"azure://{ACCOUNT}:{quote(ACCOUNT_KEY, safe='')}@{self.host}:{self.port}?{query}"


def azurite_available() -> bool:
    return AZURITE_BLOB.exists()


def _answers(endpoint: str) -> bool:
    """Azurite answers an unauthenticated list with 403: the service is up."""
    try:
        with urllib.request.urlopen(f"{endpoint}?comp=list", timeout=1) as response:
            return bool(response.status)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


@contextlib.contextmanager
def azurite_server(work_dir: Path) -> Iterator[AzuriteServer]:
    """Run Azurite's blob service on a free loopback port until the with-block ends."""
    if not azurite_available():
        raise RuntimeError(f"Azurite is not installed at {AZURITE_BLOB}: run scripts/install-test-servers")
    port = free_port()
    server = AzuriteServer("127.0.0.1", port)
    argv = [
        # Azurite's working directory is the scratch one (``env --chdir`` then execs it).
        "env",
        f"--chdir={work_dir}",
        str(AZURITE_BLOB),
        "--blobHost",
        server.host,
        "--blobPort",
        str(port),
        "--inMemoryPersistence",
        "--skipApiVersionCheck",
        "--disableTelemetry",
        "--silent",
    ]
    with running(
        argv,
        port=port,
        name="azurite-blob",
        log=work_dir / "azurite.log",
        ready=lambda: _answers(server.endpoint),
    ):
        yield server
