"""Migration state in Redis, readable by the CLI and every worker.

Keys, under a prefix (``trove:migrate:`` by default), for migration ``M``:

    M:spec        the MigrationSpec as JSON
    M:meta        hash: phase, started, updated, finished, error, runs
    M:claims      hash: one-time claims (HSETNX)
    M:outcomes    hash: relative key -> Outcome ("status<TAB>size<TAB>json")
    M:counters    hash: objects_/bytes_ planned, copied, skipped, failed, deleted; objects_verified
    M:pages       hash: page number -> PageMark
    M:batches     hash: batch id -> its items (the claim check a batch task's argument names)
    M:extraneous  hash: destination-only relative key -> size
    M:deleted     set of extraneous keys deleted
    M:streams     hash: running stream id -> StreamProgress ("moved,sent")
    pair:P        hash: relative key -> "source etag<TAB>destination etag" (no migration id)

Outcomes change by compare-and-set in one Lua script that also moves the counters, many changes
per round trip (a planner page writes up to a thousand).  Connection failures are retried with
backoff for a bounded time, as the stream store does, so a short Redis restart stalls a
migration instead of failing it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar, cast

import redis

from trove_dist.driver.retry import RetryPolicy
from trove_dist.migrate.spec import MigrationSpec
from trove_dist.migrate.state import (
    BatchItem,
    Change,
    Counters,
    Meta,
    MigrationNotFound,
    MigrationStore,
    Outcome,
    PageMark,
    Phase,
    StreamProgress,
    counter_deltas,
)

T = TypeVar("T")
_TRANSIENT = (redis.ConnectionError, redis.TimeoutError)
_SCAN_COUNT = 1000
#: Memories of a pairing outlive any one migration; a pairing unused this long is forgotten.
PAIR_TTL = 90 * 24 * 3600

# KEYS: outcomes, counters.  ARGV: n, then per change: field, expected ('' = absent), new,
# number of counter deltas, then (name, delta) pairs.  Returns one 1/0 per change.
_APPLY = """
local results = {}
local i = 2
for c = 1, tonumber(ARGV[1]) do
  local field, expected, new, count = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  i = i + 4
  local current = redis.call('HGET', KEYS[1], field) or ''
  if current == expected then
    redis.call('HSET', KEYS[1], field, new)
    for d = 1, count do
      redis.call('HINCRBY', KEYS[2], ARGV[i + 2 * d - 2], ARGV[i + 2 * d - 1])
    end
    results[c] = 1
  else
    results[c] = 0
  end
  i = i + 2 * count
end
return results
"""


class RedisMigrationStore(MigrationStore):
    def __init__(self, client: redis.Redis, prefix: str = "trove:migrate:", retry: RetryPolicy | None = None) -> None:
        self.client = client
        self.prefix = prefix
        self.retry = retry or RetryPolicy(attempts=40, base_delay=0.1, max_delay=1.0)
        self._apply = client.register_script(_APPLY)

    @classmethod
    def from_url(cls, url: str, prefix: str = "trove:migrate:") -> RedisMigrationStore:
        return cls(redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5), prefix)

    def _k(self, migration_id: str, part: str) -> str:
        return f"{self.prefix}{migration_id}:{part}"

    def _pair(self, pair: str) -> str:
        return f"{self.prefix}pair:{pair}"

    def _do(self, what: str, operation: Callable[[], T]) -> T:
        return self.retry.call(operation, transient=lambda exc: isinstance(exc, _TRANSIENT), backend="redis", what=what)

    def _require(self, migration_id: str) -> None:
        if not self._do("read migration", lambda: self.client.exists(self._k(migration_id, "meta"))):
            raise MigrationNotFound(migration_id)

    # ---- lifecycle ----------------------------------------------------------------------

    def create(self, spec: MigrationSpec) -> None:
        now = str(time.time())
        meta = {"phase": Phase.PLANNING.value, "started": now, "updated": now, "runs": "1"}
        if not self._do(
            "create migration", lambda: self.client.hsetnx(self._k(spec.migration_id, "meta"), "phase", "")
        ):
            raise ValueError(f"migration {spec.migration_id} already exists")

        def run() -> None:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.set(self._k(spec.migration_id, "spec"), spec.to_json())
                pipe.hset(self._k(spec.migration_id, "meta"), mapping=_fields(meta))
                pipe.execute()

        self._do("create migration", run)

    def reopen(self, spec: MigrationSpec) -> None:
        migration_id = spec.migration_id
        self._require(migration_id)
        now = str(time.time())

        def run() -> None:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.set(self._k(migration_id, "spec"), spec.to_json())
                pipe.delete(*(self._k(migration_id, part) for part in ("pages", "claims", "extraneous", "streams")))
                meta = self._k(migration_id, "meta")
                pipe.hdel(meta, "finished", "error")
                pipe.hset(meta, mapping=_fields({"phase": Phase.PLANNING.value, "started": now, "updated": now}))
                pipe.hincrby(meta, "runs", 1)
                pipe.persist(meta)
                for part in ("outcomes", "counters", "batches", "deleted"):
                    pipe.persist(self._k(migration_id, part))
                pipe.execute()

        self._do("reopen migration", run)

    def spec(self, migration_id: str) -> MigrationSpec:
        raw = self._do("read migration", lambda: self.client.get(self._k(migration_id, "spec")))
        if raw is None:
            raise MigrationNotFound(migration_id)
        return MigrationSpec.from_json(cast(bytes, raw).decode())

    def meta(self, migration_id: str) -> Meta:
        raw = cast(
            dict[bytes, bytes], self._do("read migration", lambda: self.client.hgetall(self._k(migration_id, "meta")))
        )
        if not raw or not raw.get(b"phase"):
            raise MigrationNotFound(migration_id)
        meta = {k.decode(): v.decode() for k, v in raw.items()}
        return Meta(
            phase=Phase(meta["phase"]),
            started_at=float(meta["started"]),
            updated_at=float(meta["updated"]),
            finished_at=float(meta["finished"]) if "finished" in meta else None,
            error=meta.get("error"),
            runs=int(meta.get("runs", "1")),
        )

    def set_phase(self, migration_id: str, phase: Phase, error: str | None = None) -> None:
        self._require(migration_id)
        now = str(time.time())
        update = {"phase": phase.value, "updated": now}
        if phase.ended:
            update["finished"] = now
        if error is not None:
            update["error"] = error
        self._do("record phase", lambda: self.client.hset(self._k(migration_id, "meta"), mapping=_fields(update)))

    def claim(self, migration_id: str, name: str) -> bool:
        return bool(self._do("claim", lambda: self.client.hsetnx(self._k(migration_id, "claims"), name, "1")))

    def claimed(self, migration_id: str, name: str) -> bool:
        return bool(self._do("read claim", lambda: self.client.hexists(self._k(migration_id, "claims"), name)))

    def expire(self, migration_id: str, seconds: float) -> None:
        parts = ("spec", "meta", "claims", "outcomes", "counters", "pages", "batches", "extraneous", "deleted")

        def run() -> None:
            with self.client.pipeline(transaction=True) as pipe:
                for part in (*parts, "streams"):
                    pipe.expire(self._k(migration_id, part), max(1, int(seconds)))
                pipe.execute()

        self._do("expire migration", run)

    # ---- outcomes -----------------------------------------------------------------------

    def outcomes(self, migration_id: str, keys: list[str]) -> dict[str, Outcome | None]:
        if not keys:
            return {}
        raw = cast(
            list[bytes | None],
            self._do("read outcomes", lambda: self.client.hmget(self._k(migration_id, "outcomes"), keys)),
        )
        return {key: Outcome.decode(v.decode()) if v is not None else None for key, v in zip(keys, raw, strict=True)}

    def apply(self, migration_id: str, changes: list[Change]) -> list[bool]:
        if not changes:
            return []
        args: list[Any] = [len(changes)]
        for key, old, new in changes:
            deltas = counter_deltas(old, new)
            args += [key, old.encode() if old is not None else "", new.encode(), len(deltas)]
            for name, value in deltas.items():
                args += [name, value]
        keys = [self._k(migration_id, "outcomes"), self._k(migration_id, "counters")]
        results = cast(list[int], self._do("record outcomes", lambda: self._apply(keys=keys, args=args)))
        return [bool(r) for r in results]

    def counters(self, migration_id: str) -> Counters:
        raw = cast(
            dict[bytes, bytes],
            self._do("read counters", lambda: self.client.hgetall(self._k(migration_id, "counters"))),
        )
        return Counters.from_mapping({k.decode(): int(v) for k, v in raw.items()})

    def iter_outcomes(self, migration_id: str) -> Iterator[tuple[str, Outcome]]:
        for key, value in self._scan(self._k(migration_id, "outcomes")):
            yield key, Outcome.decode(value)

    def _scan(self, name: str) -> Iterator[tuple[str, str]]:
        cursor = 0
        while True:
            cursor, items = cast(
                tuple[int, dict[bytes, bytes]],
                self._do("scan", lambda c=cursor: self.client.hscan(name, c, count=_SCAN_COUNT)),  # type: ignore[misc]
            )
            for key, value in items.items():
                yield key.decode(), value.decode()
            if cursor == 0:
                return

    # ---- planning -----------------------------------------------------------------------

    def set_page(self, migration_id: str, page: int, mark: PageMark) -> None:
        self._do("record page", lambda: self.client.hsetnx(self._k(migration_id, "pages"), str(page), mark.encode()))

    def page(self, migration_id: str, page: int) -> PageMark | None:
        raw = self._do("read page", lambda: self.client.hget(self._k(migration_id, "pages"), str(page)))
        return PageMark.decode(cast(bytes, raw).decode()) if raw is not None else None

    def put_batch(self, migration_id: str, batch_id: str, items: list[BatchItem]) -> None:
        text = BatchItem.encode_all(items)
        self._do("record batch", lambda: self.client.hset(self._k(migration_id, "batches"), batch_id, text))

    def batch(self, migration_id: str, batch_id: str) -> list[BatchItem]:
        raw = self._do("read batch", lambda: self.client.hget(self._k(migration_id, "batches"), batch_id))
        return BatchItem.decode_all(cast(bytes, raw).decode()) if raw is not None else []

    def add_extraneous(self, migration_id: str, keys: Mapping[str, int]) -> None:
        if keys:
            mapping = {k: str(v) for k, v in keys.items()}
            self._do(
                "record extraneous",
                lambda: self.client.hset(self._k(migration_id, "extraneous"), mapping=_fields(mapping)),
            )

    def iter_extraneous(self, migration_id: str) -> Iterator[tuple[str, int]]:
        for key, size in self._scan(self._k(migration_id, "extraneous")):
            yield key, int(size)

    def mark_deleted(self, migration_id: str, key: str, size: int) -> bool:
        if not self._do("record deletion", lambda: self.client.sadd(self._k(migration_id, "deleted"), key)):
            return False
        counters = self._k(migration_id, "counters")

        def run() -> None:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.hincrby(counters, "objects_deleted", 1)
                pipe.hincrby(counters, "bytes_deleted", size)
                pipe.execute()

        self._do("count deletion", run)
        return True

    def deleted(self, migration_id: str) -> Iterator[str]:
        name = self._k(migration_id, "deleted")
        cursor = 0
        while True:
            cursor, members = cast(
                tuple[int, list[bytes]],
                self._do("scan", lambda c=cursor: self.client.sscan(name, c, count=_SCAN_COUNT)),  # type: ignore[misc]
            )
            yield from (m.decode() for m in members)
            if cursor == 0:
                return

    # ---- streams in flight ----------------------------------------------------------------

    def set_stream(self, migration_id: str, stream_id: str, progress: StreamProgress | None) -> None:
        name = self._k(migration_id, "streams")
        if progress is None:
            self._do("record stream", lambda: self.client.hdel(name, stream_id))
        else:
            self._do("record stream", lambda: self.client.hset(name, stream_id, progress.encode()))

    def streams(self, migration_id: str) -> dict[str, StreamProgress]:
        name = self._k(migration_id, "streams")
        raw = cast(dict[bytes, bytes], self._do("read streams", lambda: self.client.hgetall(name)))
        return {k.decode(): StreamProgress.decode(v.decode()) for k, v in raw.items()}

    # ---- pairings -------------------------------------------------------------------------

    def remembered(self, pair: str, keys: list[str]) -> dict[str, tuple[str, str]]:
        if not keys:
            return {}
        raw = cast(list[bytes | None], self._do("read memory", lambda: self.client.hmget(self._pair(pair), keys)))
        out: dict[str, tuple[str, str]] = {}
        for key, value in zip(keys, raw, strict=True):
            if value is not None:
                source, _, destination = value.decode().partition("\t")
                out[key] = (source, destination)
        return out

    def remember(self, pair: str, copies: Mapping[str, tuple[str, str]]) -> None:
        if not copies:
            return
        name = self._pair(pair)
        mapping = {key: f"{source}\t{destination}" for key, (source, destination) in copies.items()}

        def run() -> None:
            with self.client.pipeline(transaction=False) as pipe:
                pipe.hset(name, mapping=_fields(mapping))
                pipe.expire(name, PAIR_TTL)
                pipe.execute()

        self._do("remember copy", run)

    def forget(self, pair: str, keys: list[str]) -> None:
        if keys:
            self._do("forget copies", lambda: self.client.hdel(self._pair(pair), *keys))


def _fields(values: dict[str, str]) -> Any:
    """redis-py's ``hset(mapping=...)`` annotation is invariant in the key type; this is that."""
    return values
