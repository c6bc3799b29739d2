"""Bodies of the processes the crash and concurrency tests spawn (top-level, so spawn finds them)."""

from __future__ import annotations

import io
import random
import time
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from tests.cas.support import IndexSpec, open_cas
from trove_dist.cas import CAS, checkpoints


def contents(count: int, seed: int = 7) -> list[bytes]:
    """The same contents in every process: small ones and some above the 1 MiB spool limit."""
    rng = random.Random(seed)
    sizes = [rng.choice([200, 4096, 70_000, 300_000, 1_500_000]) for _ in range(count)]
    return [rng.randbytes(size) for size in sizes]


def stop_at(point: str, reached: Event) -> None:
    """Freeze this process the first time it reaches ``point`` (the test then kills it)."""

    def hook(name: str) -> None:
        if name == point:
            reached.set()
            time.sleep(3600)

    checkpoints.set_hook(hook)


def store_and_freeze(spec: IndexSpec, root: Path, grace: float, data: bytes, point: str, reached: Event) -> None:
    cas = open_cas(spec, root, grace)
    stop_at(point, reached)
    cas.store(io.BytesIO(data))  # a stream: above the spool limit it goes through a temporary key


def gc_and_freeze(spec: IndexSpec, root: Path, grace: float, point: str, reached: Event) -> None:
    cas = open_cas(spec, root, grace)
    stop_at(point, reached)
    cas.gc()


def churn(spec: IndexSpec, root: Path, grace: float, seed: int, started: Event) -> None:
    """Store, release and collect in a loop until killed."""
    cas = open_cas(spec, root, grace)
    rng = random.Random(seed)
    pool = contents(6, seed=seed)
    started.set()
    while True:
        action = rng.random()
        if action < 0.6:
            digest = cas.store(rng.choice(pool)).hash
            cas.release(digest)
        elif action < 0.9:
            cas.gc()
        else:
            cas.sweep_orphans()


def stress_worker(
    spec: IndexSpec | None, root: Path, grace: float, seed: int, until: float, cas: CAS | None = None
) -> dict[str, Any]:
    """Store, read back and release shared contents until ``until``; every read of content this
    worker holds a reference to must succeed and return the right bytes."""
    if cas is None:
        assert spec is not None
        cas = open_cas(spec, root, grace)
    rng = random.Random(seed)
    pool = contents(48)  # shared by every worker: some go idle long enough to be condemned
    held: list[tuple[str, bytes]] = []
    failures: list[str] = []
    stores = reads = 0
    while time.time() < until:
        data = rng.choice(pool) if rng.random() < 0.8 else rng.randbytes(rng.randint(1, 20_000))
        try:
            held.append((cas.store(data).hash, data))
        except Exception as exc:
            failures.append(f"store: {exc!r}")
            continue
        stores += 1
        for digest, expected in rng.sample(held, min(len(held), 2)):
            reads += 1
            try:
                if cas.read(digest) != expected:
                    failures.append(f"wrong bytes for {digest}")
            except Exception as exc:
                failures.append(f"read {digest}: {exc!r}")
        while len(held) > rng.randint(0, 4):
            digest, _ = held.pop(rng.randrange(len(held)))
            cas.release(digest)
    for digest, _ in held:
        cas.release(digest)
    return {"stores": stores, "reads": reads, "failures": failures}


def ready_then_go(ready: Any, go: Event, seconds: float) -> float:
    """Report ready (imports done, index open), wait for every process, return the end time."""
    ready.put(True)
    go.wait()
    return time.time() + seconds


def stress_process(
    spec: IndexSpec, root: Path, grace: float, seed: int, seconds: float, results: Any, ready: Any, go: Event
) -> None:
    cas = open_cas(spec, root, grace)
    results.put(stress_worker(spec, root, grace, seed, ready_then_go(ready, go, seconds), cas))


def gc_process(spec: IndexSpec, root: Path, grace: float, seconds: float, results: Any, ready: Any, go: Event) -> None:
    cas = open_cas(spec, root, grace)
    gc_loop(spec, root, grace, ready_then_go(ready, go, seconds), results, cas)


def gc_loop(
    spec: IndexSpec | None, root: Path, grace: float, until: float, results: Any, cas: CAS | None = None
) -> None:
    if cas is None:
        assert spec is not None
        cas = open_cas(spec, root, grace)
    runs = deleted = sweeps = 0
    errors: list[str] = []
    while time.time() < until:
        result = cas.gc()
        runs += 1
        deleted += result.deleted
        errors += result.errors
        if runs % 20 == 0:
            sweeps += 1
            errors += cas.sweep_orphans().errors
        time.sleep(0.005)  # let the stores run too (the memory variant shares one GIL)
    results.put({"gc_runs": runs, "deleted": deleted, "sweeps": sweeps, "errors": errors})


def hold_lock(conninfo: str, name: str, holding: Event, release: Event, answer: Any) -> None:
    from trove_dist.cas.scheduled import PostgresAdvisoryLock

    lock = PostgresAdvisoryLock(conninfo, name)
    answer.put(lock.acquire())
    holding.set()
    release.wait(60)
    lock.release()


def try_lock(conninfo: str, name: str, answer: Any) -> None:
    from trove_dist.cas.scheduled import PostgresAdvisoryLock

    lock = PostgresAdvisoryLock(conninfo, name)
    got = lock.acquire()
    answer.put(got)
    if got:
        lock.release()
