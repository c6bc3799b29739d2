"""The stores the VFS tests run against.

Adding a backend is one entry in ``BACKENDS``: a name and a function that opens a fresh store
(from the session's server, when it needs one).  A backend whose server cannot run here (not
installed, no root for sshd) is skipped with the reason, never silently dropped.  Each test gets
its own bucket, so backends whose server lives for the whole session start every test empty.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from trove_dist.driver.registry import open_driver
from trove_dist.drivers.local import LocalDriver
from trove_dist.drivers.memory import MemoryDriver
from trove_dist.trove import Trove
from trove_dist.vfs import VFS, BucketStorage
from trove_dist.vfs.fsspec_fs import register

register(clobber=True)  # until the package's fsspec entry point is installed

#: Opens a store for one test; ``request`` reaches the session's servers.
Opener = Callable[[pytest.FixtureRequest], BucketStorage]


def _memory(request: pytest.FixtureRequest) -> BucketStorage:
    return MemoryDriver()


def _local(request: pytest.FixtureRequest) -> BucketStorage:
    tmp_path: Path = request.getfixturevalue("tmp_path")
    return LocalDriver(tmp_path / "store", durable=False)


def _trove(request: pytest.FixtureRequest) -> BucketStorage:
    """The facade itself (routing, checksums, verified reads) over a memory driver."""
    return Trove(MemoryDriver(), verify=True)


def _server(fixture: str) -> Opener:
    def opener(request: pytest.FixtureRequest) -> BucketStorage:
        dsn: str = request.getfixturevalue(fixture)
        return open_driver(dsn)

    return opener


BACKENDS: dict[str, Opener] = {
    "memory": _memory,
    "local": _local,
    "trove": _trove,
    "s3": _server("s3_dsn"),
    "gcs": _server("gcs_dsn"),
    "azure": _server("azure_dsn"),
    "sftp": _server("sftp_dsn"),
}
#: What the fsspec suite and the quick tests run on: in-process, no server.
LOCAL_BACKENDS = ("memory", "local")

#: Where a test server differs from the service it stands in for.  Those cases are expected
#: failures, strict, so that a server release which closes the gap is noticed.
SERVER_GAPS: dict[str, dict[str, str]] = {
    "gcs": {
        "test_set_metadata_keeps_the_content_and_content_type": (
            "gcp-storage-emulator's rewrite keeps the source's metadata and ignores the destination "
            "resource in the request (GCS applies it); tests/drivers/test_gcs*.py check the request"
        ),
    },
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or here not in item.path.parents:
            continue
        backend = callspec.params.get("store")
        reason = SERVER_GAPS.get(str(backend), {}).get(getattr(item, "originalname", item.name))
        if reason is not None:
            item.add_marker(pytest.mark.xfail(strict=True, reason=reason))


# ---- servers, one per session, started only if a test asks for them -------------------------


@pytest.fixture(scope="session")
def s3_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    servers = pytest.importorskip("tests.servers.s3", reason="the S3 test server helper is not there")
    if not Path(sys.executable).with_name("moto_server").exists():
        pytest.skip("moto_server is not installed")
    with servers.moto_server(tmp_path_factory.mktemp("moto")) as server:
        yield server.dsn()


@pytest.fixture(scope="session")
def gcs_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    servers = pytest.importorskip("tests.servers.gcs", reason="the GCS test server helper is not there")
    pytest.importorskip("gcp_storage_emulator", reason="gcp-storage-emulator is not installed")
    with servers.gcs_emulator(tmp_path_factory.mktemp("gcs")) as server:
        yield server.dsn()


@pytest.fixture(scope="session")
def azure_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    servers = pytest.importorskip("tests.servers.azure", reason="the Azure test server helper is not there")
    if not servers.azurite_available():
        pytest.skip("Azurite is not installed (scripts/install-test-servers)")
    with servers.azurite_server(tmp_path_factory.mktemp("azurite")) as server:
        yield server.dsn()


@pytest.fixture(scope="session")
def sftp_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    servers = pytest.importorskip("tests.servers.sftp", reason="the SFTP test server helper is not there")
    if os.geteuid() != 0 or not Path(servers.SSHD).exists() or shutil.which("useradd") is None:
        pytest.skip("the SFTP test server needs root and OpenSSH's sshd")
    with servers.sftp_server(tmp_path_factory.mktemp("sshd")) as server:
        yield server.dsn()


# ---- what the tests use -----------------------------------------------------------------------


def _open_store(request: pytest.FixtureRequest, name: str) -> Iterator[tuple[BucketStorage, str]]:
    store = BACKENDS[name](request)
    bucket = f"vfs-{secrets.token_hex(4)}"
    store.create_bucket(bucket)
    try:
        yield store, bucket
    finally:
        try:
            store.delete_bucket(bucket, force=True)
        finally:
            close: Any = getattr(store, "close", None)
            if close is not None:
                close()


@pytest.fixture(params=list(BACKENDS))
def store(request: pytest.FixtureRequest) -> Iterator[tuple[BucketStorage, str]]:
    """A store from every backend, with an empty bucket."""
    yield from _open_store(request, request.param)


@pytest.fixture(params=LOCAL_BACKENDS)
def local_store(request: pytest.FixtureRequest) -> Iterator[tuple[BucketStorage, str]]:
    """A store from the in-process backends only (for what does not depend on the backend)."""
    yield from _open_store(request, request.param)


@pytest.fixture
def vfs(store: tuple[BucketStorage, str]) -> VFS:
    return VFS(*store)


@pytest.fixture
def local_vfs(local_store: tuple[BucketStorage, str]) -> VFS:
    return VFS(*local_store)
