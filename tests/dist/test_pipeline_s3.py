"""A 1 GiB upload stream through real workers to S3 (moto), compressed and encrypted."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dist.harness import Workers, pipeline_env
from tests.dist.test_pipeline import payload
from tests.servers.redis_server import RedisServer, redis_server
from tests.servers.s3 import MotoServer, moto_server
from trove_dist.dist import DistConfig, connect
from trove_dist.stream import UploadStream
from trove_dist.trove import Trove

CHUNK = 4 * 1024 * 1024
GIB = 1024 * 1024 * 1024


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RedisServer, MotoServer]]:
    with redis_server(tmp_path_factory.mktemp("redis")) as redis, moto_server(tmp_path_factory.mktemp("moto")) as s3:
        yield redis, s3


@pytest.fixture(scope="module")
def trove(
    servers: tuple[RedisServer, MotoServer], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Trove]:
    redis, s3 = servers
    root = tmp_path_factory.mktemp("store")
    env = pipeline_env(redis.url, root, os.urandom(32).hex(), CHUNK)
    env["TROVE_TEST_S3_DSN"] = s3.dsn()
    workers = Workers(env, tmp_path_factory.mktemp("logs"))
    workers.start("middleware", "middleware", concurrency=2)
    workers.start("writer", "writer", concurrency=2)
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("TROVE_")})
    try:
        from tests.dist.worker_config import make_trove

        with make_trove() as producer:
            connect(producer, DistConfig.from_env())
            producer.create_bucket("bkt", exist_ok=True)
            yield producer
    finally:
        os.environ.clear()
        os.environ.update(saved)
        workers.stop_all()


@pytest.mark.timeout(900)
def test_a_1_gib_stream_to_s3_with_compression_and_encryption(trove: Trove, tmp_path: Path) -> None:
    """Compression makes frames smaller than S3's 5 MiB minimum part: the writers group them
    into parts S3 accepts.  The object reads back byte for byte through ``Trove.get``."""
    block = payload(CHUNK, b"gib")
    stream: UploadStream = trove.stream(None, "s3/one-gib.bin")
    for _ in range(GIB // len(block)):
        stream.write(block)
    info = stream.close(timeout=880)
    assert info.size == GIB
    sizes = trove.stream_engine().runtime.store.frame_sizes(stream.stream_id)
    assert max(stored for stored, _ in sizes.values()) < 5 * 1024 * 1024  # frames below S3's minimum
    parts = trove.stream_engine().runtime.store.parts(stream.stream_id)
    assert len(parts) < len(sizes)  # ...grouped into fewer, larger parts
    stored = trove.backend("s3").driver.head("bkt", "s3/one-gib.bin")
    assert stored.size < GIB  # compressed and framed at rest
    position = 0
    with trove.get(None, "s3/one-gib.bin") as reader:
        while piece := reader.read(len(block)):
            assert piece == block[: len(piece)], f"mismatch at byte {position}"
            position += len(piece)
    assert position == GIB
