"""The embedded executor: migration steps on a thread pool in this process.

It runs exactly the step functions Celery workers run; a step that asks to run again later
(``RetryLater``: planning waits for copies, a settle step waits for its stream) is rescheduled
by a timer.  ``close()`` cancels the timers and waits for running steps.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from trove_dist.migrate import batches, finish, planner, streams
from trove_dist.migrate.runtime import MigrationRuntime
from trove_dist.stream.engine import RetryLater


class ThreadMigrationDispatcher:
    def __init__(self, runtime: MigrationRuntime, workers: int = 2) -> None:
        self.runtime = runtime
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="trove-migrate")
        self._timers: set[threading.Timer] = set()
        self._lock = threading.Lock()
        self._closed = False

    def plan(self, migration_id: str, page: int) -> None:
        self._submit(migration_id, functools.partial(planner.plan_page, self.runtime, self, migration_id, page))

    def batch(self, migration_id: str, batch_id: str) -> None:
        self._submit(migration_id, functools.partial(batches.run_batch, self.runtime, self, migration_id, batch_id))

    def settle(self, migration_id: str, stream_id: str) -> None:
        self._submit(migration_id, functools.partial(streams.settle, self.runtime, self, migration_id, stream_id))

    def finish(self, migration_id: str) -> None:
        self._submit(migration_id, functools.partial(finish.finish, self.runtime, migration_id))

    def _submit(self, migration_id: str, step: Callable[[], None]) -> None:
        with self._lock:
            if not self._closed:
                self._pool.submit(self._run, migration_id, step)

    def _run(self, migration_id: str, step: Callable[[], None]) -> None:
        try:
            finish.guarded(self.runtime, migration_id, step)
        except RetryLater as retry:
            self._later(retry.delay, migration_id, step)

    def _later(self, delay: float, migration_id: str, step: Callable[[], None]) -> None:
        def fire() -> None:
            with self._lock:
                self._timers.discard(timer)
            self._submit(migration_id, step)

        timer = threading.Timer(delay, fire)
        timer.daemon = True
        with self._lock:
            if self._closed:
                return
            self._timers.add(timer)
        timer.start()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
