"""The distributed pipeline's settings, read from the environment.

    TROVE_BROKER_URL         Celery broker (redis://… or amqp://…); unset = embedded executor
    TROVE_REDIS_URL          Redis for stream state and staging (default: the broker if it is
                             Redis, else redis://127.0.0.1:6379/0)
    TROVE_REDIS_PREFIX       key prefix for state and staging (default "trove:")
    TROVE_CONFIG             "module:function" returning the workers' Trove (backends and
                             middleware, keys from the workers' own environment)
    TROVE_STAGING_MAX_BYTES  refuse staging while Redis uses more memory than this
    TROVE_STAGING_TTL        seconds a staged chunk may wait (default 6 h)
    TROVE_VISIBILITY_TIMEOUT seconds before the Redis broker redelivers an unacknowledged task
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trove_dist.trove import Trove


@dataclass(frozen=True)
class DistConfig:
    broker_url: str | None = None
    redis_url: str = "redis://127.0.0.1:6379/0"
    prefix: str = "trove:"
    trove_factory: str | None = None
    staging_max_bytes: int = 1024 * 1024 * 1024
    staging_ttl: int = 6 * 3600
    visibility_timeout: int = 3600

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DistConfig:
        env = os.environ if env is None else env
        broker = env.get("TROVE_BROKER_URL") or None
        default_redis = broker if broker and broker.startswith(("redis://", "rediss://")) else cls.redis_url
        return cls(
            broker_url=broker,
            redis_url=env.get("TROVE_REDIS_URL") or default_redis,
            prefix=env.get("TROVE_REDIS_PREFIX", cls.prefix),
            trove_factory=env.get("TROVE_CONFIG") or None,
            staging_max_bytes=int(env.get("TROVE_STAGING_MAX_BYTES", cls.staging_max_bytes)),
            staging_ttl=int(env.get("TROVE_STAGING_TTL", cls.staging_ttl)),
            visibility_timeout=int(env.get("TROVE_VISIBILITY_TIMEOUT", cls.visibility_timeout)),
        )

    @property
    def distributed(self) -> bool:
        return self.broker_url is not None

    def load_trove(self) -> Trove:
        """The Trove the workers use, from ``TROVE_CONFIG``."""
        if not self.trove_factory:
            raise RuntimeError("TROVE_CONFIG is not set: workers need 'module:function' returning their Trove")
        module_name, _, attr = self.trove_factory.partition(":")
        factory: Callable[[], Trove] = getattr(importlib.import_module(module_name), attr)
        return factory()
