"""``pipeline``: the distributed chunk pipeline (Celery workers, Redis state and staging) against
the same work done in one process.

The servers are the pipeline tests' own (``tests/dist/harness.py``, ``tests/servers``): a private
``redis-server`` on loopback and real ``celery worker`` processes — two middleware processes
(``-c 2``) and one writer — whose ``Trove`` comes from ``TROVE_CONFIG=bench.pipeline:make_worker_trove``
(local driver on the scratch directory; ``Compress(level=3)`` + ``Encrypt`` scoped to the bucket
``ingest``, nothing on the bucket ``plain``).  Redis runs without persistence: staging is
transient, and an append-only file fsynced on every write (the tests' setting, for their outage
test) would measure Redis's disk rather than the pipeline.

* **overhead**: N small chunks (64 KiB) streamed with no middleware through the workers, vs the
  same stream on the embedded executor (``ThreadDispatcher``, in-memory state and staging) to the
  same disk.  Both do the same transform-free steps and the same part I/O (a part file per chunk,
  then their concatenation), so the per-chunk difference is what Redis and Celery add: task
  messages, staging round trips and state updates.  It is reported against the 5 ms limit, at
  two values of N (the per-chunk cost must not grow with the stream).
* **ingest**: an object (4 GiB; 1 GiB with ``--quick``) streamed through the workers with
  compression and encryption (``Trove.stream`` + ``write`` of 8 MiB pieces + ``close``, which
  returns once the object is stored), vs ``Trove.put`` of the same bytes in this one process with
  the same middleware and chunk size (8 MiB) to the same disk.  The peer computes no whole-object
  checksum (``checksum=None``), because the pipeline does not: both do the same work.  Data: the
  64 MiB Python-source corpus of ``middleware_format``, repeated.
* **worker RSS**: the largest resident set of any worker process (each Celery main process and
  each pool child), sampled every 50 ms through psutil during the ingests of two object sizes
  (a quarter of the ingest size, and the ingest size), against 256 MiB.  Their sum is reported.

The CPU time every process of the pipeline spends (workers, ``redis-server``, the producer) is
reported beside the ingest, against the in-library put's: it does not depend on how busy the
shared machine is, and it bounds what the pipeline can gain from two cores (at most
``2 x peer / ours`` when it has both cores to itself).  The wall-clock ratio does depend on it:
each worker, like a separately started service, runs in its own session (the harness starts it
with ``start_new_session``), Linux's autogroup scheduling gives every busy session an equal share
of the CPUs, and so while other engineers' jobs run, the two middleware pool processes share one
session's share, as the single-process put has one.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil

from bench.measure import MB, GiB, MiB, Stopwatch, interleave, settle
from bench.model import Context, Measurement, Outcome, Series
from trove_dist import Trove
from trove_dist.drivers.local import LocalDriver
from trove_dist.middleware.compress import Compress
from trove_dist.middleware.encrypt import Encrypt, StaticKeyProvider
from trove_dist.middleware.scope import ForBuckets

PLAIN = "plain"
INGEST = "ingest"
SMALL_CHUNK = 64 * 1024
INGEST_CHUNK = 8 * MiB
ZSTD_LEVEL = 3
OVERHEAD_LIMIT_MS = 5.0
THROUGHPUT_TARGET = 1.6
RSS_LIMIT_MIB = 256.0
ROOT_ENV = "BENCH_PIPELINE_ROOT"
KEY_ENV = "BENCH_PIPELINE_KEY"


def make_worker_trove() -> Trove:
    """The workers' ``Trove`` (``TROVE_CONFIG``); producers build theirs the same way."""
    return _trove(Path(os.environ[ROOT_ENV]), INGEST_CHUNK, bytes.fromhex(os.environ[KEY_ENV]))


def _trove(root: Path, chunk: int, key: bytes) -> Trove:
    trove = Trove(LocalDriver(root, durable=False), chunk_size=chunk, checksum=None)
    trove.use(Compress(level=ZSTD_LEVEL), scope=ForBuckets(INGEST), priority=10)
    trove.use(Encrypt(StaticKeyProvider(key, "bench")), scope=ForBuckets(INGEST), priority=20)
    return trove


def run(ctx: Context) -> Outcome:
    from tests.dist.harness import Workers, pipeline_env
    from trove_dist.dist import DistConfig, connect

    quick = ctx.quick
    ingest_size = 1 * GiB if quick else 4 * GiB
    small_ingest = ingest_size // 4
    counts = (50, 200) if quick else (200, 800)
    root = ctx.scratch / "store"
    for bucket in (PLAIN, INGEST):
        (root / bucket).mkdir(parents=True)
    key = os.urandom(32)
    outcome = Outcome(
        parameters={
            "small_chunk_bytes": SMALL_CHUNK,
            "chunk_counts": list(counts),
            "ingest_bytes": ingest_size,
            "ingest_chunk_bytes": INGEST_CHUNK,
            "rss_object_bytes": [small_ingest, ingest_size],
            "zstd_level": ZSTD_LEVEL,
            "middleware_workers": "1 celery worker, -c 2 (prefork: 2 pool processes), queue middleware",
            "writer_workers": "1 celery worker, -c 1, queue writer",
            "redis": "private redis-server on loopback, no persistence (--save '' --appendonly no)",
            "backpressure": "Block, the default window (8 chunks)",
            "warmup_rounds": 1,
        }
    )
    if quick:
        outcome.notes.append(f"--quick: the ingest is {ingest_size // GiB} GiB, not 4 GiB")
    logs = ctx.scratch / "worker-logs"
    logs.mkdir()
    with _redis(ctx.scratch / "redis") as (redis_url, redis_pid):
        env = pipeline_env(redis_url, root, key.hex(), INGEST_CHUNK)
        env.update(
            {
                "TROVE_CONFIG": "bench.pipeline:make_worker_trove",
                "TROVE_VISIBILITY_TIMEOUT": "3600",
                ROOT_ENV: str(root),
                KEY_ENV: key.hex(),
            }
        )
        workers = Workers(env, logs)
        ctx.log("starting redis-server, 2 middleware worker processes and a writer")
        try:
            workers.start("middleware", "middleware", concurrency=2)
            workers.start("writer", "writer", concurrency=1)
            sampler = _RssSampler([proc.pid for proc in workers.procs.values()], redis_pid)
            sampler.start()
            time.sleep(0.5)
            outcome.parameters["worker_rss_idle_bytes"] = sampler.current()
            config = DistConfig(broker_url=redis_url, redis_url=redis_url)
            troves: list[Trove] = []

            def producer(chunk: int, *, distributed: bool) -> Trove:
                trove = _trove(root, chunk, key)
                if distributed:
                    connect(trove, config)
                troves.append(trove)
                return trove

            try:
                _overhead(ctx, outcome, producer, counts)
                _ingest(ctx, outcome, producer, sampler, ingest_size, small_ingest)
            finally:
                for trove in troves:
                    trove.close()
                sampler.stop()
        finally:
            workers.stop_all()
    return outcome


# ---- servers ------------------------------------------------------------------------------


class _redis:
    """The tests' ``RedisServer`` (free port, readiness ping, stop by PID), without persistence."""

    def __init__(self, directory: Path) -> None:
        from tests.servers.redis_server import RedisServer

        directory.mkdir()

        class Transient(RedisServer):
            def start(self) -> None:
                import subprocess

                from tests.servers.process import wait_until

                argv = [
                    "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", str(self.directory),
                    "--logfile", str(self.directory / "redis.log"),
                ]  # fmt: skip
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True)
                wait_until(lambda: self._pings(), 10, "redis-server", self.proc)

        self.server = Transient(directory)

    def __enter__(self) -> tuple[str, int]:
        self.server.start()
        assert self.server.proc is not None
        return self.server.url, self.server.proc.pid

    def __exit__(self, *exc_info: object) -> None:
        self.server.stop()


class _RssSampler(threading.Thread):
    """Every 50 ms, the RSS of each worker process (main processes and all their children);
    ``window()`` collects the maxima between two calls."""

    def __init__(self, pids: list[int], redis_pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.mains = [psutil.Process(pid) for pid in pids]
        self.redis = psutil.Process(redis_pid)
        self.interval = interval
        self._lock = threading.Lock()
        self._max_process = 0
        self._max_total = 0
        self._samples = 0
        self._stop_event = threading.Event()

    def current(self) -> dict[str, int]:
        return {f"{p.pid} {' '.join(p.cmdline()[-6:-4])}": p.memory_info().rss for p in self._processes()}

    def _processes(self) -> list[psutil.Process]:
        found: list[psutil.Process] = []
        for main in self.mains:
            try:
                found.append(main)
                found.extend(main.children(recursive=True))
            except psutil.NoSuchProcess:
                continue
        return found

    def cpu_seconds(self) -> tuple[float, float]:
        """User + system CPU time so far of (every worker process, the Redis server)."""
        workers = 0.0
        for process in self._processes():
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            workers += times.user + times.system
        times = self.redis.cpu_times()
        return workers, times.user + times.system

    def run(self) -> None:
        while not self._stop_event.is_set():
            rss = []
            for process in self._processes():
                try:
                    rss.append(process.memory_info().rss)
                except psutil.NoSuchProcess:
                    continue
            with self._lock:
                self._max_process = max(self._max_process, *rss, 0)
                self._max_total = max(self._max_total, sum(rss))
                self._samples += 1
            time.sleep(self.interval)

    def window(self) -> tuple[int, int, int]:
        """(largest process RSS, largest sum, samples) since the last call."""
        with self._lock:
            out = (self._max_process, self._max_total, self._samples)
            self._max_process = self._max_total = self._samples = 0
        return out

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


# ---- per-chunk overhead -------------------------------------------------------------------


def _stream(trove: Trove, bucket: str, key: str, pieces: Iterator[bytes]) -> int:
    stream = trove.stream(bucket, key)
    for piece in pieces:
        stream.write(piece)
    return stream.close(timeout=3600).size


def _overhead(ctx: Context, outcome: Outcome, producer: Callable[..., Trove], counts: tuple[int, ...]) -> None:
    distributed = producer(SMALL_CHUNK, distributed=True)
    embedded = producer(SMALL_CHUNK, distributed=False)
    pool = [os.urandom(SMALL_CHUNK) for _ in range(16)]
    repeats = 3 if ctx.quick else 5
    for count in counts:

        def contender(trove: Trove, name: str, count: int = count) -> Callable[[int], float]:
            def run(round_: int) -> float:
                key = f"{name}-{count}-{round_}.bin"
                with Stopwatch() as sw:
                    stored = _stream(trove, PLAIN, key, (pool[i % len(pool)] for i in range(count)))
                trove.delete(PLAIN, key)
                if stored != count * SMALL_CHUNK:
                    raise RuntimeError(f"{name}: stored {stored} bytes, expected {count * SMALL_CHUNK}")
                return sw.seconds * 1000 / count

            return run

        ctx.log(f"overhead: {count} chunks of {SMALL_CHUNK // 1024} KiB, {repeats} rounds")
        figures = interleave(
            [("dist", contender(distributed, "dist")), ("embedded", contender(embedded, "embedded"))], repeats
        )
        overhead = [d - e for d, e in zip(figures["dist"], figures["embedded"], strict=True)]
        outcome.parameters[f"overhead_{count}_chunks_ms"] = {"dist": figures["dist"], "embedded": figures["embedded"]}
        outcome.measurements += [
            Measurement(
                name=f"per-chunk pipeline overhead, {count} chunks, no middleware",
                unit="ms/chunk",
                better="lower",
                ours=Series("Celery+Redis minus embedded, same round", overhead, "ours"),
                peer=Series(f"limit {OVERHEAD_LIMIT_MS:g} ms", [OVERHEAD_LIMIT_MS], "limit"),
                target=1.0,
                cache="n/a",
                note=f"stream of {count} x {SMALL_CHUNK // 1024} KiB to the local driver, open to stored",
            ),
            Measurement(
                name=f"time per chunk, {count} chunks, no middleware",
                unit="ms/chunk",
                better="lower",
                ours=Series("Trove.stream on the Celery workers + Redis", figures["dist"], "ours"),
                peer=Series("Trove.stream on the embedded executor (in-process)", figures["embedded"]),
                target=None,
                cache="n/a",
                note="report only: the two figures the overhead is the difference of",
            ),
        ]


# ---- ingest throughput and worker memory --------------------------------------------------


def _ingest(
    ctx: Context,
    outcome: Outcome,
    producer: Callable[..., Trove],
    sampler: _RssSampler,
    size: int,
    small: int,
) -> None:
    from bench.middleware_format import CORPUS_BYTES, build_corpus, cut, cycle
    from trove_dist.checksum import new_hasher

    buffers = cut(build_corpus(CORPUS_BYTES), INGEST_CHUNK)
    distributed = producer(INGEST_CHUNK, distributed=True)
    library = producer(INGEST_CHUNK, distributed=False)
    rss: dict[int, list[tuple[int, int, int]]] = {small: [], size: []}

    def expected_digest(total: int) -> str:
        hasher = new_hasher("blake3")
        for piece in cycle(buffers, total):
            hasher.update(piece)
        return hasher.hexdigest()

    def read_back(key: str) -> str:
        hasher = new_hasher("blake3")
        with library.get(INGEST, key) as reader:
            while piece := reader.read(INGEST_CHUNK):
                hasher.update(piece)
        return hasher.hexdigest()

    cpu: dict[str, list[dict[str, float]]] = {"ours": [], "peer": []}

    def through_workers(total: int, *, verify: bool, round_: int = 0) -> float:
        key = f"dist-{total}.bin"
        sampler.window()
        workers_cpu, redis_cpu = sampler.cpu_seconds()
        producer_cpu = time.process_time()
        with Stopwatch() as sw:
            stored = _stream(distributed, INGEST, key, cycle(buffers, total))
        producer_cpu = time.process_time() - producer_cpu
        workers_after, redis_after = sampler.cpu_seconds()
        rss[total].append(sampler.window())
        if total == size and round_ >= 1:
            cpu["ours"].append(
                {
                    "workers": workers_after - workers_cpu,
                    "redis": redis_after - redis_cpu,
                    "producer": producer_cpu,
                    "wall": sw.seconds,
                }
            )
        if stored != total:
            raise RuntimeError(f"the pipeline stored {stored} plaintext bytes, expected {total}")
        if verify and read_back(key) != expected_digest(total):
            raise RuntimeError("the object the workers stored does not read back as the bytes sent")
        library.delete(INGEST, key)
        return total / sw.seconds / MB

    def in_library(round_: int) -> float:
        key = f"lib-{round_}.bin"
        process_cpu = time.process_time()
        with Stopwatch() as sw:
            info = library.put(INGEST, key, cycle(buffers, size))
        if round_ >= 1:
            cpu["peer"].append({"process": time.process_time() - process_cpu, "wall": sw.seconds})
        if round_ == 0 and read_back(key) != expected_digest(size):
            raise RuntimeError("Trove.put's object does not read back as the bytes put")
        library.delete(INGEST, key)
        if info.size != size:
            raise RuntimeError(f"Trove.put stored {info.size} plaintext bytes, expected {size}")
        return size / sw.seconds / MB

    ctx.log(f"worker RSS during a {small // MiB} MiB ingest")
    through_workers(small, verify=True)
    settle()
    repeats = 3 if ctx.quick else 5
    ctx.log(f"ingest of {size // MiB} MiB: workers vs Trove.put, {repeats} rounds")
    figures = interleave(
        [("ours", lambda round_: through_workers(size, verify=round_ == 0, round_=round_)), ("peer", in_library)],
        repeats,
    )
    human = f"{size // GiB} GiB"
    outcome.parameters["worker_rss_windows"] = {
        str(total): [{"max_process": p, "max_sum": s, "samples": n} for p, s, n in windows]
        for total, windows in rss.items()
    }
    outcome.measurements.append(
        Measurement(
            name=f"ingest {human}, Compress+Encrypt, 2 middleware processes + writer",
            unit="MB/s",
            better="higher",
            ours=Series("Trove.stream through the Celery workers (write 8 MiB pieces, close)", figures["ours"], "ours"),
            peer=Series("Trove.put in this one process, same middleware, checksum=None", figures["peer"]),
            target=THROUGHPUT_TARGET,
            cache="source in memory; into page cache",
        )
    )
    outcome.parameters["ingest_cpu_seconds"] = cpu
    ours_cpu = [sum(v for k, v in run.items() if k != "wall") * GiB / size for run in cpu["ours"]]
    peer_cpu = [run["process"] * GiB / size for run in cpu["peer"]]
    outcome.measurements.append(
        Measurement(
            name=f"CPU time per GiB ingested, {human}",
            unit="CPU s/GiB",
            better="lower",
            ours=Series("all pipeline processes: 5 worker processes + redis-server + producer", ours_cpu, "ours"),
            peer=Series("Trove.put, this process", peer_cpu),
            target=None,
            note="report only: user+system time; the ingest can beat one process by at most "
            "2 cores x peer/ours when the pipeline has both cores to itself",
        )
    )
    limit = Series(f"limit {RSS_LIMIT_MIB:g} MiB", [RSS_LIMIT_MIB], "limit")
    for total in (small, size):
        windows = rss[total]
        outcome.measurements += [
            Measurement(
                name=f"worker RSS, largest process, ingest of {total // MiB} MiB",
                unit="MiB",
                better="lower",
                ours=Series("max RSS of any worker process during the run", [w[0] / MiB for w in windows], "ours"),
                peer=limit,
                target=1.0,
                note="psutil every 50 ms; main processes and pool children",
            ),
            Measurement(
                name=f"worker RSS, all worker processes together, ingest of {total // MiB} MiB",
                unit="MiB",
                better="lower",
                ours=Series("max of the summed RSS of the 5 worker processes", [w[1] / MiB for w in windows], "ours"),
                peer=limit,
                target=None,
                note="report only",
            ),
        ]
    outcome.parameters["ingest_ratio_paired_median"] = statistics.median(
        o / p for o, p in zip(figures["ours"], figures["peer"], strict=True)
    )
