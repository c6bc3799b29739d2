"""The scheduled GC run and its lock: two collectors never run at once."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time

import pytest

from tests.cas import workers
from trove_dist.cas import CAS, MemoryIndex
from trove_dist.cas.scheduled import InProcessLock, PostgresAdvisoryLock, run_scheduled_gc
from trove_dist.drivers.memory import MemoryDriver


def test_the_advisory_lock_excludes_a_second_process(pg_url: str) -> None:
    spawn = multiprocessing.get_context("spawn")
    holding, release = spawn.Event(), spawn.Event()
    first_answer, second_answer = spawn.Queue(), spawn.Queue()
    holder = spawn.Process(target=workers.hold_lock, args=(pg_url, "gc-test", holding, release, first_answer))
    holder.start()
    assert holding.wait(60)
    assert first_answer.get(timeout=10) is True
    rival = spawn.Process(target=workers.try_lock, args=(pg_url, "gc-test", second_answer))
    rival.start()
    assert second_answer.get(timeout=60) is False  # held by the other process
    rival.join(10)
    release.set()
    holder.join(10)
    again = spawn.Process(target=workers.try_lock, args=(pg_url, "gc-test", second_answer))
    again.start()
    assert second_answer.get(timeout=60) is True  # released
    again.join(10)


def test_a_killed_holder_does_not_keep_the_lock(pg_url: str) -> None:
    spawn = multiprocessing.get_context("spawn")
    holding, release = spawn.Event(), spawn.Event()
    answer = spawn.Queue()
    holder = spawn.Process(target=workers.hold_lock, args=(pg_url, "gc-kill", holding, release, answer))
    holder.start()
    assert holding.wait(60)
    assert answer.get(timeout=10)
    os.kill(holder.pid, signal.SIGKILL)  # type: ignore[arg-type]
    holder.join(10)
    lock = PostgresAdvisoryLock(pg_url, "gc-kill")
    for _ in range(50):  # the server notices the closed connection within moments
        if lock.acquire():
            break
        time.sleep(0.1)
    else:
        pytest.fail("the lock outlived its holder")
    lock.release()


def test_locks_with_different_names_are_independent(pg_url: str) -> None:
    a, b = PostgresAdvisoryLock(pg_url, "one"), PostgresAdvisoryLock(pg_url, "two")
    assert a.acquire()
    assert b.acquire()
    a.release()
    b.release()


def test_run_scheduled_gc_collects_logs_and_skips_when_locked(caplog: pytest.LogCaptureFixture) -> None:
    cas = CAS(MemoryDriver(), index=MemoryIndex(), grace_period=0.0)
    cas.release(cas.store(b"garbage").hash)
    lock = InProcessLock()
    caplog.set_level(logging.INFO, logger="trove_dist.cas.scheduled")
    run = run_scheduled_gc(cas, lock, sweep_orphans=True)
    assert run.collected
    assert run.gc is not None
    assert run.gc["deleted"] == 1
    assert run.gc["freed_bytes"] == 7
    assert run.sweep is not None
    assert run.sweep["orphans"] == 0
    assert "deleted 1, freed 7 bytes" in caplog.text
    assert lock.acquire()  # released after the run
    skipped = run_scheduled_gc(cas, lock)
    assert not skipped.collected
    assert skipped.gc is None
    assert "skipped: another collector holds the lock" in caplog.text
    lock.release()
    assert run.as_dict()["gc"]["deleted"] == 1
