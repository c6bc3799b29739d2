"""The periodic GC run, and the lock that keeps two of them from collecting at once.

Two collectors at once would not corrupt anything (``gc.py``: collectors skip rows another
holds), but they would double the load for no gain, and a beat scheduler can easily fire twice
(two beats deployed by mistake, a run slower than its interval).  So each run first takes a
lock without waiting; a run that cannot take it is skipped and says so in its log and result.

The PostgreSQL lock is a session advisory lock: the database releases it when the holder's
connection ends, so a worker killed mid-run never leaves the lock behind.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from trove_dist.cas.cas import CAS

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger("trove_dist.cas.scheduled")


class GCLock(Protocol):
    def acquire(self) -> bool:
        """Take the lock if it is free; never wait."""

    def release(self) -> None: ...


class InProcessLock:
    """For collectors that are threads of one process (and for tests)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        return self._lock.acquire(blocking=False)

    def release(self) -> None:
        self._lock.release()


class PostgresAdvisoryLock:
    """``pg_try_advisory_lock`` on a key derived from ``name``, on a connection of its own (an
    advisory lock belongs to a session, so it cannot come from a shared pool)."""

    def __init__(self, conninfo: str, name: str = "trove-cas-gc") -> None:
        self.conninfo = conninfo
        self.name = name
        self.key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
        self._conn: psycopg.Connection[Any] | None = None

    def acquire(self) -> bool:
        import psycopg  # an optional dependency, needed only by this lock

        if self._conn is not None:
            raise RuntimeError(f"the advisory lock {self.name!r} is already held by this object")
        conn = psycopg.connect(self.conninfo, autocommit=True)
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except BaseException:
            conn.close()
            raise
        if not (row and row[0]):
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
        finally:
            conn.close()  # ending the session releases the lock even if the unlock failed


@dataclass(frozen=True, slots=True)
class ScheduledRun:
    """What one scheduled run did (JSON-ready through ``as_dict``, for the task result)."""

    collected: bool
    seconds: float
    gc: dict[str, Any] | None = None
    sweep: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"collected": self.collected, "seconds": self.seconds, "gc": self.gc, "sweep": self.sweep}


def run_scheduled_gc(cas: CAS, lock: GCLock, *, sweep_orphans: bool = False) -> ScheduledRun:
    """One GC run under ``lock`` (skipped if another run holds it), logged; with
    ``sweep_orphans`` also the orphan sweep, which lists the whole bucket (run it less often)."""
    started = time.perf_counter()
    if not lock.acquire():
        logger.info("CAS GC of bucket %r skipped: another collector holds the lock", cas.bucket)
        return ScheduledRun(collected=False, seconds=0.0)
    try:
        result = cas.gc()
        swept = cas.sweep_orphans() if sweep_orphans else None
    finally:
        lock.release()
    seconds = round(time.perf_counter() - started, 3)
    level = logging.WARNING if result.errors or (swept and swept.errors) else logging.INFO
    logger.log(
        level,
        "CAS GC of bucket %r: scanned %d, deleted %d, freed %d bytes, %d errors%s in %.3f s",
        cas.bucket,
        result.scanned,
        result.deleted,
        result.freed_bytes,
        len(result.errors),
        f"; orphans {swept.orphans}, temporaries {swept.temporaries}" if swept else "",
        seconds,
    )
    return ScheduledRun(True, seconds, result.as_dict(), swept.as_dict() if swept else None)
