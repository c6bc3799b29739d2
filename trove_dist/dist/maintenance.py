"""Scheduled CAS garbage collection, run by Celery beat on the ``maintenance`` queue.

    TROVE_CAS_INDEX          where the CAS index is (a PostgreSQL URL in production)
    TROVE_CAS_BUCKET         the CAS bucket (default "cas")
    TROVE_CAS_GRACE          seconds unreferenced content is kept before GC (default 3600)
    TROVE_CAS_GC_INTERVAL    seconds between runs (default 900; unset TROVE_CAS_INDEX: no schedule)
    TROVE_CAS_SWEEP_EVERY    also sweep orphans on every Nth run (default 24)

Only one collector runs at a time, whatever fires it: with a PostgreSQL index the lock is a
session advisory lock in that database, otherwise a Redis lock with a TTL.  A run that finds the
lock taken is skipped and says so; every run's result is logged and returned (Flower shows it in
the task-succeeded event).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import Any

import redis
from celery import Celery

from trove_dist.cas import CAS
from trove_dist.cas.scheduled import GCLock, PostgresAdvisoryLock, run_scheduled_gc
from trove_dist.dist.config import DistConfig

CAS_GC = "trove.cas_gc"


class RedisLock:
    """``SET key token NX EX ttl``; released only by its holder (compare-and-delete)."""

    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def __init__(self, client: redis.Redis, key: str, ttl: int) -> None:
        self.client = client
        self.key = key
        self.ttl = ttl
        self._token: str | None = None

    def acquire(self) -> bool:
        token = secrets.token_hex(16)
        if self.client.set(self.key, token, nx=True, ex=self.ttl):
            self._token = token
            return True
        return False

    def release(self) -> None:
        token, self._token = self._token, None
        if token is not None:
            self.client.eval(self._RELEASE, 1, self.key, token)


def gc_lock(config: DistConfig, index: str) -> GCLock:
    if index.startswith(("postgresql://", "postgres://")):
        return PostgresAdvisoryLock(index)
    return RedisLock(redis.Redis.from_url(config.redis_url), f"{config.prefix}cas-gc-lock", ttl=6 * 3600)


def register_maintenance(app: Celery, env: Mapping[str, str] | None = None) -> None:
    env = os.environ if env is None else env
    index = env.get("TROVE_CAS_INDEX")
    runs = {"count": 0}

    @app.task(name=CAS_GC, bind=True)  # type: ignore[untyped-decorator]
    def cas_gc(self: Any) -> dict[str, Any]:
        config: DistConfig = self.app.conf.trove
        if not index:
            raise RuntimeError("TROVE_CAS_INDEX is not set: there is no CAS to collect")
        runs["count"] += 1
        trove = config.load_trove()
        cas = CAS(
            trove,
            index=index,
            bucket=env.get("TROVE_CAS_BUCKET", "cas"),
            grace_period=float(env.get("TROVE_CAS_GRACE", "3600")),
        )
        try:
            sweep_every = int(env.get("TROVE_CAS_SWEEP_EVERY", "24"))
            result = run_scheduled_gc(cas, gc_lock(config, index), sweep_orphans=runs["count"] % sweep_every == 0)
            return result.as_dict()
        finally:
            cas.close()
            trove.close()

    if index:
        app.conf.beat_schedule = {
            "cas-gc": {"task": CAS_GC, "schedule": float(env.get("TROVE_CAS_GC_INTERVAL", "900"))}
        }
