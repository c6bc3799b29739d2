"""``local_rss``: how much memory a 2 GiB put and get take, through ``LocalDriver`` and ``Trove``.

Each operation runs in a fresh interpreter (``bench.rss_probe``), so what one leaves allocated
cannot hide or inflate the next.  A put streams either 1 MiB chunks from a generator or a file
opened ``"rb"`` (then the driver picks the chunk size); the get reads 1 MiB chunks into a BLAKE3
hash, and its digest must equal the bytes put.  The same stream written and read with plain
file I/O is reported alongside: it is the harness's own floor.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.machine import REPO
from bench.measure import GiB, MiB, settle, write_random_file
from bench.model import Context, Measurement, Outcome, Series
from bench.rss_probe import OPERATIONS, SOURCE
from trove_dist.checksum import new_hasher

BUDGET_MIB = 64.0
LABELS = {"driver": "LocalDriver", "trove": "Trove(LocalDriver)", "plain": "plain file I/O"}
#: What each subject does in one round: a put, then a get of what it put.
PLAN = {
    "driver": [("put-gen", "get"), ("put-file", "get")],
    "trove": [("put-gen", "get"), ("put-file", "get")],
    "plain": [("put-gen", "get")],
}
HOW = {
    "put-gen": "put from a generator of 1 MiB chunks",
    "put-file": "put from a file opened 'rb'",
    "get": "get, 1 MiB reads into BLAKE3",
}


def run(ctx: Context) -> Outcome:
    size = 64 * MiB if ctx.quick else 2 * GiB
    repeats = 2 if ctx.quick else 3
    ctx.log(f"writing a {size // MiB} MiB source file")
    source = ctx.scratch / SOURCE
    write_random_file(source, size)
    source_digest = _blake3(source)

    probes: list[dict[str, Any]] = []
    growth: dict[tuple[str, str], list[float]] = {}
    subjects = list(PLAN)
    for round_ in range(repeats):
        shift = round_ % len(subjects)
        for subject in [*subjects[shift:], *subjects[:shift]]:
            ctx.log(f"round {round_ + 1}/{repeats}: {subject}")
            for put_op, get_op in PLAN[subject]:
                put = _probe(subject, put_op, ctx.scratch, size)
                settle()
                get = _probe(subject, get_op, ctx.scratch, size)
                if get["blake3"] != (put["blake3"] or source_digest):
                    raise RuntimeError(f"{subject} {put_op}: the bytes read back differ from the bytes put")
                for result in (put, get):
                    probes.append(result)
                    growth.setdefault((subject, result["operation"]), []).append(int(result["growth"]) / MiB)
                _remove_objects(ctx.scratch)
                settle()

    budget = Series(f"budget {BUDGET_MIB:g} MiB", [BUDGET_MIB], "limit")
    outcome = Outcome(
        parameters={"object_bytes": size, "read_chunk_bytes": 1 * MiB, "repeats": repeats, "probes": probes},
        notes=[
            "peak = VmHWM after resetting it through /proc/self/clear_refs just before the operation, "
            "in a fresh process; a 2 ms psutil sampler cross-checks it (peak_sampled in probes); "
            "page cache is not counted"
        ],
    )
    human = f"{size // GiB} GiB" if size >= GiB else f"{size // MiB} MiB"
    for subject, op in sorted(growth, key=lambda so: (subjects.index(so[0]), OPERATIONS.index(so[1]))):
        figures = growth[subject, op]
        floor = subject == "plain"
        outcome.measurements.append(
            Measurement(
                name=f"peak RSS growth, {LABELS[subject]} {op} {human}",
                unit="MiB",
                better="lower",
                ours=Series(f"{LABELS[subject]}: {HOW[op]}", figures, "ours"),
                peer=budget,
                target=None if floor else 1.0,
                note="report only: the harness's own floor" if floor else "",
            )
        )
    return outcome


def _probe(subject: str, op: str, root: Path, size: int) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.rss_probe", subject, op, str(root), str(size)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"rss probe {subject} {op} failed:\n{completed.stderr}")
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def _blake3(path: Path) -> str:
    hasher = new_hasher("blake3")
    with path.open("rb") as f:
        while chunk := f.read(8 * MiB):
            hasher.update(chunk)
    return hasher.hexdigest()


def _remove_objects(root: Path) -> None:
    for name in LABELS:
        (root / f"{name}.bin").unlink(missing_ok=True)
        (root / "bench" / f"{name}.bin").unlink(missing_ok=True)
