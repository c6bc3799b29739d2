"""``migrate``: ``trove migrate`` through two worker processes vs ``rclone copy``, same source and
destination, plus the cost of compression and encryption on the way.

Servers and workers are the migration tests' own (``tests/migrate/harness.py``, ``tests/servers``):
a private ``redis-server`` on loopback without persistence (staging is transient), one
``celery worker -c 2`` (two pool processes) on the ``middleware`` and ``writer`` queues with the
migration app, and, for S3, one ``moto_server``.  Ours is the real command line, ``python -m
trove_dist.cli migrate SRC DST --json`` with ``TROVE_BROKER_URL`` set, timed from start to exit
(so its own start-up counts, as rclone's does), and its report must say every object was copied.
The peer is Debian's ``rclone copy SRC DST`` with its defaults (4 transfers, 8 checkers);
rclone's S3 remote is configured from the environment with ``AWS_CA_BUNDLE`` unset (its S3
backend fails with this environment's bundle).  Every run copies into a fresh, empty destination
that is deleted right after it is timed; rounds are interleaved, ours and rclone's alternating
who goes first, after an unrecorded warm-up round.  Local destinations are written with
``durable=false`` because rclone does not fsync either.

* **large**: 4 objects of 1 GiB (random bytes), local -> local, and 4 x 256 MiB local -> S3
  (moto takes ~50 MiB/s from any client: 4 GiB would take minutes per run).  Target >= 1.0x.
* **small**: 10,000 objects of 64 KiB, local -> local, and 2,000 local -> S3 (moto answers a few
  hundred requests a second).  Target >= 0.5x.
* **compress+encrypt**: 4 x 256 MiB of Python source (``middleware_format``'s corpus) local ->
  local with ``--transform compress --transform encrypt``, against twice the single-core zstd
  (level 3, the middleware's) throughput on the same data in the same 8 MiB chunks, measured in
  this process in the same run: the most two cores could compress.  Target >= 0.7x.

Each case also times the same command with no broker (``embedded``: every step in the one
process, stream chunks handed between threads in memory), for context: the difference is what
Celery and the Redis claim check cost.  Redis is read with the ``hiredis`` parser when it is
installed (it triples what redis-py reads per second from a large value).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zstandard

from bench.measure import MB, GiB, MiB, Stopwatch, interleave
from bench.model import Context, Measurement, Outcome, Series
from trove_dist.drivers.local import LocalDriver

BUCKET = "data"
CHUNK = 8 * MiB
ZSTD_LEVEL = 3
LARGE_TARGET = 1.0
SMALL_TARGET = 0.5
TRANSFORM_TARGET = 0.7
KEY = os.urandom(32).hex()
#: Redis's memory bound for staged chunks.  Above the default 1 GiB because four 1 GiB streams
#: start at once, and a chunk step refused for a full staging is retried by Celery at most three
#: times (``trove_dist.dist.tasks`` retries with Celery's default limit), after which the chunk
#: is lost and the stream never ends; with room enough, no step waits for staging.
STAGING_BYTES = 6 * GiB


@dataclass(frozen=True)
class Dataset:
    name: str
    count: int
    size: int

    @property
    def total(self) -> int:
        return self.count * self.size

    def describe(self) -> str:
        for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
            if self.size >= scale:
                return f"{self.count:,} x {self.size // scale} {unit}"
        return f"{self.count:,} x {self.size} B"


def run(ctx: Context) -> Outcome:
    from tests.migrate.harness import MigrationWorkers
    from tests.servers.s3 import ACCESS_KEY, SECRET_KEY, moto_server

    quick = ctx.quick
    large = Dataset("large", 4, 64 * MiB if quick else GiB)
    large_s3 = Dataset("large", 4, 32 * MiB if quick else 256 * MiB)
    small = Dataset("small", 1_000 if quick else 10_000, 64 * 1024)
    small_s3 = Dataset("small", 300 if quick else 2_000, 64 * 1024)
    text = Dataset("text", 4, 32 * MiB if quick else 256 * MiB)
    repeats = 2 if quick else 3
    outcome = Outcome(
        parameters={
            "datasets": {
                "large local": large.describe(),
                "large s3": large_s3.describe(),
                "small local": small.describe(),
                "small s3": small_s3.describe(),
                "compress+encrypt": text.describe(),
            },
            "repeats": repeats,
            "warmup_rounds": 1,
            "workers": "1 celery worker, -c 2 (prefork: 2 pool processes), queues middleware,writer",
            "ours": f"python -m trove_dist.cli migrate SRC DST --json, chunk {CHUNK // MiB} MiB (the default)",
            "peer": f"{_rclone_version()} copy SRC DST, defaults (--transfers 4 --checkers 8)",
            "redis": "private redis-server on loopback, no persistence",
            "staging_max_bytes": STAGING_BYTES,
            "s3": "moto_server (in-memory, pure Python) on 127.0.0.1",
            "zstd_level": ZSTD_LEVEL,
        },
        notes=[
            "S3 sets are smaller than the local ones: moto (pure Python) is the bottleneck of every S3 run",
            "local destinations: durable=false for ours, as rclone does not fsync",
        ],
    )
    if quick:
        outcome.notes.append("--quick: every data set is smaller than the full run's")
    with _redis(ctx.scratch / "redis") as redis_url, moto_server(ctx.scratch) as moto:
        env = {
            "TROVE_BROKER_URL": redis_url,
            "TROVE_CONFIG": "trove_dist.migrate.transforms:make_worker_trove",
            "TROVE_ENCRYPTION_KEY": KEY,
            "TROVE_VISIBILITY_TIMEOUT": "3600",
            "TROVE_STAGING_MAX_BYTES": str(STAGING_BYTES),
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }
        worker_env = {k: v for k, v in os.environ.items() if not k.startswith("TROVE_")} | env
        worker_env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
        (ctx.scratch / "worker-logs").mkdir()
        workers = MigrationWorkers(worker_env, ctx.scratch / "worker-logs")
        workers.start("bench", "middleware,writer", concurrency=2)
        try:
            bench = _Runner(ctx, env, moto.endpoint_url, repeats)
            outcome.measurements += [
                *bench.pair(large, "local", LARGE_TARGET),
                *bench.pair(small, "local", SMALL_TARGET),
                *bench.pair(large_s3, "s3", LARGE_TARGET),
                *bench.pair(small_s3, "s3", SMALL_TARGET),
                *bench.transforms(text),
            ]
        finally:
            workers.stop_all()
    return outcome


def _populate(root: Path, dataset: Dataset) -> None:
    """A local store whose bucket holds the data set, every object different (a different
    window into a pool of random bytes, or of the source corpus)."""
    if dataset.name == "text":
        from bench.middleware_format import build_corpus

        pool = build_corpus(64 * MiB)
    else:
        pool = os.urandom(min(dataset.size, 64 * MiB) + 4099 * dataset.count)
    with LocalDriver(root, durable=False) as driver:
        driver.create_bucket(BUCKET)
        for i in range(dataset.count):
            driver.put(
                BUCKET, f"{i % 97:02d}/object-{i:05d}.bin", _window(pool, 4099 * i, dataset.size), checksum="blake3"
            )


def _window(pool: bytes, start: int, size: int) -> Iterator[bytes]:
    position = start % len(pool)
    while size:
        piece = pool[position : position + min(size, 8 * MiB)]
        size -= len(piece)
        position = (position + len(piece)) % len(pool)
        yield piece


class _Runner:
    def __init__(self, ctx: Context, env: dict[str, str], s3_endpoint: str, repeats: int) -> None:
        self.ctx = ctx
        self.env = env
        self.sources = ctx.scratch / "sources"
        self.s3_endpoint = s3_endpoint
        self.repeats = repeats
        self.rclone_config = ctx.scratch / "rclone.conf"
        self.rclone_config.write_text("")

    def source(self, dataset: Dataset) -> Path:
        """The data set's local store, written on first use."""
        root = self.sources / f"{dataset.name}-{dataset.count}x{dataset.size}"
        if not root.exists():
            self.ctx.log(f"writing the {dataset.name} source ({dataset.describe()})")
            _populate(root, dataset)
        return root

    def pair(self, dataset: Dataset, target: str, ratio: float) -> list[Measurement]:
        """Ours (through the workers, and for context in one process) against rclone, copying
        ``dataset`` from a local store to ``target``."""
        source = self.source(dataset)
        label = f"{dataset.name} {dataset.describe()} local -> {target}"
        self.ctx.log(f"{label}: {self.repeats} interleaved rounds")
        runs = interleave(
            [("workers", lambda r: self._ours(source, target, r, dataset)),
             ("embedded", lambda r: self._ours(source, target, r, dataset, embedded=True)),
             ("rclone", lambda r: self._rclone(source, target, r, dataset))],
            self.repeats,
        )  # fmt: skip
        rclone = Series("rclone copy", runs["rclone"])
        note = f"{dataset.total / MB:,.0f} MB"
        if dataset.name == "small":
            note += f"; ours {statistics.median(runs['workers']) * MB / dataset.size:,.0f} objects/s"
        return [
            Measurement(
                name=f"migrate {label}",
                unit="MB/s",
                better="higher",
                ours=Series("trove migrate, 2 worker processes", runs["workers"], "ours"),
                peer=rclone,
                target=ratio,
                cache="source warm (just written / read)",
                note=note,
            ),
            Measurement(
                name=f"migrate {label}, embedded",
                unit="MB/s",
                better="higher",
                ours=Series("trove migrate, no broker (one process)", runs["embedded"], "ours"),
                peer=rclone,
                target=None,
                cache="source warm (just written / read)",
                note="context: the same steps without Celery and Redis staging",
            ),
        ]

    def transforms(self, dataset: Dataset) -> list[Measurement]:
        source = self.source(dataset)
        self.ctx.log(f"compress+encrypt {dataset.describe()}: the zstd limit, then {self.repeats} rounds")
        limit = Series(
            f"2 x single-core zstd level {ZSTD_LEVEL} (8 MiB chunks, same data)",
            [2 * _zstd_rate(source / BUCKET)],
            "limit",
        )
        runs = interleave(
            [("workers", lambda r: self._ours(source, "local", r, dataset, transforms=True)),
             ("embedded", lambda r: self._ours(source, "local", r, dataset, transforms=True, embedded=True))],
            self.repeats,
        )  # fmt: skip
        name = f"migrate compress+encrypt {dataset.describe()} local -> local"
        return [
            Measurement(
                name=name,
                unit="MB/s",
                better="higher",
                ours=Series(
                    "trove migrate --transform compress --transform encrypt, 2 worker processes",
                    runs["workers"],
                    "ours",
                ),
                peer=limit,
                target=TRANSFORM_TARGET,
                cache="source warm",
                note="Python source corpus; plaintext bytes per second",
            ),
            Measurement(
                name=f"{name}, embedded",
                unit="MB/s",
                better="higher",
                ours=Series("the same, no broker (one process)", runs["embedded"], "ours"),
                peer=limit,
                target=None,
                cache="source warm",
                note="context: the same steps without Celery and Redis staging",
            ),
        ]

    # ---- contenders ---------------------------------------------------------------------

    def _ours(
        self,
        source: Path,
        target: str,
        round_: int,
        dataset: Dataset,
        *,
        transforms: bool = False,
        embedded: bool = False,
    ) -> float:
        """``trove migrate`` as a user runs it: through the workers, or (``embedded``) without a
        broker, every step in its own process."""
        mode = "embedded" if embedded else "workers"
        destination, cleanup = self._destination(target, f"ours-{mode}-{dataset.name}-{round_}")
        env = {**os.environ, **self.env}
        if embedded:
            del env["TROVE_BROKER_URL"]
        argv = [
            sys.executable,
            "-m",
            "trove_dist.cli",
            "migrate",
            f"file://{source}#{BUCKET}",
            destination,
            "--json",
            "--no-progress",
        ]
        if transforms:
            argv += ["--transform", "compress", "--transform", "encrypt"]
        with Stopwatch() as sw:
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
        try:
            report: dict[str, Any] = json.loads(done.stdout or "{}")
            if done.returncode != 0 or report.get("objects", {}).get("copied") != dataset.count:
                raise RuntimeError(
                    f"trove migrate did not copy every object: {done.stdout[-2000:]} {done.stderr[-2000:]}"
                )
        finally:
            cleanup()
        return dataset.total / sw.seconds / MB

    def _rclone(self, source: Path, target: str, round_: int, dataset: Dataset) -> float:
        destination, cleanup = self._destination(target, f"rclone-{dataset.name}-{round_}", rclone=True)
        env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"} | self._rclone_env()
        with Stopwatch() as sw:
            done = subprocess.run(
                ["rclone", "copy", str(source / BUCKET), destination],
                env=env,
                capture_output=True,
                text=True,
                timeout=3600,
            )
        cleanup()
        if done.returncode != 0:
            raise RuntimeError(f"rclone failed: {done.stderr[-2000:]}")
        return dataset.total / sw.seconds / MB

    def _destination(self, target: str, name: str, *, rclone: bool = False) -> tuple[str, Callable[[], None]]:
        if target == "local":
            path = self.ctx.scratch / "destinations" / name
            where = str(path / BUCKET) if rclone else f"file://{path}?durable=false#{BUCKET}"
            return where, lambda: shutil.rmtree(path, ignore_errors=True)
        bucket = name.replace("_", "-")
        host = self.s3_endpoint.removeprefix("http://")
        where = f"moto:{bucket}" if rclone else f"s3://{host}?tls=false&region=eu-west-1#{bucket}"
        return where, lambda: self._drop_bucket(bucket)

    def _drop_bucket(self, bucket: str) -> None:
        from trove_dist.drivers.s3 import S3Driver

        with S3Driver(endpoint_url=self.s3_endpoint, region="eu-west-1", access_key=self.env["AWS_ACCESS_KEY_ID"],
                      secret_key=self.env["AWS_SECRET_ACCESS_KEY"]) as s3:  # fmt: skip
            s3.delete_bucket(bucket, force=True)

    def _rclone_env(self) -> dict[str, str]:
        return {
            "RCLONE_CONFIG": str(self.rclone_config),
            "RCLONE_CONFIG_MOTO_TYPE": "s3",
            "RCLONE_CONFIG_MOTO_PROVIDER": "Other",
            "RCLONE_CONFIG_MOTO_ENDPOINT": self.s3_endpoint,
            "RCLONE_CONFIG_MOTO_ACCESS_KEY_ID": self.env["AWS_ACCESS_KEY_ID"],
            "RCLONE_CONFIG_MOTO_SECRET_ACCESS_KEY": self.env["AWS_SECRET_ACCESS_KEY"],
            "RCLONE_CONFIG_MOTO_REGION": "eu-west-1",
            "RCLONE_CONFIG_MOTO_FORCE_PATH_STYLE": "true",
        }


def _zstd_rate(bucket_dir: Path) -> float:
    """Single-core zstd compression of the data set in CHUNK pieces, MB/s (median of three)."""
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    files = sorted(p for p in bucket_dir.rglob("*") if p.is_file())
    rates = []
    for _ in range(3):
        total, seconds = 0, 0.0
        for path in files:
            data = path.read_bytes()
            for start in range(0, len(data), CHUNK):
                piece = data[start : start + CHUNK]
                with Stopwatch() as sw:
                    compressor.compress(piece)
                total += len(piece)
                seconds += sw.seconds
        rates.append(total / seconds / MB)
    return statistics.median(rates)


def _rclone_version() -> str:
    done = subprocess.run(["rclone", "version"], capture_output=True, text=True, check=False)
    return done.stdout.splitlines()[0] if done.stdout else "rclone"


@contextmanager
def _redis(directory: Path) -> Iterator[str]:
    from tests.servers.process import free_port, running

    directory.mkdir()
    port = free_port()
    argv = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(directory),
    ]
    with running(argv, port=port, name="redis-server", log=directory / "redis.log"):
        yield f"redis://127.0.0.1:{port}/0"
