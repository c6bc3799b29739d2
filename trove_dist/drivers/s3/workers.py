"""The driver's small thread pool for parts in flight, and the window that bounds them.

One pool per driver, started on first use and joined by ``close()``, so no thread outlives the
driver.  Each transfer keeps its own ``Window``: at most a fixed number of bytes (or of copy
parts) of *that* transfer are queued or running at once, which is what bounds its memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Generic, TypeVar

from trove_dist.errors import DriverClosed

T = TypeVar("T")


class Workers:
    def __init__(self, threads: int, name: str) -> None:
        self._threads = threads
        self._name = name
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, task: Callable[[], T]) -> Future[T]:
        with self._lock:
            if self._closed:
                raise DriverClosed(f"the {self._name} driver is closed")
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix=f"trove-{self._name}")
            return self._pool.submit(task)

    def close(self) -> None:
        """Cancel what has not started, wait for what has: afterwards no worker thread is left."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


class Window(Generic[T]):
    """The tasks of one transfer in flight, with a budget on their total weight (bytes)."""

    def __init__(self, workers: Workers, budget: int) -> None:
        self._workers = workers
        self._budget = budget
        self._running: dict[Future[T], int] = {}
        self.done: list[T] = []

    def submit(self, task: Callable[[], T], weight: int) -> None:
        """Queue ``task``, first waiting for earlier ones while the window is full (one task is
        always let in, however heavy).  A failed task's error is raised here, as soon as it is
        known, so that a long transfer stops at its first failure rather than at its end."""
        self._collect({future for future in self._running if future.done()})
        while self._running and sum(self._running.values()) + weight > self._budget:
            self._collect(wait(self._running, return_when=FIRST_COMPLETED).done)
        self._running[self._workers.submit(task)] = weight

    def drain(self) -> list[T]:
        """Wait for every task; the results in completion order.  Raises the first failure."""
        while self._running:
            self._collect(wait(self._running, return_when=FIRST_COMPLETED).done)
        return self.done

    def cancel(self) -> None:
        """Stop: drop queued tasks and wait for running ones (their results are discarded), so
        that nothing of this transfer is still being sent afterwards."""
        for future in self._running:
            future.cancel()
        wait(self._running)
        self._running.clear()

    def _collect(self, finished: set[Future[T]]) -> None:
        for future in finished:
            self._running.pop(future)
            self.done.append(future.result())


class BufferPool:
    """A fixed number of part buffers, recycled from part to part within one upload.

    Taking a buffer waits while all of them are out (being filled, or in flight), which is what
    bounds an upload's memory to ``count`` parts.  Recycling also keeps the allocator out of the
    way: a fresh multi-MiB buffer per part, freed on another thread, leaves the C heap holding
    free memory the process cannot give back, and peak RSS well above what is actually in use.
    """

    def __init__(self, count: int) -> None:
        self._count = count
        self._made = 0
        self._free: list[bytearray] = []
        self._changed = threading.Condition()

    def take(self, size: int) -> bytearray:
        """A buffer of exactly ``size`` bytes (its content is whatever the last part left)."""
        with self._changed:
            while not self._free and self._made >= self._count:
                self._changed.wait()
            if self._free:
                buffer = self._free.pop()
                if len(buffer) == size:
                    return buffer
                del buffer  # a part size that changed (the last part, or a new size tier)
            else:
                self._made += 1
        return bytearray(size)

    def give(self, buffer: bytearray) -> None:
        with self._changed:
            self._free.append(buffer)
            self._changed.notify()
