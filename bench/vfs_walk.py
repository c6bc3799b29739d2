"""``vfs_walk``: the VFS against fsspec filesystems on the same data — a walk of a 100,000-object
tree and 1,000 random 64 KiB reads from large files.

- **local**: ``VFS`` over ``LocalDriver`` (durable=False) vs fsspec's ``LocalFileSystem`` walking
  and reading the very directory the driver stores the objects in.
- **S3**: ``VFS`` over ``S3Driver`` vs ``s3fs``, both against one moto ``ThreadedMotoServer`` on
  127.0.0.1 in a process of its own, which fills its in-memory backend directly (a put through
  HTTP costs moto ~10 ms: 100,000 of them would take longer than everything else).

The walk is ``os.walk``-shaped on both sides: one delimited listing per directory, every file
described (size, time).  The reads: each contender opens the large files once per round, then
seeks and reads 64 KiB at the same 1,000 random (file, offset) pairs; a checksum of the bytes
read is compared between contenders.

s3fs cannot share the project's virtualenv (its aiobotocore pins a botocore older than the one
the S3 driver's boto3 needs), so it runs in its own, ``.cache/bench-peers/s3fs`` (or the
interpreter named by ``TROVE_BENCH_S3FS_PYTHON``), as a subprocess that times its own work and
answers over a pipe.  Without it the S3 part is skipped, and a note says how to make it.  s3fs is
given its best settings for this work: no listings cache (every walk really lists) and
``cache_type="none"`` (a read fetches what it asks for; its default read-ahead of 50 MiB would
fetch 50 MiB per random read).

``python -m bench.vfs_walk [--quick]`` runs this benchmark through the runner before it is
listed in ``bench.runner.BENCHMARKS``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fsspec.implementations.local import LocalFileSystem

from bench.machine import REPO
from bench.measure import MiB, Stopwatch, interleave
from bench.model import Context, Measurement, Outcome, Series
from trove_dist.driver.base import Driver
from trove_dist.drivers.local import LocalDriver
from trove_dist.vfs import VFS

TREE = "tree"
LARGE = "large"
READ_BYTES = 64 * 1024
LOCAL_TARGET = 0.8
S3_TARGET = 1.0
WARMUP = 1
REGION = "eu-west-1"
ACCESS_KEY = "bench-access"
SECRET_KEY = "bench-secret"
S3FS_PYTHON = Path(os.environ.get("TROVE_BENCH_S3FS_PYTHON", REPO / ".cache/bench-peers/s3fs/bin/python"))
S3FS_SETUP = "python -m venv .cache/bench-peers/s3fs && .cache/bench-peers/s3fs/bin/pip install s3fs"


@dataclass(frozen=True, slots=True)
class Sizes:
    objects: int
    fanout: tuple[int, int]  # top-level directories, subdirectories in each
    large_files: int
    large_bytes: int
    s3_large_bytes: int
    reads: int
    repeats: int
    s3_repeats: int

    def key(self, i: int) -> str:
        top, sub = self.fanout
        return f"d{i % top:02d}/s{(i // top) % sub:02d}/f{i:06d}"

    @property
    def directories(self) -> int:
        top, sub = self.fanout
        return 1 + top + top * sub


FULL = Sizes(100_000, (10, 20), 4, 256 * MiB, 32 * MiB, 1000, 5, 3)
QUICK = Sizes(5_000, (5, 10), 2, 16 * MiB, 8 * MiB, 200, 2, 2)


def run(ctx: Context) -> Outcome:
    sizes = QUICK if ctx.quick else FULL
    outcome = Outcome(
        parameters={
            "objects": sizes.objects,
            "directories": sizes.directories,
            "tree": "dNN/sNN/fNNNNNN, files of 64 bytes",
            "large_files": sizes.large_files,
            "large_file_bytes_local": sizes.large_bytes,
            "large_file_bytes_s3": sizes.s3_large_bytes,
            "reads": sizes.reads,
            "read_bytes": READ_BYTES,
            "repeats_local": sizes.repeats,
            "repeats_s3": sizes.s3_repeats,
            "warmup_rounds": WARMUP,
            "ours": "VFS defaults (64 KiB read-ahead block)",
            "s3fs": "use_listings_cache=False, default_cache_type='none'",
        }
    )
    _local(ctx, sizes, outcome)
    _s3(ctx, sizes, outcome)
    return outcome


# ---- what both parts share --------------------------------------------------------------------


def _offsets(sizes: Sizes, file_bytes: int) -> list[tuple[int, int]]:
    rng = random.Random(20261125)
    return [(rng.randrange(sizes.large_files), rng.randrange(file_bytes - READ_BYTES)) for _ in range(sizes.reads)]


def _large_key(i: int) -> str:
    return f"file{i}.bin"


def _random_chunks(size: int, seed: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    for start in range(0, size, 8 * MiB):
        yield rng.randbytes(min(8 * MiB, size - start))


class _File(Protocol):
    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def read(self, size: int = -1, /) -> bytes: ...
    def close(self) -> None: ...


def _read_all(files: list[_File], offsets: list[tuple[int, int]]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for index, offset in offsets:
        f = files[index]
        f.seek(offset)
        digest.update(f.read(READ_BYTES))
    return digest.hexdigest()


class _Reads:
    """One contender's random reads: it opens the files, reads, closes; keeps the checksum."""

    def __init__(self, opener: Callable[[int], _File], sizes: Sizes, offsets: list[tuple[int, int]]) -> None:
        self.opener = opener
        self.sizes = sizes
        self.offsets = offsets
        self.checksums: set[str] = set()

    def __call__(self, round_: int) -> float:
        with Stopwatch() as sw:
            files = [self.opener(i) for i in range(self.sizes.large_files)]
            try:
                self.checksums.add(_read_all(files, self.offsets))
            finally:
                for f in files:
                    f.close()
        return len(self.offsets) / sw.seconds


def _walk_counter(walk: Callable[[], Iterator[tuple[Any, Any, Any]]], expected: int) -> Callable[[int], float]:
    def timed(round_: int) -> float:
        with Stopwatch() as sw:
            files = sum(len(f) for _, _, f in walk())
        if files != expected:
            raise RuntimeError(f"the walk found {files} files, expected {expected}")
        return expected / sw.seconds

    return timed


def _same_bytes(*reads: _Reads) -> None:
    seen = set().union(*(r.checksums for r in reads))
    if len(seen) != 1:
        raise RuntimeError(f"the contenders read different bytes: {sorted(seen)}")


# ---- local ------------------------------------------------------------------------------------


def _local(ctx: Context, sizes: Sizes, outcome: Outcome) -> None:
    root = ctx.scratch / "local"
    driver = LocalDriver(root, durable=False)
    try:
        _fill_local(ctx, driver, sizes)
        vfs_tree, vfs_large = VFS(driver, TREE), VFS(driver, LARGE)
        peer = LocalFileSystem()
        tree_dir = str(root / TREE)
        walks = interleave(
            [
                ("ours", _walk_counter(lambda: vfs_tree.walk(), sizes.objects)),
                ("fsspec", _walk_counter(lambda: peer.walk(tree_dir), sizes.objects)),
            ],
            sizes.repeats,
            warmup=WARMUP,
        )
        offsets = _offsets(sizes, sizes.large_bytes)
        ours = _Reads(lambda i: vfs_large.open(_large_key(i)), sizes, offsets)
        fsspec = _Reads(lambda i: peer.open(str(root / LARGE / _large_key(i)), "rb"), sizes, offsets)
        ctx.log(f"local: {sizes.reads} random reads × {WARMUP + sizes.repeats} rounds")
        reads = interleave([("ours", ours), ("fsspec", fsspec)], sizes.repeats, warmup=WARMUP)
        _same_bytes(ours, fsspec)
    finally:
        driver.close()
    outcome.measurements += [
        Measurement(
            name=f"walk {sizes.objects:,} objects, local",
            unit="objects/s",
            better="higher",
            ours=Series("VFS(LocalDriver).walk", walks["ours"], "ours"),
            peer=Series("fsspec LocalFileSystem.walk", walks["fsspec"]),
            target=LOCAL_TARGET,
            cache="warm (dentries, inodes and xattrs of a tree just written)",
        ),
        Measurement(
            name=f"{sizes.reads} random 64 KiB reads, local",
            unit="reads/s",
            better="higher",
            ours=Series("VFS(LocalDriver).open: seek+read", reads["ours"], "ours"),
            peer=Series("fsspec LocalFileSystem.open: seek+read", reads["fsspec"]),
            target=LOCAL_TARGET,
            cache="warm (files just written)",
            note=f"{sizes.large_files} files of {sizes.large_bytes // MiB} MiB, each opened once per round",
        ),
    ]


def _fill_local(ctx: Context, driver: Driver, sizes: Sizes) -> None:
    driver.create_bucket(TREE)
    driver.create_bucket(LARGE)
    body = b"x" * 64
    started = time.perf_counter()
    for i in range(sizes.objects):
        driver.put(TREE, sizes.key(i), body)
        if (i + 1) % 20_000 == 0:
            ctx.log(f"local: {i + 1:,} objects in {time.perf_counter() - started:.0f} s")
    for i in range(sizes.large_files):
        driver.put(LARGE, _large_key(i), _random_chunks(sizes.large_bytes, i))
    ctx.log(f"local: tree and {sizes.large_files} large files written in {time.perf_counter() - started:.0f} s")


# ---- S3 ---------------------------------------------------------------------------------------


def _s3(ctx: Context, sizes: Sizes, outcome: Outcome) -> None:
    if not S3FS_PYTHON.exists():
        outcome.notes.append(f"S3 part skipped: no s3fs interpreter at {S3FS_PYTHON} (make one: {S3FS_SETUP})")
        return
    from trove_dist.drivers.s3 import S3Driver  # boto3 is an optional dependency

    with _MotoProcess(ctx, sizes) as endpoint, _S3fsPeer(endpoint, sizes) as s3fs:
        driver = S3Driver(endpoint_url=endpoint, region=REGION, access_key=ACCESS_KEY, secret_key=SECRET_KEY)
        try:
            vfs_tree, vfs_large = VFS(driver, TREE), VFS(driver, LARGE)
            ctx.log(f"s3: walks × {WARMUP + sizes.s3_repeats} rounds (moto lists slowly: minutes)")
            walks = interleave(
                [
                    ("ours", _walk_counter(lambda: vfs_tree.walk(), sizes.objects)),
                    ("s3fs", lambda round_: s3fs.ask("walk")["rate"]),
                ],
                sizes.s3_repeats,
                warmup=WARMUP,
            )
            offsets = _offsets(sizes, sizes.s3_large_bytes)
            ours = _Reads(lambda i: vfs_large.open(_large_key(i)), sizes, offsets)
            peer_checksums: set[str] = set()

            def peer_reads(round_: int) -> float:
                answer = s3fs.ask("reads", offsets=offsets)
                peer_checksums.add(answer["checksum"])
                return float(answer["rate"])

            ctx.log(f"s3: {sizes.reads} random reads × {WARMUP + sizes.s3_repeats} rounds")
            reads = interleave([("ours", ours), ("s3fs", peer_reads)], sizes.s3_repeats, warmup=WARMUP)
            if ours.checksums != peer_checksums:
                raise RuntimeError(f"VFS and s3fs read different bytes: {ours.checksums} vs {peer_checksums}")
        finally:
            driver.close()
    outcome.measurements += [
        Measurement(
            name=f"walk {sizes.objects:,} objects, S3 (moto)",
            unit="objects/s",
            better="higher",
            ours=Series("VFS(S3Driver).walk", walks["ours"], "ours"),
            peer=Series(f"s3fs {s3fs.version} walk", walks["s3fs"]),
            target=S3_TARGET,
            cache="no client-side cache on either side",
            note="moto answers each listing in ~0.2 s (it scans every key of the bucket): the server dominates",
        ),
        Measurement(
            name=f"{sizes.reads} random 64 KiB reads, S3 (moto)",
            unit="reads/s",
            better="higher",
            ours=Series("VFS(S3Driver).open: seek+read", reads["ours"], "ours"),
            peer=Series(f"s3fs {s3fs.version} open(cache_type='none'): seek+read", reads["s3fs"]),
            target=S3_TARGET,
            cache="none (one ranged GET per read on both sides)",
            note=f"{sizes.large_files} objects of {sizes.s3_large_bytes // MiB} MiB "
            "(moto copies a whole object to answer a range, so they are smaller than the local ones)",
        ),
    ]


class _MotoProcess:
    """``python -m bench.vfs_walk moto …``: a ThreadedMotoServer in its own process (its own
    interpreter lock), filled through moto's backend API; its endpoint once it is ready."""

    def __init__(self, ctx: Context, sizes: Sizes) -> None:
        self.ctx = ctx
        self.sizes = sizes
        self.log = (ctx.scratch / "moto.log").open("wb")
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> str:
        argv = [sys.executable, "-m", "bench.vfs_walk", "moto", "--quick" if self.sizes is QUICK else "--full"]
        self.ctx.log("s3: starting moto and filling it")
        self.proc = subprocess.Popen(argv, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        if not line.startswith("ready "):
            self.__exit__()
            raise RuntimeError(f"moto did not start (see {self.log.name})")
        return line.split()[1]

    def __exit__(self, *exc_info: object) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # the server stops at end of input
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def _serve_moto(sizes: Sizes) -> None:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        for bucket in (TREE, LARGE):
            backend.create_bucket(bucket, REGION)
        body = b"x" * 64
        for i in range(sizes.objects):
            backend.put_object(TREE, sizes.key(i), body)
        for i in range(sizes.large_files):
            backend.put_object(LARGE, _large_key(i), b"".join(_random_chunks(sizes.s3_large_bytes, i)))
        print(f"ready http://{host}:{port}", flush=True)
        sys.stdin.read()
    finally:
        server.stop()


class _S3fsPeer:
    """s3fs in its own interpreter, timing its own walks and reads on request."""

    def __init__(self, endpoint: str, sizes: Sizes) -> None:
        self.endpoint = endpoint
        self.sizes = sizes
        self.version = "?"
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> _S3fsPeer:
        config = {
            "endpoint": self.endpoint,
            "key": ACCESS_KEY,
            "secret": SECRET_KEY,
            "region": REGION,
            "tree": TREE,
            "large": [f"{LARGE}/{_large_key(i)}" for i in range(self.sizes.large_files)],
            "objects": self.sizes.objects,
            "read_bytes": READ_BYTES,
        }
        self.proc = subprocess.Popen(
            [str(S3FS_PYTHON), "-c", _S3FS_PEER, json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.version = str(self.ask("version")["version"])
        return self

    def ask(self, command: str, **arguments: Any) -> dict[str, Any]:
        assert self.proc is not None
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"command": command, **arguments}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the s3fs peer stopped (exit status {self.proc.poll()})")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"the s3fs peer failed: {answer['error']}")
        return answer

    def __exit__(self, *exc_info: object) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


#: The s3fs side, run by the s3fs interpreter (it cannot import this project).
_S3FS_PEER = r"""
import hashlib, json, sys, time
import s3fs

config = json.loads(sys.argv[1])
fs = s3fs.S3FileSystem(
    key=config["key"], secret=config["secret"], endpoint_url=config["endpoint"],
    client_kwargs={"region_name": config["region"]}, use_listings_cache=False,
    default_cache_type="none",
)

def walk():
    started = time.perf_counter()
    files = sum(len(f) for _, _, f in fs.walk(config["tree"]))
    seconds = time.perf_counter() - started
    if files != config["objects"]:
        raise RuntimeError(f"s3fs walked {files} files, expected {config['objects']}")
    return {"rate": files / seconds}

def reads(offsets):
    digest = hashlib.blake2b(digest_size=16)
    started = time.perf_counter()
    files = [fs.open(path, "rb") for path in config["large"]]
    try:
        for index, offset in offsets:
            f = files[index]
            f.seek(offset)
            digest.update(f.read(config["read_bytes"]))
    finally:
        for f in files:
            f.close()
    seconds = time.perf_counter() - started
    return {"rate": len(offsets) / seconds, "checksum": digest.hexdigest()}

for line in sys.stdin:
    request = json.loads(line)
    try:
        if request["command"] == "version":
            answer = {"version": s3fs.__version__}
        elif request["command"] == "walk":
            answer = walk()
        else:
            answer = reads(request["offsets"])
    except Exception as exc:
        answer = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(answer), flush=True)
"""


# ---- entry points -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.vfs_walk", description=__doc__.split("\n\n")[0])
    parser.add_argument("role", nargs="?", default="bench", choices=["bench", "moto"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--full", action="store_true", help="(moto role) the full-size data set")
    parser.add_argument("--results-dir", type=Path, default=None, help="where the result file goes")
    args = parser.parse_args(argv)
    if args.role == "moto":
        _serve_moto(QUICK if args.quick else FULL)
        return 0
    from bench.report import text_table
    from bench.runner import BENCHMARKS, RESULTS_DIR, run_benchmark

    BENCHMARKS.setdefault("vfs_walk", "bench.vfs_walk")
    path, record = run_benchmark("vfs_walk", quick=args.quick, results_dir=args.results_dir or RESULTS_DIR)
    print(text_table([record]))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
