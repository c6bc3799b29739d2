"""The interleavings the GC argument (trove_dist/cas/gc.py) reasons about, forced one by one:
a thread is paused at a named checkpoint while another acts."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.cas.support import blob_keys, dangling
from trove_dist.cas import CAS, Index, State, checkpoints
from trove_dist.drivers.memory import MemoryDriver


class Pause:
    """Stops the thread named ``thread`` the first time it reaches ``point``, until ``resume``."""

    def __init__(self, point: str, thread: str) -> None:
        assert point in checkpoints.POINTS
        self.point = point
        self.thread = thread
        self.reached = threading.Event()
        self._go = threading.Event()
        self._done = False

    def __call__(self, point: str) -> None:
        if point == self.point and threading.current_thread().name == self.thread and not self._done:
            self._done = True
            self.reached.set()
            assert self._go.wait(20), "the test never resumed the paused thread"

    def resume(self) -> None:
        self._go.set()


@pytest.fixture
def pause() -> Iterator[Callable[[str, str], Pause]]:
    def install(point: str, thread: str) -> Pause:
        hook = Pause(point, thread)
        checkpoints.set_hook(hook)
        return hook

    yield install
    checkpoints.set_hook(None)


def run(name: str, target: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def body() -> None:
        try:
            out["result"] = target()
        except BaseException as exc:
            out["error"] = exc

    thread = threading.Thread(target=body, name=name, daemon=True)
    thread.start()
    return thread, out


@pytest.fixture
def cas(index: Index) -> CAS:
    return CAS(MemoryDriver(), index=index, grace_period=0.0)


def test_a_store_takes_over_content_that_gc_has_condemned(cas: CAS, pause: Callable[[str, str], Pause]) -> None:
    digest = cas.store(b"contested").hash
    cas.release(digest)
    hook = pause("gc.condemned", "gc")
    gc, out = run("gc", cas.gc)
    assert hook.reached.wait(10)
    assert cas.index.get(digest).state is State.DELETING  # type: ignore[union-attr]
    again = cas.store(b"contested")  # finds it condemned: a new generation, the blob rewritten
    assert again.written
    hook.resume()
    gc.join(10)
    assert out["result"].deleted == 0  # the collector saw the takeover and kept the blob
    assert cas.read(digest) == b"contested"
    assert cas.stat(digest).refs == 1
    assert dangling(cas) == []


def test_a_store_waits_while_gc_deletes_the_same_blob(cas: CAS, pause: Callable[[str, str], Pause]) -> None:
    digest = cas.store(b"contested").hash
    cas.release(digest)
    hook = pause("gc.blob_deleted", "gc")
    gc, gc_out = run("gc", cas.gc)
    assert hook.reached.wait(10)
    assert blob_keys(cas) == []  # deleted, the entry's removal not yet committed
    store, store_out = run("store", lambda: cas.store(b"contested"))
    store.join(0.5)
    assert store.is_alive(), "the store must wait for the collector's transaction"
    hook.resume()
    gc.join(10)
    store.join(10)
    assert gc_out["result"].deleted == 1
    assert store_out["result"].written  # written again, after the delete
    assert cas.read(digest) == b"contested"
    assert dangling(cas) == []


def test_a_store_slower_than_the_grace_period_starts_over(cas: CAS, pause: Callable[[str, str], Pause]) -> None:
    hook = pause("store.written", "store")
    store, out = run("store", lambda: cas.store(b"slow"))
    assert hook.reached.wait(10)
    result = cas.gc()  # the pending entry is older than the grace period (0): condemned, blob deleted
    assert result.deleted == 1
    assert blob_keys(cas) == []
    hook.resume()
    store.join(10)
    assert out["result"].written  # its finish failed; it claimed a new generation and wrote again
    digest = out["result"].hash
    assert cas.read(digest) == b"slow"
    assert cas.stat(digest).refs == 1
    assert dangling(cas) == []


def test_concurrent_stores_of_new_content_share_one_entry(cas: CAS, pause: Callable[[str, str], Pause]) -> None:
    hook = pause("store.claimed", "first")
    first, out = run("first", lambda: cas.store(b"twins"))
    assert hook.reached.wait(10)
    second = cas.store(b"twins")  # joins the pending entry, writes, makes it live
    hook.resume()
    first.join(10)
    assert cas.stat(second.hash).refs == 2
    assert out["result"].hash == second.hash
    assert dangling(cas) == []


def test_an_orphan_being_swept_is_rescued_by_a_store(index: Index, pause: Callable[[str, str], Pause]) -> None:
    driver = MemoryDriver()
    cas = CAS(driver, index=index, grace_period=0.0)
    digest = cas.store(b"orphan").hash
    cas.release(digest)
    cas.gc()
    driver.put(cas.bucket, f"{digest[:2]}/{digest[2:4]}/{digest}", b"orphan")  # an unindexed blob
    hook = pause("gc.locked", "sweep")
    sweep, out = run("sweep", cas.sweep_orphans)
    assert hook.reached.wait(10)
    store, _store_out = run("store", lambda: cas.store(b"orphan"))
    store.join(0.3)
    hook.resume()
    sweep.join(10)
    store.join(10)
    assert out["result"].orphans == 1
    assert cas.read(digest) == b"orphan"
    assert dangling(cas) == []
