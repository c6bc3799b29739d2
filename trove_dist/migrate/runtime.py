"""What a migration step needs in whichever process runs it, and how steps hand on work.

A step gets a ``MigrationRuntime`` (the state store, the stream engine whose backends resolve
migration backend names, and a ``Trove`` per side built once per process) and a
``MigrationDispatcher`` that queues the next steps: Celery tasks when distributed
(``trove_dist.migrate.tasks``), a thread pool in this process otherwise (``executor``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from trove_dist.driver.base import Driver
from trove_dist.migrate.spec import MigrationSpec
from trove_dist.migrate.state import MigrationStore
from trove_dist.migrate.transforms import use_readers, use_transforms
from trove_dist.stream import StreamEngine
from trove_dist.trove import Trove


class MigrationDispatcher(Protocol):
    def plan(self, migration_id: str, page: int) -> None: ...
    def batch(self, migration_id: str, batch_id: str) -> None: ...
    def settle(self, migration_id: str, stream_id: str) -> None: ...
    def finish(self, migration_id: str) -> None: ...


@dataclass
class MigrationRuntime:
    store: MigrationStore
    streams: StreamEngine
    _sides: dict[tuple[str, ...], Trove] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def driver(self, backend: str) -> Driver:
        return self.streams.runtime.backends(backend)

    def source(self, spec: MigrationSpec) -> Trove:
        """The source through the read middleware (framed sources decode to their content)."""
        backend = spec.source.backend
        return self._side(("source", backend), lambda: use_readers(Trove(self.driver(backend))))

    def destination(self, spec: MigrationSpec) -> Trove:
        """The destination through the transforms the migration asked for."""
        backend, chunk = spec.destination.backend, spec.settings.chunk_size
        return self._side(
            ("destination", backend, str(chunk), *spec.transforms),
            lambda: use_transforms(Trove(self.driver(backend), chunk_size=chunk), spec.transforms),
        )

    def _side(self, name: tuple[str, ...], build: Callable[[], Trove]) -> Trove:
        # Never closed: each shares a driver the stream engine's backends own.
        with self._lock:
            trove = self._sides.get(name)
            if trove is None:
                trove = self._sides[name] = build()
            return trove


def dispatch_once(rt: MigrationRuntime, migration_id: str, name: str, send: Callable[[], None]) -> None:
    """Queue a step unless an earlier run of the same task already did.  The claim is taken
    after sending, so a crash in between costs a duplicate step (harmless), never a lost one."""
    if rt.store.claimed(migration_id, name):
        return
    send()
    rt.store.claim(migration_id, name)
