"""A process killed (SIGKILL) at every named point of store and of GC, and at random times:
nothing dangles, and the next GC or orphan sweep leaves the store and the index empty."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cas import workers
from tests.cas.support import IndexSpec, dangling, leftover_files, open_cas

GRACE = 0.3
# Many short-lived children: a fork server that has imported the CAS once starts each in
# milliseconds (spawn re-imports everything per child; the concurrency test uses spawn).
SPAWN = multiprocessing.get_context("forkserver")
SPAWN.set_forkserver_preload(["tests.cas.workers", "trove_dist.cas.index.postgres"])

STORE_POINTS = ["store.claimed", "store.temp_written", "store.written", "store.finished"]
GC_POINTS = ["gc.condemned", "gc.locked", "gc.blob_deleted", "gc.collected"]


@pytest.fixture(params=["sqlite", "postgres"])
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> IndexSpec:
    if request.param == "sqlite":
        return IndexSpec("sqlite", str(tmp_path / "cas.sqlite"))
    return IndexSpec("postgres", request.getfixturevalue("pg_url"))


def kill_when_reached(target: Callable[..., None], *args: Any) -> None:
    reached = SPAWN.Event()
    proc = SPAWN.Process(target=target, args=(*args, reached), daemon=True)
    proc.start()
    try:
        while not reached.wait(0.05):
            assert proc.is_alive(), f"the child exited ({proc.exitcode}) before its checkpoint"
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # type: ignore[arg-type]
        proc.join(10)
    assert proc.exitcode == -signal.SIGKILL


def assert_cleaned_up(spec: IndexSpec, root: Path) -> None:
    cas = open_cas(spec, root, GRACE)
    try:
        assert dangling(cas) == []
        time.sleep(GRACE + 0.05)
        cas.gc()
        cas.sweep_orphans()
        assert cas.index.stats().entries == 0
        assert leftover_files(root) == []
    finally:
        cas.index.close()


@pytest.mark.parametrize("point", STORE_POINTS)
def test_killed_during_store(spec: IndexSpec, tmp_path: Path, point: str) -> None:
    root = tmp_path / "blobs"
    data = os.urandom(2 * 1024 * 1024 if point == "store.temp_written" else 50_000)
    kill_when_reached(workers.store_and_freeze, spec, root, GRACE, data, point)
    cas = open_cas(spec, root, GRACE)
    try:
        assert dangling(cas) == []
        # the dead store never handed out its hash, so it holds no reference; the content can be
        # stored again at once, whatever state the dead store left behind
        again = cas.store(data)
        assert cas.read(again.hash) == data
        assert cas.stat(again.hash).refs == (2 if point == "store.finished" else 1)
        cas.release(again.hash)
        if point == "store.finished":
            cas.release(again.hash)  # the dead store's reference, as its owner would after a restart
    finally:
        cas.index.close()
    assert_cleaned_up(spec, root)


@pytest.mark.parametrize("point", GC_POINTS)
def test_killed_during_gc(spec: IndexSpec, tmp_path: Path, point: str) -> None:
    root = tmp_path / "blobs"
    cas = open_cas(spec, root, 0.0)
    kept = cas.store(b"kept").hash
    pieces = [os.urandom(10_000) for _ in range(3)]
    for data in pieces:
        cas.release(cas.store(data).hash)
    cas.index.close()
    kill_when_reached(workers.gc_and_freeze, spec, root, 0.0, point)
    cas = open_cas(spec, root, GRACE)
    try:
        assert dangling(cas) == []
        assert cas.read(kept) == b"kept"
        # content the dead collector had condemned (or half-deleted) can be stored again at once
        again = cas.store(pieces[0])
        assert cas.read(again.hash) == pieces[0]
        cas.release(again.hash)
        cas.release(kept)
    finally:
        cas.index.close()
    assert_cleaned_up(spec, root)


def test_killed_at_random_times(spec: IndexSpec, tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    rng = random.Random(1)
    for iteration in range(6):
        started = SPAWN.Event()
        proc = SPAWN.Process(target=workers.churn, args=(spec, root, 0.0, iteration, started), daemon=True)
        proc.start()
        assert started.wait(60)
        time.sleep(rng.uniform(0.05, 0.6))
        os.kill(proc.pid, signal.SIGKILL)  # type: ignore[arg-type]
        proc.join(10)
        cas = open_cas(spec, root, GRACE)
        try:
            assert dangling(cas) == [], f"after kill {iteration}"
            # A churner killed between store and release died holding one reference: release
            # it as its owner would after a restart (GC never takes referenced content).
            held = [entry for entry in cas.index.entries() if entry.refs > 0]
            assert len(held) <= 1, f"after kill {iteration}: {held}"
            for entry in held:
                cas.release(entry.hash)
        finally:
            cas.index.close()
    assert_cleaned_up(spec, root)
