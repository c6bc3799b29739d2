"""Named points in store and GC where a crash test can stop a process.

The GC argument (``gc.py``) claims that a crash *anywhere* leaves nothing dangling; the tests
prove it by killing a process at each of these points.  In production no hook is installed and
``reached`` is one global lookup.
"""

from __future__ import annotations

from collections.abc import Callable

#: Every point a hook can be called at, in the order an operation reaches them.
POINTS = (
    "store.claimed",  # a pending entry is committed, no blob written yet
    "store.temp_written",  # a streamed body sits complete under a temporary key
    "store.written",  # the blob is written, the entry is still pending
    "store.finished",  # the entry is live
    "gc.condemned",  # phase 1 committed: entries are deleting, blobs still there
    "gc.locked",  # phase 2: entries locked, the blob not yet deleted
    "gc.blob_deleted",  # phase 2: the blob is gone, its entry's deletion not committed
    "gc.collected",  # phase 2 committed
)

_hook: Callable[[str], None] | None = None


def set_hook(hook: Callable[[str], None] | None) -> None:
    """Install ``hook(point)`` (or remove it with None); it runs in the thread that reaches the point."""
    global _hook
    _hook = hook


def reached(point: str) -> None:
    if _hook is not None:
        _hook(point)
