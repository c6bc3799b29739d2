"""The chunk pipeline's Celery tasks: thin wrappers around ``trove_dist.stream.engine``.

Arguments are a stream id and a chunk index — never bytes, never credentials (Flower shows
arguments).  Each worker process builds its runtime once, after the fork: its Trove (backends,
middleware, keys) from ``TROVE_CONFIG``, the Redis state store and staging.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from celery import Celery, Task

from trove_dist.dist.app import FINALIZE, TRANSFORM, WRITE
from trove_dist.dist.config import DistConfig
from trove_dist.dist.redis_staging import RedisStaging
from trove_dist.dist.redis_store import RedisStreamStore
from trove_dist.driver.base import Driver
from trove_dist.driver.registry import open_driver
from trove_dist.stream import engine
from trove_dist.stream.engine import RetryLater, Runtime, StreamFailed
from trove_dist.trove import Trove

log = logging.getLogger("trove_dist.dist")


class CeleryDispatcher:
    """Hands the next step to the queues (the ``Dispatcher`` the engine calls)."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    def transform(self, stream_id: str, index: int) -> None:
        self.app.send_task(TRANSFORM, args=[stream_id, index])

    def write(self, stream_id: str, index: int) -> None:
        self.app.send_task(WRITE, args=[stream_id, index])

    def finalize(self, stream_id: str) -> None:
        self.app.send_task(FINALIZE, args=[stream_id])


def build_runtime(config: DistConfig, trove: Trove) -> Runtime:
    store = RedisStreamStore.from_url(config.redis_url, prefix=config.prefix)
    staging = RedisStaging.from_url(
        config.redis_url,
        prefix=f"{config.prefix}staging:",
        ttl=config.staging_ttl,
        max_bytes=config.staging_max_bytes,
    )
    backends = backend_lookup(trove.backends)
    return Runtime(
        store=store,
        staging=staging,
        backends=backends,
        codecs_for=trove.content.codecs_for_any,
        describe=lambda ref: trove.content.head(backends(ref.backend), ref.bucket, ref.key),
    )


_opened: dict[str, Driver] = {}
_opened_lock = threading.Lock()


def backend_lookup(configured: Mapping[str, Driver]) -> Callable[[str], Driver]:
    """Backends by name: the configured ones, else — for a name that is a DSN (``s3://host``,
    as a migration names its stores) — a driver opened from it once per process.  Such names
    never carry credentials: the driver takes them from the worker's environment, key files or
    SDK chain, as the migration planner requires."""

    def lookup(name: str) -> Driver:
        if name in configured or "://" not in name:
            return configured[name]
        with _opened_lock:
            driver = _opened.get(name)
            if driver is None:
                driver = _opened[name] = open_driver(name)
            return driver

    return lookup


@dataclass
class _WorkerContext:
    trove: Trove
    runtime: Runtime
    dispatcher: CeleryDispatcher


_context: _WorkerContext | None = None
_context_lock = threading.Lock()


def _worker_context(app: Celery) -> _WorkerContext:
    global _context
    with _context_lock:
        if _context is None:
            config: DistConfig = app.conf.trove
            trove = config.load_trove()
            _context = _WorkerContext(trove, build_runtime(config, trove), CeleryDispatcher(app))
        return _context


def _run(task: Task, stream_id: str, step: Callable[[_WorkerContext], object]) -> None:
    context = _worker_context(task.app)
    try:
        engine.run_step(context.runtime, stream_id, lambda: step(context))
    except RetryLater as retry:
        raise task.retry(countdown=retry.delay) from retry
    except StreamFailed as exc:
        log.warning("stream %s failed: %s", stream_id, exc)


def register_tasks(app: Celery) -> None:
    @app.task(name=TRANSFORM, bind=True, ignore_result=True, max_retries=None)  # type: ignore[untyped-decorator]
    def transform(self: Task, stream_id: str, index: int) -> None:
        _run(self, stream_id, lambda c: engine.transform(c.runtime, c.dispatcher, stream_id, index))

    @app.task(name=WRITE, bind=True, ignore_result=True, max_retries=None)  # type: ignore[untyped-decorator]
    def write(self: Task, stream_id: str, index: int) -> None:
        _run(self, stream_id, lambda c: engine.write(c.runtime, c.dispatcher, stream_id, index))

    @app.task(name=FINALIZE, bind=True, ignore_result=True, max_retries=None)  # type: ignore[untyped-decorator]
    def finalize(self: Task, stream_id: str) -> None:
        _run(self, stream_id, lambda c: engine.finalize(c.runtime, stream_id))
