"""Timing and page-cache helpers shared by the benchmarks."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path

MB = 1_000_000
MiB = 1024 * 1024
GiB = 1024 * MiB

#: One contender: called with the round number, returns its figure for that round.
Contender = tuple[str, Callable[[int], float]]


def interleave(contenders: Sequence[Contender], repeats: int, *, warmup: int = 1) -> dict[str, list[float]]:
    """Run every contender ``warmup + repeats`` times, rotating who goes first each round, so a
    slow drift of the machine (a neighbour's job, writeback) lands on all of them alike.

    The first ``warmup`` rounds are not recorded: they fault in code, allocator arenas and the
    memory the page cache will reuse (on this VM, memory the guest has not touched lately was
    handed back to the host and costs a host page fault on first touch).  Round numbers are
    unique across warm-up and recorded rounds, so a contender can name its files by them.
    """
    results: dict[str, list[float]] = {name: [] for name, _ in contenders}
    for round_ in range(warmup + repeats):
        shift = round_ % len(contenders)
        for name, run in [*contenders[shift:], *contenders[:shift]]:
            figure = run(round_)
            if round_ >= warmup:
                results[name].append(figure)
    return results


def interleave_batches(
    contenders: Mapping[str, Callable[[str], object]], items: Sequence[str], batch: int, *, first: int = 0
) -> dict[str, float]:
    """Seconds each contender spends calling itself on every item, the contenders taking turns
    ``batch`` items at a time (rotating who goes first, starting from contender ``first``)."""
    names = list(contenders)
    spent = dict.fromkeys(names, 0.0)
    for index, start in enumerate(range(0, len(items), batch)):
        chunk = items[start : start + batch]
        shift = (first + index) % len(names)
        for name in [*names[shift:], *names[:shift]]:
            call = contenders[name]
            begin = time.perf_counter_ns()
            for item in chunk:
                call(item)
            spent[name] += (time.perf_counter_ns() - begin) / 1e9
    return spent


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.seconds``."""

    seconds: float = 0.0

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter_ns()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.seconds = (time.perf_counter_ns() - self._start) / 1e9


def evict(path: Path) -> None:
    """Drop one file's pages from the page cache (written back first, so none stay dirty).

    ``posix_fadvise(DONTNEED)`` touches only this file, unlike ``/proc/sys/vm/drop_caches``,
    which would also empty the cache of everyone else working on this shared machine.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def resident_bytes(path: Path) -> int | None:
    """How much of ``path`` is in the page cache (util-linux ``fincore``); None if unknown."""
    if shutil.which("fincore") is None:
        return None
    with suppress(subprocess.CalledProcessError, ValueError):
        out = subprocess.run(
            ["fincore", "--bytes", "--noheadings", "--raw", "--output", "RES", str(path)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return int(out.strip())
    return None


def write_random_file(path: Path, size: int, block: int = 8 * MiB) -> None:
    """A file of ``size`` random bytes, flushed to disk so it is not dirty while we measure."""
    with path.open("wb") as f:
        remaining = size
        while remaining:
            n = min(block, remaining)
            f.write(os.urandom(n))
            remaining -= n
        f.flush()
        os.fsync(f.fileno())


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def settle() -> None:
    """Write back everything dirty (untimed), so one run's writeback does not slow the next."""
    os.sync()
