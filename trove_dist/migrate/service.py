"""Starting and following migrations, in this process or through the workers — the same steps.

``Migrations.embedded(stores)`` runs everything here: the stores' drivers, in-memory state, a
thread pool for migration steps and the stream engine's embedded executor.
``Migrations.distributed(config)`` only needs the broker and Redis: the steps run on workers,
which open the stores themselves from their names, with their own credentials.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

from trove_dist.driver.base import Driver
from trove_dist.driver.registry import open_driver
from trove_dist.migrate.executor import ThreadMigrationDispatcher
from trove_dist.migrate.runtime import MigrationDispatcher, MigrationRuntime
from trove_dist.migrate.spec import MigrationSpec
from trove_dist.migrate.state import MemoryMigrationStore, Meta, MigrationNotFound, MigrationStore, PageMark
from trove_dist.migrate.streams import MAX_OPEN_STREAMS, WINDOW_BYTES
from trove_dist.migrate.transforms import make_worker_trove
from trove_dist.stream import StreamEngine, ThreadDispatcher
from trove_dist.stream.engine import Runtime
from trove_dist.stream.staging import MemoryStaging
from trove_dist.stream.store import MemoryStreamStore

if TYPE_CHECKING:  # the Celery side is imported only for a distributed run
    from trove_dist.dist.config import DistConfig


class MigrationMismatch(ValueError):
    """``--id`` names a migration that was asked to do something else."""


@dataclass
class Migrations:
    store: MigrationStore
    dispatch: MigrationDispatcher
    _close: Callable[[], None]

    @classmethod
    def embedded(cls, stores: Mapping[str, str], workers: int | None = None) -> Self:
        """``stores`` maps each backend name to the DSN to open it with (which may hold a
        secret: it never leaves this process)."""
        workers = workers or max(2, os.cpu_count() or 2)
        drivers: dict[str, Driver] = {}
        codecs = make_worker_trove()
        try:
            for name, dsn in stores.items():
                drivers[name] = open_driver(dsn)
        except BaseException:
            _close_all(drivers.values())
            codecs.close()
            raise
        runtime = Runtime(
            store=MemoryStreamStore(),
            staging=MemoryStaging(max_bytes=2 * MAX_OPEN_STREAMS * WINDOW_BYTES),
            backends=drivers.__getitem__,
            codecs_for=codecs.content.codecs_for_any,
        )
        engine = StreamEngine(runtime, ThreadDispatcher(runtime, workers=workers))
        dispatcher = ThreadMigrationDispatcher(MigrationRuntime(MemoryMigrationStore(), engine), workers=workers)

        def close() -> None:
            dispatcher.close()
            engine.close()
            codecs.close()
            _close_all(drivers.values())

        return cls(dispatcher.runtime.store, dispatcher, close)

    @classmethod
    def distributed(cls, config: DistConfig) -> Self:
        from trove_dist.dist.app import create_app
        from trove_dist.dist.tasks import register_tasks
        from trove_dist.migrate.tasks import CeleryMigrationDispatcher, migration_store, register_migration_tasks

        app = create_app(config)
        register_tasks(app)
        register_migration_tasks(app)
        return cls(migration_store(config), CeleryMigrationDispatcher(app), app.close)

    def start(self, spec: MigrationSpec) -> bool:
        """Begin ``spec``, or resume the migration with its id; ``True`` when resuming."""
        mid = spec.migration_id
        try:
            existing = self.store.spec(mid)
        except MigrationNotFound:
            existing = None
        if existing is None:
            self.store.create(spec)
        elif not existing.same_work(spec):
            raise MigrationMismatch(
                f"migration {mid} copies {existing.source} to {existing.destination} with other options; "
                "resume it with the same arguments, or start a new one with another --id"
            )
        else:
            self.store.reopen(spec)
        self.store.set_page(mid, 0, PageMark(None, None))
        self.dispatch.plan(mid, 0)
        return existing is not None

    def wait(self, migration_id: str, on_tick: Callable[[Meta], None], interval: float = 0.2) -> Meta:
        """Poll the state until the migration ends, calling ``on_tick`` each time."""
        while True:
            meta = self.store.meta(migration_id)
            on_tick(meta)
            if meta.phase.ended:
                return meta
            time.sleep(interval)

    def close(self) -> None:
        self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _close_all(drivers: Iterable[Driver]) -> None:
    for driver in drivers:
        driver.close()
