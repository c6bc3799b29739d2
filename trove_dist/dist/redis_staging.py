"""Chunk staging in Redis: the claim-check store between pipeline steps.

Entries expire (``ttl``) so an abandoned stream cannot pin memory forever, and a put is refused
with ``StagingFull`` while the Redis server's memory use is above ``max_bytes`` — the bound that
keeps a burst of producers from exhausting it (callers back off and retry; nothing is lost).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TypeVar, cast

import redis

from trove_dist.driver.retry import RetryPolicy
from trove_dist.stream.staging import Staging, StagingFull

T = TypeVar("T")
_TRANSIENT = (redis.ConnectionError, redis.TimeoutError)


class RedisStaging(Staging):
    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "trove:staging:",
        ttl: int = 6 * 3600,
        max_bytes: int = 1024 * 1024 * 1024,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl = ttl
        self.max_bytes = max_bytes
        self.retry = retry or RetryPolicy(attempts=40, base_delay=0.1, max_delay=1.0)
        self._memory_checked = 0.0
        self._memory_used = 0

    @classmethod
    def from_url(cls, url: str, **options: object) -> RedisStaging:
        client = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=5)
        return cls(client, **options)  # type: ignore[arg-type]

    def _key(self, stream_id: str, name: str) -> str:
        return f"{self.prefix}{stream_id}:{name}"

    def _index(self, stream_id: str) -> str:
        return f"{self.prefix}{stream_id}"

    def _do(self, what: str, operation: Callable[[], T]) -> T:
        return self.retry.call(
            operation,
            transient=lambda exc: isinstance(exc, _TRANSIENT),
            backend="redis staging",
            what=what,
        )

    def used_bytes(self) -> int:
        """Redis's own count of the memory it uses (cached for 100 ms)."""
        now = time.monotonic()
        if now - self._memory_checked > 0.1:
            info = cast(dict[str, int], self._do("read memory use", lambda: self.client.info("memory")))
            self._memory_used = int(info["used_memory"])
            self._memory_checked = now
        return self._memory_used

    def put(self, stream_id: str, name: str, data: bytes) -> None:
        if self.used_bytes() + len(data) > self.max_bytes:
            raise StagingFull(f"redis uses {self._memory_used} bytes; staging is bounded at {self.max_bytes}")

        def run() -> None:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.set(self._key(stream_id, name), data, ex=self.ttl)
                pipe.sadd(self._index(stream_id), name)
                pipe.expire(self._index(stream_id), self.ttl)
                pipe.execute()

        self._do("stage", run)

    def get(self, stream_id: str, name: str) -> bytes | None:
        return cast(bytes | None, self._do("read staged", lambda: self.client.get(self._key(stream_id, name))))

    def delete(self, stream_id: str, names: Iterable[str]) -> None:
        names = list(names)
        if not names:
            return

        def run() -> None:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.delete(*(self._key(stream_id, n) for n in names))
                pipe.srem(self._index(stream_id), *names)
                pipe.execute()

        self._do("release staged", run)

    def drop(self, stream_id: str) -> None:
        members = cast(set[bytes], self._do("list staged", lambda: self.client.smembers(self._index(stream_id))))
        self.delete(stream_id, [m.decode() for m in members])
        self._do("drop staging", lambda: self.client.delete(self._index(stream_id)))
