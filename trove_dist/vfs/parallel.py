"""Run one storage call per key on a few threads, with a bounded number in flight.

``remove_all`` and ``rename`` touch every key under a prefix; on a remote store each call is a
round trip, so a handful of concurrent calls divides the wall time by about that much.  Keys
come from a lazy listing, and at most ``2 * workers`` calls are queued at once, so a prefix of
millions of keys is never held in memory by this helper.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait


def for_each(call: Callable[[str], object], keys: Iterable[str], workers: int) -> int:
    """Call ``call(key)`` for every key; return how many calls were made.  The first failure
    stops the submission of further keys and is raised once the calls in flight have ended."""
    if workers <= 1:
        count = 0
        for key in keys:
            call(key)
            count += 1
        return count
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vfs")
    pending: set[Future[object]] = set()
    count = 0
    try:
        for key in keys:
            pending.add(pool.submit(call, key))
            if len(pending) >= 2 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                count += _settle(done)
        done, pending = wait(pending)
        count += _settle(done)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return count


def _settle(done: set[Future[object]]) -> int:
    for future in done:
        future.result()  # raises the call's exception
    return len(done)
