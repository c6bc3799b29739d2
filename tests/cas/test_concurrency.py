"""Four processes store, read and release the same contents while a fifth collects in a loop.

Every read of content the reader holds a reference to must return the right bytes; once all is
released and the grace period has passed, GC must leave the store and the index empty.  The
memory index serves one process only, so there the workers are threads.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from pathlib import Path
from queue import Queue
from typing import Any

import pytest

from tests.cas import workers
from tests.cas.support import IndexSpec, blob_keys, dangling, leftover_files, open_cas
from trove_dist.cas import CAS, MemoryIndex
from trove_dist.drivers.memory import MemoryDriver

WORKERS = 4
#: Short enough that content is condemned and taken over constantly while the workers run.
GRACE = 0.25
SECONDS = float(os.environ.get("TROVE_CAS_STRESS_SECONDS", "30"))


@pytest.mark.slow
def test_processes_store_and_release_while_gc_runs(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL and SQLite side by side (each with its own five processes), so that the suite
    spends the required half-minute of contention once rather than once per index."""
    specs = [IndexSpec("postgres", pg_url), IndexSpec("sqlite", str(tmp_path / "cas.sqlite"))]
    roots = {spec.kind: tmp_path / f"blobs-{spec.kind}" for spec in specs}
    for spec in specs:
        open_cas(spec, roots[spec.kind], GRACE).index.close()  # create the schema once, before the rush
    spawn = multiprocessing.get_context("spawn")
    queues = {spec.kind: spawn.Queue() for spec in specs}
    ready, go = spawn.Queue(), spawn.Event()
    procs = []
    for spec in specs:
        common = (spec, roots[spec.kind], GRACE)
        results = queues[spec.kind]
        procs.append(spawn.Process(target=workers.gc_process, args=(*common, SECONDS, results, ready, go)))
        procs += [
            spawn.Process(target=workers.stress_process, args=(*common, seed, SECONDS, results, ready, go))
            for seed in range(WORKERS)
        ]
    for proc in procs:
        proc.start()
    for _ in procs:  # the clock starts once every process has imported and opened its index
        ready.get(timeout=120)
    go.set()
    reports = {kind: [queue.get(timeout=SECONDS + 120) for _ in range(WORKERS + 1)] for kind, queue in queues.items()}
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    for spec in specs:
        check(reports[spec.kind], open_cas(spec, roots[spec.kind], GRACE), roots[spec.kind])


@pytest.mark.slow
def test_threads_with_the_memory_index() -> None:
    cas = CAS(MemoryDriver(), index=MemoryIndex(), grace_period=GRACE, spool_limit=1 << 20)
    results: Queue[dict[str, Any]] = Queue()
    until = time.time() + min(SECONDS, 8)
    threads = [threading.Thread(target=workers.gc_loop, args=(None, Path(), GRACE, until, results, cas))]
    threads += [
        threading.Thread(
            target=lambda seed=seed: results.put(workers.stress_worker(None, Path(), GRACE, seed, until, cas))
        )
        for seed in range(WORKERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    check([results.get() for _ in threads], cas, None)


def check(reports: list[dict[str, Any]], cas: CAS, root: Path | None) -> None:
    gc_report = next(r for r in reports if "gc_runs" in r)
    work = [r for r in reports if "stores" in r]
    failures = [f for r in work for f in r["failures"]]
    assert failures == []
    assert gc_report["errors"] == []
    assert all(r["stores"] > 20 and r["reads"] > 20 for r in work), reports
    assert gc_report["gc_runs"] > 10, gc_report
    assert gc_report["deleted"] > 0, gc_report  # GC really competed with the stores
    try:
        assert dangling(cas) == []
        time.sleep(GRACE + 0.05)
        cas.gc()
        cas.sweep_orphans()
        assert cas.index.stats().entries == 0
        assert blob_keys(cas) == []
        if root is not None:
            assert leftover_files(root) == []
    finally:
        cas.index.close()
    print(cas.index, reports)
