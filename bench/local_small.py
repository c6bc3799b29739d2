"""``local_small``: operations per second on 4 KiB objects, ``LocalDriver`` vs fsspec and obstore.

Each round every system gets a fresh directory and puts the same keys (spread over a few
prefixes, so directories are created as they would be in use); the get and head phases then
read those objects back.  Within a phase the systems take turns in batches of keys, rotating
who goes first, because the speed of file creation on this shared VM swings by 10x within
minutes; a first, unrecorded round warms every system up.  The objects were just written, so every read is warm
(page cache and dentries), for all three alike.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sized
from dataclasses import dataclass
from pathlib import Path

import obstore
from fsspec.implementations.local import LocalFileSystem
from obstore.store import LocalStore

from bench.measure import fsync_dir, interleave_batches
from bench.model import Context, Measurement, Outcome, Series
from trove_dist.drivers.local import LocalDriver

BUCKET = "bench"
OBJECT_BYTES = 4096
PREFIXES = 8
FSSPEC_TARGET = 1.0
OPS = ("put", "get", "head")
WARMUP_ROUNDS = 1
#: Keys timed in one go before the next system takes its turn: small enough that a change in the
#: machine's speed (another job starting) lands on every system within a fraction of a second.
BATCH = 250
DURABLE_BATCH = 25


@dataclass(frozen=True, slots=True)
class Ops:
    put: Callable[[str], object]
    get: Callable[[str], Sized]
    head: Callable[[str], object]


#: Opens one system on a fresh directory; the returned function releases it.
Opener = Callable[[Path], tuple[Ops, Callable[[], None]]]
#: The same for a put-only contender.
PutOpener = Callable[[Path], tuple[Callable[[str], object], Callable[[], None]]]


def run(ctx: Context) -> Outcome:
    count = 500 if ctx.quick else 5000
    durable_count = 50 if ctx.quick else 500
    repeats = 3 if ctx.quick else 5
    payload = os.urandom(OBJECT_BYTES)
    keys = [f"prefix{i % PREFIXES}/object-{i:05d}" for i in range(count)]
    systems: dict[str, Opener] = {
        "ours": _ours(payload, durable=False),
        "fsspec": _fsspec(payload),
        "obstore": _obstore(payload),
    }
    outcome = Outcome(
        parameters={
            "objects": count,
            "object_bytes": OBJECT_BYTES,
            "prefixes": PREFIXES,
            "repeats": repeats,
            "durable_objects": durable_count,
            "warmup_rounds": WARMUP_ROUNDS,
            "batch": BATCH,
        }
    )
    results: dict[str, dict[str, list[float]]] = {op: {name: [] for name in systems} for op in OPS}
    for round_ in range(WARMUP_ROUNDS + repeats):
        ctx.log(f"round {round_ + 1}/{WARMUP_ROUNDS + repeats}{' (warm-up)' if round_ < WARMUP_ROUNDS else ''}")
        opened = {name: opener(ctx.scratch / f"round{round_}" / name) for name, opener in systems.items()}
        try:
            for op in OPS:
                calls = {
                    name: _checked_get(ops.get) if op == "get" else getattr(ops, op)
                    for name, (ops, _) in opened.items()
                }
                seconds = interleave_batches(calls, keys, BATCH, first=round_)
                if round_ >= WARMUP_ROUNDS:
                    for name, spent in seconds.items():
                        results[op][name].append(count / spent)
        finally:
            for _, close in opened.values():
                close()

    ctx.log(f"durable put × {durable_count}")
    durable_keys = keys[:durable_count]
    durable_systems: dict[str, PutOpener] = {"ours": _ours_put(payload), "plain": _plain_durable(payload)}
    durable: dict[str, list[float]] = {name: [] for name in durable_systems}
    for round_ in range(WARMUP_ROUNDS + repeats):
        puts = {name: opener(ctx.scratch / f"durable{round_}" / name) for name, opener in durable_systems.items()}
        try:
            seconds = interleave_batches(
                {name: put for name, (put, _) in puts.items()}, durable_keys, DURABLE_BATCH, first=round_
            )
        finally:
            for _, close in puts.values():
                close()
        if round_ >= WARMUP_ROUNDS:
            for name, spent in seconds.items():
                durable[name].append(durable_count / spent)

    labels = {
        "put": ("LocalDriver.put(bytes)", "fsspec LocalFileSystem.pipe_file", "obstore.put(LocalStore)"),
        "get": ("LocalDriver.get().read()", "fsspec LocalFileSystem.cat_file", "obstore.get(LocalStore).bytes()"),
        "head": ("LocalDriver.head", "fsspec LocalFileSystem.info", "obstore.head(LocalStore)"),
    }
    for op, (ours_label, fsspec_label, obstore_label) in labels.items():
        ours = Series(f"{ours_label}, durable=False", results[op]["ours"], "ours")
        outcome.measurements.append(
            Measurement(
                name=f"{op} 4 KiB vs fsspec",
                unit="ops/s",
                better="higher",
                ours=ours,
                peer=Series(fsspec_label, results[op]["fsspec"]),
                target=FSSPEC_TARGET,
                cache="warm" if op != "put" else "page cache (no fsync)",
            )
        )
        outcome.measurements.append(
            Measurement(
                name=f"{op} 4 KiB vs obstore",
                unit="ops/s",
                better="higher",
                ours=ours,
                peer=Series(obstore_label, results[op]["obstore"]),
                target=None,
                cache="warm" if op != "put" else "page cache (no fsync)",
                note="report only",
            )
        )
    outcome.measurements.append(
        Measurement(
            name="put 4 KiB, durable=True",
            unit="ops/s",
            better="higher",
            ours=Series("LocalDriver.put(bytes), durable=True", durable["ours"], "ours"),
            peer=Series("write temp + fsync + rename + fsync(dir)", durable["plain"]),
            target=None,
            cache="fsynced to disk",
            note="report only: the peer is the least a durable atomic write can do",
        )
    )
    outcome.notes.append("fsspec's pipe_file writes in place; obstore's put writes a temporary file and renames it")
    return outcome


def _checked_get(get: Callable[[str], Sized]) -> Callable[[str], None]:
    """``get``, refusing a read that does not return the whole object (the check costs every
    system the same)."""

    def checked(key: str) -> None:
        if len(get(key)) != OBJECT_BYTES:
            raise RuntimeError(f"reading {key} returned a partial object")

    return checked


def _ours(payload: bytes, *, durable: bool) -> Opener:
    def opener(root: Path) -> tuple[Ops, Callable[[], None]]:
        driver = LocalDriver(root, durable=durable)
        driver.create_bucket(BUCKET)

        def get(key: str) -> bytes:
            with driver.get(BUCKET, key) as reader:
                return reader.read()

        return Ops(
            put=lambda key: driver.put(BUCKET, key, payload),
            get=get,
            head=lambda key: driver.head(BUCKET, key),
        ), driver.close

    return opener


def _fsspec(payload: bytes) -> Opener:
    fs = LocalFileSystem(auto_mkdir=True)

    def opener(root: Path) -> tuple[Ops, Callable[[], None]]:
        base = str(root)
        return Ops(
            put=lambda key: fs.pipe_file(f"{base}/{key}", payload),
            get=lambda key: fs.cat_file(f"{base}/{key}"),
            head=lambda key: fs.info(f"{base}/{key}"),
        ), lambda: None

    return opener


def _obstore(payload: bytes) -> Opener:
    def opener(root: Path) -> tuple[Ops, Callable[[], None]]:
        store = LocalStore(root, mkdir=True)
        return Ops(
            put=lambda key: obstore.put(store, key, payload),
            get=lambda key: obstore.get(store, key).bytes(),
            head=lambda key: obstore.head(store, key),
        ), lambda: None

    return opener


def _ours_put(payload: bytes) -> PutOpener:
    def opener(root: Path) -> tuple[Callable[[str], object], Callable[[], None]]:
        ops, close = _ours(payload, durable=True)(root)
        return ops.put, close

    return opener


def _plain_durable(payload: bytes) -> PutOpener:
    """The least a durable, atomic small write costs: write a temporary file, fsync it, rename
    it over the key, fsync the directory (and fsync the parent when a directory is created)."""

    def opener(root: Path) -> tuple[Callable[[str], object], Callable[[], None]]:
        root.mkdir(parents=True)
        made: set[Path] = set()

        def put(key: str) -> None:
            path = root / key
            directory = path.parent
            if directory not in made:
                directory.mkdir(parents=True, exist_ok=True)
                fsync_dir(directory.parent)
                made.add(directory)
            temp = directory / f".{path.name}.tmp"
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                os.write(fd, payload)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(temp, path)
            fsync_dir(directory)

        return put, lambda: None

    return opener
