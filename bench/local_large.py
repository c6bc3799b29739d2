"""``local_large``: put and get of one large object through ``LocalDriver`` vs a plain file copy.

The peer is what the same process does without us: ``shutil.copyfileobj`` from the same source
file into a new file on the same disk (put), and reading the very file the driver stored (get).
Both sides open their files inside the timed region.

Each run's output is deleted as soon as it is timed, before it is written back, and the next run
starts at once: the page cache then reuses memory the guest touched a moment ago.  Syncing in
between would leave seconds for this VM to hand the freed memory back to the host (virtio-balloon
free page reporting), and the next run, ours or the peer's, would pay a host page fault per
page — a 10x swing that has nothing to do with either.  The durable variant waits for the disk
on both sides; the cold-read variant evicts the file before each run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from bench.measure import (
    MB,
    GiB,
    MiB,
    Stopwatch,
    evict,
    fsync_dir,
    interleave,
    resident_bytes,
    settle,
    write_random_file,
)
from bench.model import Context, Measurement, Outcome, Series
from trove_dist.drivers.local import LocalDriver

BUCKET = "bench"
OBJECT = "object.bin"
READ_CHUNK = 1 * MiB
PUT_TARGET = 0.7
GET_TARGET = 0.8


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def run(ctx: Context) -> Outcome:
    size = 64 * MiB if ctx.quick else 1 * GiB
    repeats = 3 if ctx.quick else 7
    durable_repeats = 3 if ctx.quick else 5
    source = ctx.scratch / "source.bin"
    plain = ctx.scratch / "plain"
    plain.mkdir()
    ctx.log(f"writing a {size // MiB} MiB random source file")
    write_random_file(source, size)
    _warm(source, size)  # both sides of every put read the source from the page cache

    fast = LocalDriver(ctx.scratch / "trove-fast", durable=False)
    durable = LocalDriver(ctx.scratch / "trove-durable", durable=True)
    for driver in (fast, durable):
        driver.create_bucket(BUCKET)
    bench = _LargeObject(ctx, size, source, plain, fast, durable)
    bench.outcome.parameters.update(
        {
            "object_bytes": size,
            "repeats": repeats,
            "durable_repeats": durable_repeats,
            "warmup_rounds": 1,
            "read_chunk_bytes": READ_CHUNK,
        }
    )
    try:
        bench.puts(repeats, durable_repeats)
        bench.gets(repeats)
    finally:
        fast.close()
        durable.close()
    return bench.outcome


class _LargeObject:
    def __init__(
        self, ctx: Context, size: int, source: Path, plain: Path, fast: LocalDriver, durable: LocalDriver
    ) -> None:
        self.ctx = ctx
        self.size = size
        self.source = source
        self.plain = plain
        self.fast = fast
        self.durable = durable
        self.human = f"{size // GiB} GiB" if size >= GiB else f"{size // MiB} MiB"
        self.outcome = Outcome(parameters={})

    def throughput(self, seconds: float) -> float:
        return self.size / seconds / MB

    # ---- put ------------------------------------------------------------------------

    def driver_put(self, driver: LocalDriver) -> Callable[[int], float]:
        def run(round_: int) -> float:
            key = f"put-{round_}"
            with Stopwatch() as sw, self.source.open("rb") as f:
                driver.put(BUCKET, key, f)
            driver.delete(BUCKET, key)
            return self.throughput(sw.seconds)

        return run

    def plain_copy(self, *, sync: bool) -> Callable[[int], float]:
        def run(round_: int) -> float:
            target = self.plain / f"put-{round_}"
            with Stopwatch() as sw:
                with self.source.open("rb") as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                    if sync:
                        dst.flush()
                        os.fsync(dst.fileno())
                if sync:
                    fsync_dir(self.plain)
            target.unlink()
            return self.throughput(sw.seconds)

        return run

    def puts(self, repeats: int, durable_repeats: int) -> None:
        self.ctx.log("put, durable=False")
        fast = interleave([("ours", self.driver_put(self.fast)), ("peer", self.plain_copy(sync=False))], repeats)
        settle()
        self.ctx.log("put, durable=True")
        durable = interleave(
            [("ours", self.driver_put(self.durable)), ("peer", self.plain_copy(sync=True))], durable_repeats
        )
        self.outcome.measurements += [
            Measurement(
                name=f"put {self.human}, durable=False",
                unit="MB/s",
                better="higher",
                ours=Series("LocalDriver.put(file opened 'rb'), durable=False", fast["ours"], "ours"),
                peer=Series("shutil.copyfileobj(source, new file)", fast["peer"]),
                target=PUT_TARGET,
                cache="source warm; into page cache",
            ),
            Measurement(
                name=f"put {self.human}, durable=True",
                unit="MB/s",
                better="higher",
                ours=Series("LocalDriver.put(file opened 'rb'), durable=True", durable["ours"], "ours"),
                peer=Series("shutil.copyfileobj + fsync(file) + fsync(dir)", durable["peer"]),
                target=None,
                cache="source warm; fsynced to disk",
                note="report only: both sides wait for the disk",
            ),
        ]

    # ---- get ------------------------------------------------------------------------

    def gets(self, repeats: int) -> None:
        with self.source.open("rb") as f:
            self.fast.put(BUCKET, OBJECT, f)
        settle()
        stored = self.fast.root / BUCKET / OBJECT  # the driver keeps a plain key as a plain file
        if stored.stat().st_size != self.size:
            raise RuntimeError(f"expected the driver to store {OBJECT} at {stored}")
        residency: dict[str, list[int | None]] = {"warm": [], "cold": []}

        def driver_read(round_: int) -> float:
            with Stopwatch() as sw, self.fast.get(BUCKET, OBJECT) as reader:
                _drain(reader, self.size)
            return self.throughput(sw.seconds)

        def plain_read(round_: int) -> float:
            with Stopwatch() as sw, stored.open("rb") as f:
                _drain(f, self.size)
            return self.throughput(sw.seconds)

        def cached(state: str, read: Callable[[int], float]) -> Callable[[int], float]:
            def run(round_: int) -> float:
                if state == "cold":
                    evict(stored)
                residency[state].append(resident_bytes(stored))
                return read(round_)

            return run

        def copy_with(open_source: Callable[[], AbstractContextManager[_Readable]]) -> Callable[[int], float]:
            def run(round_: int) -> float:
                target = self.plain / f"copy-{round_}"
                with Stopwatch() as sw, open_source() as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                target.unlink()
                return self.throughput(sw.seconds)

            return run

        self.ctx.log("get, warm cache")
        _warm(stored, self.size)
        warm = interleave([("ours", cached("warm", driver_read)), ("peer", cached("warm", plain_read))], repeats)
        self.ctx.log("get, cold cache")
        cold = interleave([("ours", cached("cold", driver_read)), ("peer", cached("cold", plain_read))], repeats)
        self.ctx.log("get into a new file")
        _warm(stored, self.size)
        ours_copy = copy_with(lambda: self.fast.get(BUCKET, OBJECT))
        copies = interleave([("ours", ours_copy), ("peer", copy_with(lambda: stored.open("rb")))], repeats)

        self.outcome.parameters["page_cache_residency_before_each_read"] = residency
        partly_cached = [r for r in residency["warm"] if r is not None and r != self.size]
        if partly_cached:
            self.outcome.notes.append(f"warm reads: the object was partly evicted before some runs: {partly_cached}")
        still_cached = [r for r in residency["cold"] if r]
        if still_cached:
            self.outcome.notes.append(f"cold reads: eviction left part of the object cached: {still_cached}")
        read_label = f".read({READ_CHUNK // MiB} MiB) loop"
        self.outcome.measurements += [
            Measurement(
                name=f"get {self.human} → sink",
                unit="MB/s",
                better="higher",
                ours=Series(f"LocalDriver.get(){read_label}", warm["ours"], "ours"),
                peer=Series(f"open('rb'){read_label}, the same file", warm["peer"]),
                target=GET_TARGET,
                cache="warm",
            ),
            Measurement(
                name=f"get {self.human} → sink",
                unit="MB/s",
                better="higher",
                ours=Series(f"LocalDriver.get(){read_label}", cold["ours"], "ours"),
                peer=Series(f"open('rb'){read_label}, the same file", cold["peer"]),
                target=GET_TARGET,
                cache="cold (evicted before each run)",
            ),
            Measurement(
                name=f"get {self.human} → new file",
                unit="MB/s",
                better="higher",
                ours=Series("shutil.copyfileobj(LocalDriver.get(), new file)", copies["ours"], "ours"),
                peer=Series("shutil.copyfileobj(open('rb'), new file)", copies["peer"]),
                target=GET_TARGET,
                cache="source warm; into page cache",
            ),
        ]


def _drain(f: _Readable, size: int) -> None:
    """Read ``f`` to the end in ``READ_CHUNK`` pieces, dropping the bytes; check the count."""
    total = 0
    while chunk := f.read(READ_CHUNK):
        total += len(chunk)
    if total != size:
        raise RuntimeError(f"read {total} bytes, expected {size}")


def _warm(path: Path, size: int) -> None:
    with path.open("rb") as f:
        _drain(f, size)
