from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cas.support import IndexSpec, create_database, drop_database, ensure_postgres
from trove_dist.cas import CAS, Index, MemoryIndex
from trove_dist.drivers.local import LocalDriver
from trove_dist.drivers.memory import MemoryDriver


@pytest.fixture(scope="session")
def postgres() -> None:
    ensure_postgres()


@pytest.fixture
def pg_url(postgres: None) -> Iterator[str]:
    url = create_database()
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def index_spec(request: pytest.FixtureRequest, tmp_path: Path) -> IndexSpec:
    if request.param == "memory":
        return IndexSpec("memory", "")
    if request.param == "sqlite":
        return IndexSpec("sqlite", str(tmp_path / "cas.sqlite"))
    return IndexSpec("postgres", request.getfixturevalue("pg_url"))


@pytest.fixture
def index(index_spec: IndexSpec) -> Iterator[Index]:
    opened: Index = MemoryIndex() if index_spec.kind == "memory" else index_spec.open()
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(params=["memory", "local"])
def blob_driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MemoryDriver | LocalDriver]:
    driver = MemoryDriver() if request.param == "memory" else LocalDriver(tmp_path / "blobs", durable=False)
    try:
        yield driver
    finally:
        driver.close()


@pytest.fixture
def cas(blob_driver: MemoryDriver | LocalDriver, index: Index) -> CAS:
    return CAS(blob_driver, index=index, grace_period=0.0, spool_limit=64 * 1024)
