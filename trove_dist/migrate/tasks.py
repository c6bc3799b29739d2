"""The migration's Celery tasks: thin wrappers around the step functions.

Arguments are a migration id with a page number, a batch id or a stream id — never keys in bulk,
never credentials (Flower shows arguments).  All of them run on the ``writer`` queue: listing and
copying are I/O, and the chunk transforms of large objects already go to ``middleware``.  Each
worker process builds its migration runtime once: the Redis migration store, and the stream
runtime of ``trove_dist.dist`` (whose backends resolve a migration's DSN-named stores).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from celery import Celery, Task

from trove_dist.dist.config import DistConfig
from trove_dist.dist.tasks import CeleryDispatcher, build_runtime
from trove_dist.migrate import batches, finish, planner, streams
from trove_dist.migrate.redis_state import RedisMigrationStore
from trove_dist.migrate.runtime import MigrationRuntime
from trove_dist.stream import StreamEngine
from trove_dist.stream.engine import RetryLater

PLAN = "trove.migrate.plan"
BATCH = "trove.migrate.batch"
SETTLE = "trove.migrate.settle"
FINISH = "trove.migrate.finish"
QUEUE = "writer"


def migration_store(config: DistConfig) -> RedisMigrationStore:
    return RedisMigrationStore.from_url(config.redis_url, prefix=f"{config.prefix}migrate:")


class CeleryMigrationDispatcher:
    def __init__(self, app: Celery) -> None:
        self.app = app

    def plan(self, migration_id: str, page: int) -> None:
        self.app.send_task(PLAN, args=[migration_id, page], queue=QUEUE)

    def batch(self, migration_id: str, batch_id: str) -> None:
        self.app.send_task(BATCH, args=[migration_id, batch_id], queue=QUEUE)

    def settle(self, migration_id: str, stream_id: str) -> None:
        self.app.send_task(SETTLE, args=[migration_id, stream_id], queue=QUEUE)

    def finish(self, migration_id: str) -> None:
        self.app.send_task(FINISH, args=[migration_id], queue=QUEUE)


_runtime: MigrationRuntime | None = None
_runtime_lock = threading.Lock()


def _worker_runtime(app: Celery) -> MigrationRuntime:
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            config: DistConfig = app.conf.trove
            trove = config.load_trove()  # the chunk codecs, and any driver scheme it registers
            engine = StreamEngine(build_runtime(config, trove), CeleryDispatcher(app))
            _runtime = MigrationRuntime(migration_store(config), engine)
        return _runtime


def _run(task: Task, migration_id: str, step: Callable[[MigrationRuntime, CeleryMigrationDispatcher], object]) -> None:
    runtime = _worker_runtime(task.app)
    try:
        finish.guarded(runtime, migration_id, lambda: step(runtime, CeleryMigrationDispatcher(task.app)))
    except RetryLater as retry:
        raise task.retry(countdown=retry.delay) from retry


def register_migration_tasks(app: Celery) -> None:
    @app.task(name=PLAN, bind=True, ignore_result=True, max_retries=None)  # type: ignore[untyped-decorator]
    def plan(self: Task, migration_id: str, page: int) -> None:
        _run(self, migration_id, lambda rt, d: planner.plan_page(rt, d, migration_id, page))

    @app.task(name=BATCH, bind=True, ignore_result=True, max_retries=None)  # type: ignore[untyped-decorator]
    def batch(self: Task, migration_id: str, batch_id: str) -> None:
        _run(self, migration_id, lambda rt, d: batches.run_batch(rt, d, migration_id, batch_id))

    @app.task(name=SETTLE, bind=True, ignore_result=True, max_retries=None)  # type: ignore[untyped-decorator]
    def settle(self: Task, migration_id: str, stream_id: str) -> None:
        _run(self, migration_id, lambda rt, d: streams.settle(rt, d, migration_id, stream_id))

    @app.task(name=FINISH, bind=True, ignore_result=True, max_retries=None)  # type: ignore[untyped-decorator]
    def finish_migration(self: Task, migration_id: str) -> None:
        _run(self, migration_id, lambda rt, d: finish.finish(rt, migration_id))
