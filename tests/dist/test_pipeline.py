"""The distributed chunk pipeline against a real Redis and real Celery worker processes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dist.harness import REPO, Workers, pipeline_env, wait_for
from tests.servers.redis_server import RedisServer, redis_server
from trove_dist.dist import DistConfig, connect
from trove_dist.dist.app import TRANSFORM, WRITE
from trove_dist.stream import StreamEngine, StreamState, UploadStream
from trove_dist.trove import Trove

CHUNK = 256 * 1024
pytestmark = pytest.mark.timeout(300)
KEY_HEX = os.urandom(32).hex()


def payload(size: int, seed: bytes = b"seed") -> bytes:
    """Deterministic, partly compressible data a producer can regenerate after a crash."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        block = hashlib.blake2b(seed + counter.to_bytes(8, "big"), digest_size=64).digest()
        out += block + b"compressible text " * 8
        counter += 1
    return bytes(out[:size])


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store")
    (path / "bkt").mkdir()
    return path


@pytest.fixture(scope="module")
def env(redis: RedisServer, root: Path) -> dict[str, str]:
    return pipeline_env(redis.url, root, KEY_HEX, CHUNK)


@pytest.fixture(scope="module")
def workers(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    pool = Workers(env, tmp_path_factory.mktemp("worker-logs"))
    pool.start("middleware", "middleware")
    pool.start("writer", "writer")
    try:
        yield pool
    finally:
        pool.stop_all()


@pytest.fixture
def trove(env: dict[str, str], workers: Workers, monkeypatch: pytest.MonkeyPatch) -> Iterator[Trove]:
    for name, value in env.items():
        if name.startswith("TROVE_"):
            monkeypatch.setenv(name, value)
    from tests.dist.worker_config import make_trove

    with make_trove() as producer:
        connect(producer, DistConfig.from_env())
        yield producer


def send(trove: Trove, key: str, data: bytes, **options: object) -> UploadStream:
    stream: UploadStream = trove.stream(None, key, **options)  # type: ignore[call-overload]
    for start in range(0, len(data), 100_000):
        stream.write(data[start : start + 100_000])
    return stream


def engine_of(trove: Trove) -> StreamEngine:
    return trove.stream_engine()


def test_a_stream_through_the_workers_reads_back_through_trove(trove: Trove) -> None:
    data = payload(20 * CHUNK + 1234)
    info = send(trove, "pipeline.bin", data).close(timeout=120)
    assert info.size == len(data)
    assert trove.get(None, "pipeline.bin").read() == data
    assert trove.get(None, "pipeline.bin", offset=5 * CHUNK - 7, length=CHUNK).read() == data[
        5 * CHUNK - 7 : 6 * CHUNK - 7
    ]
    # ...and the framed format is the same one in-process puts produce: each reads the other's.
    trove.put(None, "in-process.bin", data)
    stored_pipeline = trove.driver.head("bkt", "pipeline.bin")
    stored_local = trove.driver.head("bkt", "in-process.bin")
    assert stored_pipeline.metadata["trove-format"] == stored_local.metadata["trove-format"]
    assert trove.get(None, "in-process.bin").read() == data


def test_a_killed_worker_is_replaced_and_nothing_is_lost_or_doubled(trove: Trove, workers: Workers) -> None:
    data = payload(60 * CHUNK, b"kill")
    stream = send(trove, "killed.bin", data[: 30 * CHUNK])
    wait_for(lambda: stream.status().transformed >= 5, 60, "some chunks transformed")
    workers.kill("middleware")  # mid-transfer: its current task is unacknowledged
    workers.start("middleware", "middleware")  # the supervisor's replacement
    for start in range(30 * CHUNK, len(data), 100_000):
        stream.write(data[start : start + 100_000])
    info = stream.close(timeout=180)
    assert info.size == len(data)
    assert trove.get(None, "killed.bin").read() == data
    parts = engine_of(trove).runtime.store.parts(stream.stream_id)
    covered = [i for p in parts for i in range(p.first, p.last + 1)]
    assert covered == list(range(60))


def test_the_same_task_delivered_twice_changes_nothing(trove: Trove) -> None:
    data = payload(8 * CHUNK + 5, b"twice")
    stream = send(trove, "twice.bin", data)
    stream.close(timeout=120)
    store = engine_of(trove).runtime.store
    frames_before = store.frame_sizes(stream.stream_id)
    parts_before = store.parts(stream.stream_id)
    app = engine_of(trove).dispatcher.app  # type: ignore[attr-defined]
    for index in (0, 3, 8):
        app.send_task(TRANSFORM, args=[stream.stream_id, index])
        app.send_task(WRITE, args=[stream.stream_id, index])
    time.sleep(3)
    assert store.frame_sizes(stream.stream_id) == frames_before
    assert store.parts(stream.stream_id) == parts_before
    assert store.status(stream.stream_id).state == StreamState.COMPLETED
    assert trove.get(None, "twice.bin").read() == data


def test_redis_down_for_a_few_seconds_stalls_then_recovers(trove: Trove, redis: RedisServer) -> None:
    data = payload(30 * CHUNK, b"outage")
    stream = send(trove, "outage.bin", data[: 10 * CHUNK])
    redis.kill()
    time.sleep(3)
    redis.start_on_same_port()
    for start in range(10 * CHUNK, len(data), 100_000):
        stream.write(data[start : start + 100_000])
    assert stream.close(timeout=180).size == len(data)
    assert trove.get(None, "outage.bin").read() == data


_PRODUCER = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, {repo!r})
    from tests.dist.test_pipeline import payload, CHUNK
    from tests.dist.worker_config import make_trove
    from trove_dist.dist import connect, DistConfig
    trove = make_trove()
    connect(trove, DistConfig.from_env())
    stream = trove.stream(None, "orphaned.bin", resumable=True)
    print(stream.stream_id, flush=True)
    data = payload(40 * CHUNK, b"producer")
    for index in range(25):
        stream.send_chunk(index, data[index * CHUNK:(index + 1) * CHUNK])
    print("sent", flush=True)
    import time; time.sleep(600)
    """
)


def test_a_killed_producer_is_resumed_from_its_missing_chunks(trove: Trove, env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _PRODUCER.format(repo=str(REPO))], env=env, cwd=REPO, stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    stream_id = proc.stdout.readline().decode().strip()
    assert proc.stdout.readline().strip() == b"sent"
    proc.kill()
    proc.wait()
    data = payload(40 * CHUNK, b"producer")
    resumed: UploadStream = trove.stream(None, "orphaned.bin", stream_id=stream_id)
    assert resumed.missing() == []  # chunks 0..24 all arrived; the rest was never sent
    assert resumed.status().received == 25
    for index in range(25, 39):
        resumed.send_chunk(index, data[index * CHUNK : (index + 1) * CHUNK])
    resumed.send_chunk(39, data[39 * CHUNK :], final=True)
    assert resumed.wait(timeout=120).size == len(data)
    assert trove.get(None, "orphaned.bin").read() == data

