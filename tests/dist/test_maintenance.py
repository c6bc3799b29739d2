"""Scheduled CAS garbage collection: Celery beat fires it, a maintenance worker runs it, a lock
keeps two runs from collecting at once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.dist.harness import REPO, Workers, pipeline_env, wait_for
from tests.servers.process import stop
from tests.servers.redis_server import RedisServer, redis_server
from trove_dist.cas import CAS
from trove_dist.dist.config import DistConfig
from trove_dist.dist.maintenance import RedisLock, gc_lock

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis-gc")) as running:
        yield running


@pytest.fixture
def setup(server: RedisServer, tmp_path: Path) -> tuple[dict[str, str], Path, str]:
    root = tmp_path / "store"
    (root / "cas").mkdir(parents=True)
    index = f"sqlite://{tmp_path / 'cas.db'}"
    env = pipeline_env(server.url, root, os.urandom(32).hex(), 1 << 20)
    env.update({"TROVE_CAS_INDEX": index, "TROVE_CAS_GRACE": "0", "TROVE_CAS_GC_INTERVAL": "1"})
    return env, root, index


def test_beat_schedules_gc_and_a_maintenance_worker_collects(
    setup: tuple[dict[str, str], Path, str], tmp_path: Path
) -> None:
    env, root, index = setup
    from trove_dist.drivers.local import LocalDriver

    cas = CAS(LocalDriver(root, durable=False), index=index, bucket="cas", grace_period=0)
    kept = cas.store(b"still referenced").hash
    dropped = cas.store(b"released content").hash
    cas.release(dropped)
    workers = Workers(env, tmp_path)
    workers.start("maintenance", "maintenance")
    beat_log = tmp_path / "beat.log"
    with open(beat_log, "wb") as out:
        beat = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "trove_dist.dist.worker", "beat",
             "--schedule", str(tmp_path / "beat-schedule"), "--loglevel=INFO"],
            env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_for(lambda: not cas.exists(dropped), 60, "the scheduled GC to collect released content")
        assert cas.exists(kept)
        with cas.retrieve(kept) as reader:
            assert reader.read() == b"still referenced"
        worker_log = next(tmp_path.glob("maintenance-*.log"))
        wait_for(lambda: "CAS GC of bucket 'cas'" in worker_log.read_text(), 30, "the run's result in the log")
    finally:
        stop(beat)
        workers.stop_all()
        cas.close()
    assert "Sending due task cas-gc" in beat_log.read_text()


def test_the_lock_lets_one_collector_run_at_a_time(server: RedisServer) -> None:
    client = redis.Redis.from_url(server.url)
    first = RedisLock(client, "trove:test-lock", ttl=30)
    second = RedisLock(client, "trove:test-lock", ttl=30)
    assert first.acquire()
    assert not second.acquire()
    second.release()  # not the holder: must not free the lock
    assert not RedisLock(client, "trove:test-lock", ttl=30).acquire()
    first.release()
    assert second.acquire()
    second.release()
    config = DistConfig(broker_url=server.url, redis_url=server.url)
    assert isinstance(gc_lock(config, "sqlite:///x.db"), RedisLock)
