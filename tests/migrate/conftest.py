"""Real servers, a private Redis and real worker processes, shared by the migration tests.

Every server the pairs need is started once per session (moto, Azurite, the GCS emulator,
sshd), because the workers' environment must name them — credentials live only there, as in a
deployment: the DSNs the tests pass carry none.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.migrate.harness import MigrationWorkers
from tests.servers.azure import AzuriteServer, azurite_available, azurite_server
from tests.servers.gcs import GCSEmulator, gcs_emulator
from tests.servers.redis_server import RedisServer, redis_server
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY, MotoServer, moto_server
from tests.servers.sftp import SFTPServer, sftp_server

ENCRYPTION_KEY = os.urandom(32).hex()
AZURE_ENV = "TROVE_TEST_AZURE_CONNECTION"


@pytest.fixture(scope="session")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with moto_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer | None]:
    if not azurite_available():
        yield None  # the S3 -> Azure pair skips, saying why
        return
    with azurite_server(tmp_path_factory.mktemp("azurite")) as server:
        yield server


@pytest.fixture(scope="session")
def gcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GCSEmulator]:
    with gcs_emulator(tmp_path_factory.mktemp("gcs")) as server:
        yield server


@pytest.fixture(scope="session")
def sftp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SFTPServer]:
    with sftp_server(tmp_path_factory.mktemp("sftp")) as server:
        yield server


@pytest.fixture(scope="session")
def worker_env(
    redis: RedisServer, azurite: AzuriteServer | None, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """What a worker's (and the distributed CLI's) environment holds: the broker, the workers'
    TROVE_CONFIG, the key-encryption key and the stores' credentials."""
    env = {
        "TROVE_BROKER_URL": redis.url,
        "TROVE_CONFIG": "tests.migrate.worker_config:make_trove",
        "TROVE_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "TROVE_VISIBILITY_TIMEOUT": "10",
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    }
    if azurite is not None:
        env[AZURE_ENV] = azurite.connection_string
    return env


@pytest.fixture(scope="session")
def workers(worker_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigrationWorkers]:
    """One worker process (two pool processes) on both queues, as `workers/` roles would run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TROVE_")}
    env.update(worker_env)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    pool = MigrationWorkers(env, tmp_path_factory.mktemp("worker-logs"))
    pool.start("worker", "middleware,writer", concurrency=2)
    try:
        yield pool
    finally:
        pool.stop_all()
