"""Run benchmarks and write one JSON result file per benchmark run."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.machine import REPO, describe, load
from bench.model import Context, Outcome

#: Name → the module whose ``run(ctx) -> Outcome`` it is (or that function itself).  Modules are
#: imported only when their benchmark runs, so one benchmark's dependencies (an SDK, an
#: emulator) never stop another.
BENCHMARKS: dict[str, str | Callable[[Context], Outcome]] = {
    "local_large": "bench.local_large",
    "local_small": "bench.local_small",
    "local_rss": "bench.local_rss",
    "gcs_transfer": "bench.gcs_transfer",
    "azure_transfer": "bench.azure_transfer",
    "middleware_format": "bench.middleware_format",
    "pipeline": "bench.pipeline",
    "s3_transfer": "bench.s3_transfer",
    "sftp_transfer": "bench.sftp_transfer",
    "cas_store": "bench.cas_store",
    "vfs_walk": "bench.vfs_walk",
    "migrate": "bench.migrate",
}
BENCH_DIR = REPO / "bench"
RESULTS_DIR = BENCH_DIR / "results"
SCRATCH_DIR = BENCH_DIR / "scratch"
SCHEMA_VERSION = 1


def run_benchmark(name: str, *, quick: bool, results_dir: Path) -> tuple[Path, dict[str, Any]]:
    """Run one benchmark in a private scratch directory (removed afterwards); write its result."""
    SCRATCH_DIR.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=SCRATCH_DIR))
    started = datetime.now(UTC)
    try:
        record: dict[str, Any] = {
            "schema": SCHEMA_VERSION,
            "benchmark": name,
            "quick": quick,
            "started_utc": started.isoformat(timespec="seconds"),
            "machine": describe(scratch),
            "page_cache": page_cache_policy(),
            "load_before": load(),
        }
        clock = time.perf_counter()
        entry = BENCHMARKS[name]
        run: Callable[[Context], Outcome] = importlib.import_module(entry).run if isinstance(entry, str) else entry
        outcome = run(Context(scratch=scratch, quick=quick))
        record["duration_s"] = round(time.perf_counter() - clock, 1)
        record["load_after"] = load()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    record["parameters"] = outcome.parameters
    record["notes"] = outcome.notes
    record["measurements"] = [m.to_json() for m in outcome.measurements]
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{started.strftime('%Y%m%dT%H%M%SZ')}-{name}.json"
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return path, record


def page_cache_policy() -> dict[str, Any]:
    """How each benchmark treats the page cache, and what this machine lets us do about it."""
    return {
        "default": "warm: data just written or read is in the page cache, for ours and the peer alike",
        "cold_reads": "per file: fdatasync, then posix_fadvise(POSIX_FADV_DONTNEED); residency checked with fincore",
        "drop_caches_writable": os.access("/proc/sys/vm/drop_caches", os.W_OK),
        "why_not_drop_caches": "it would empty the cache of everyone else on this shared machine; "
        "evicting only our own files is enough and leaves their runs undisturbed",
    }
