"""The embedded executor: the pipeline's steps on a thread pool in this process.

It is the default when no broker is configured, and runs exactly the functions Celery workers
run (``engine.transform`` / ``write`` / ``finalize``).  A step that asks to be retried later is
rescheduled by a timer thread; ``close()`` stops both, so no thread outlives it.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from trove_dist.stream import engine
from trove_dist.stream.engine import RetryLater, Runtime, StreamFailed

log = logging.getLogger("trove_dist.stream")


class ThreadDispatcher:
    def __init__(self, runtime: Runtime, workers: int = 2) -> None:
        self.runtime = runtime
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="trove-stream")
        self._timers: list[tuple[float, int, str, Callable[[], object]]] = []
        self._sequence = itertools.count()
        self._wake = threading.Condition()
        self._closed = False
        self._timer_thread = threading.Thread(target=self._run_timers, name="trove-stream-timers", daemon=True)
        self._timer_thread.start()

    # ---- the Dispatcher protocol ---------------------------------------------------------

    def transform(self, stream_id: str, index: int) -> None:
        self._submit(stream_id, lambda: engine.transform(self.runtime, self, stream_id, index))

    def write(self, stream_id: str, index: int) -> None:
        self._submit(stream_id, lambda: engine.write(self.runtime, self, stream_id, index))

    def finalize(self, stream_id: str) -> None:
        self._submit(stream_id, lambda: engine.finalize(self.runtime, stream_id))

    # ---- running -------------------------------------------------------------------------

    def _submit(self, stream_id: str, step: Callable[[], object]) -> None:
        if self._closed:
            raise RuntimeError("the stream executor is closed")
        self._pool.submit(self._run, stream_id, step)

    def _run(self, stream_id: str, step: Callable[[], object]) -> None:
        try:
            engine.run_step(self.runtime, stream_id, step)
        except RetryLater as retry:
            self._later(retry.delay, stream_id, step)
        except StreamFailed as exc:
            log.warning("stream %s failed: %s", stream_id, exc)
        except Exception as exc:  # a bug or an unexpected library error: fail the stream, loudly
            log.exception("stream %s: step crashed", stream_id)
            engine.fail(self.runtime, stream_id, f"{type(exc).__name__}: {exc}")

    def _later(self, delay: float, stream_id: str, step: Callable[[], object]) -> None:
        with self._wake:
            heapq.heappush(self._timers, (time.monotonic() + delay, next(self._sequence), stream_id, step))
            self._wake.notify()

    def _run_timers(self) -> None:
        with self._wake:
            while not self._closed:
                if not self._timers:
                    self._wake.wait()
                    continue
                due, _, stream_id, step = self._timers[0]
                now = time.monotonic()
                if due > now:
                    self._wake.wait(due - now)
                    continue
                heapq.heappop(self._timers)
                self._pool.submit(self._run, stream_id, step)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._timers.clear()
            self._wake.notify()
        self._timer_thread.join()
        self._pool.shutdown(wait=True, cancel_futures=True)
