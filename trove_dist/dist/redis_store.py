"""Stream state in Redis, shared by producers and every worker process.

Keys, under a configurable prefix (``trove:`` by default), per stream ``S``:

    S:spec      the StreamSpec as JSON (ids and references only)
    S:meta      hash: state, error, upload_id, total, next_frame, finalized, counters, times
    S:received  set of chunk indices whose raw bytes were staged by a producer
    S:frames    hash: chunk index -> "stored,plain"
    S:parts     hash: part number -> Part as JSON

Each operation is one atomic step: single commands where they suffice (HSETNX to record a
frame once, HSETNX to claim finalisation once) and optimistic transactions (WATCH / MULTI /
EXEC, retried on conflict) where a decision reads state first (transitions, cutting parts,
recording a part).  Connection failures are retried with backoff for a bounded time, so a Redis
restart of a few seconds stalls the pipeline instead of failing it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import Any, TypeVar, cast

import redis
from redis.client import Pipeline

from trove_dist.driver.retry import RetryPolicy
from trove_dist.stream.assembly import plan_cuts
from trove_dist.stream.records import Part, StreamCounts, StreamSpec, StreamStatus
from trove_dist.stream.state import InvalidTransition, StreamState, allowed
from trove_dist.stream.store import StreamNotFound, StreamStore, build_status

T = TypeVar("T")
#: How many frames past the cut point a single cut looks at (bounds each cut's work).
_CUT_WINDOW = 512
_TRANSIENT = (redis.ConnectionError, redis.TimeoutError)


class RedisStreamStore(StreamStore):
    def __init__(
        self,
        client: redis.Redis,
        prefix: str = "trove:",
        retry: RetryPolicy | None = None,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.retry = retry or RetryPolicy(attempts=40, base_delay=0.1, max_delay=1.0)
        self._specs: dict[str, StreamSpec] = {}

    @classmethod
    def from_url(cls, url: str, prefix: str = "trove:") -> RedisStreamStore:
        return cls(redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5), prefix)

    def _k(self, stream_id: str, part: str) -> str:
        return f"{self.prefix}{stream_id}:{part}"

    def _do(self, what: str, operation: Callable[[], T]) -> T:
        return self.retry.call(
            operation, transient=lambda exc: isinstance(exc, _TRANSIENT), backend="redis", what=what
        )

    def _transaction(self, what: str, keys: list[str], body: Callable[[Pipeline], T]) -> T:
        """Run ``body`` (reads, then ``pipe.multi()`` and writes) until no watched key changed."""

        def attempt() -> T:
            while True:
                with self.client.pipeline() as pipe:
                    try:
                        pipe.watch(*keys)  # type: ignore[no-untyped-call]
                        result = body(pipe)
                        pipe.execute()
                        return result
                    except redis.WatchError:
                        continue

        return self._do(what, attempt)

    def _meta(self, reader: redis.Redis | Pipeline, stream_id: str) -> dict[str, str]:
        raw = cast(dict[bytes, bytes], reader.hgetall(self._k(stream_id, "meta")))
        if not raw:
            raise StreamNotFound(stream_id)
        return {k.decode(): v.decode() for k, v in raw.items()}

    # ---- the StreamStore contract -------------------------------------------------------

    def create(self, spec: StreamSpec) -> None:
        now = str(time.time())
        meta = {"state": StreamState.IDLE.value, "next_frame": "0", "created": now, "updated": now}

        def body(pipe: Pipeline) -> None:
            if pipe.exists(self._k(spec.stream_id, "meta")):
                raise ValueError(f"stream {spec.stream_id} already exists")
            pipe.multi()
            pipe.set(self._k(spec.stream_id, "spec"), spec.to_json())
            pipe.hset(self._k(spec.stream_id, "meta"), mapping=_fields(meta))

        self._transaction("create stream", [self._k(spec.stream_id, "meta")], body)

    def _spec_cached(self, stream_id: str) -> StreamSpec:
        """A stream's spec never changes: each process reads it once."""
        spec = self._specs.get(stream_id)
        if spec is None:
            spec = self.spec(stream_id)
            if len(self._specs) > 1024:
                self._specs.clear()
            self._specs[stream_id] = spec
        return spec

    def spec(self, stream_id: str) -> StreamSpec:
        raw = self._do("read stream", lambda: self.client.get(self._k(stream_id, "spec")))
        if raw is None:
            raise StreamNotFound(stream_id)
        return StreamSpec.from_json(cast(bytes, raw).decode())

    def state(self, stream_id: str) -> StreamState:
        raw = self._do("read state", lambda: self.client.hget(self._k(stream_id, "meta"), "state"))
        if raw is None:
            raise StreamNotFound(stream_id)
        return StreamState(cast(bytes, raw).decode())

    def transition(
        self,
        stream_id: str,
        wanted: StreamState,
        *,
        only_from: Iterable[StreamState] | None = None,
        error: str | None = None,
    ) -> StreamState:
        sources = set(only_from) if only_from is not None else None
        meta_key = self._k(stream_id, "meta")

        def body(pipe: Pipeline) -> StreamState:
            current = StreamState(self._meta(pipe, stream_id)["state"])
            if not allowed(current, wanted) or (sources is not None and current not in sources):
                raise InvalidTransition(stream_id, current, wanted)
            update = {"state": wanted.value, "updated": str(time.time())}
            if error is not None:
                update["error"] = error
            pipe.multi()
            pipe.hset(meta_key, mapping=_fields(update))
            return current

        return self._transaction("change stream state", [meta_key], body)

    def set_upload_id(self, stream_id: str, upload_id: str) -> str:
        key = self._k(stream_id, "meta")
        self._do("record upload id", lambda: self.client.hsetnx(key, "upload_id", upload_id))
        current = self.upload_id(stream_id)
        assert current is not None
        return current

    def upload_id(self, stream_id: str) -> str | None:
        raw = self._do("read upload id", lambda: self.client.hget(self._k(stream_id, "meta"), "upload_id"))
        return cast(bytes, raw).decode() if raw is not None else None

    def set_total(self, stream_id: str, total: int) -> None:
        meta_key = self._k(stream_id, "meta")

        def body(pipe: Pipeline) -> None:
            current = self._meta(pipe, stream_id).get("total")
            if current is not None and int(current) != total:
                raise ValueError(f"stream {stream_id} has {current} chunks, not {total}")
            pipe.multi()
            pipe.hset(meta_key, "total", str(total))

        self._transaction("record chunk count", [meta_key], body)

    def mark_received(self, stream_id: str, index: int) -> None:
        self._do("mark chunk received", lambda: self.client.sadd(self._k(stream_id, "received"), index))

    #: HSETNX the frame, and only if it was new, count its bytes: one atomic step.
    _RECORD_FRAME = """
    if redis.call('hsetnx', KEYS[1], ARGV[1], ARGV[2]) == 1 then
        redis.call('hincrby', KEYS[2], 'bytes_in', ARGV[3])
        return 1
    end
    return 0
    """

    def record_frame(self, stream_id: str, index: int, stored: int, plain: int) -> bool:
        keys = [self._k(stream_id, "frames"), self._k(stream_id, "meta")]
        return bool(
            self._do(
                "record frame",
                lambda: self.client.eval(self._RECORD_FRAME, 2, *keys, str(index), f"{stored},{plain}", str(plain)),
            )
        )

    def has_frame(self, stream_id: str, index: int) -> bool:
        key = self._k(stream_id, "frames")
        return bool(self._do("check frame", lambda: self.client.hexists(key, str(index))))

    def frame_sizes(self, stream_id: str) -> dict[int, tuple[int, int]]:
        key = self._k(stream_id, "frames")
        raw = cast(dict[bytes, bytes], self._do("read frames", lambda: self.client.hgetall(key)))
        out: dict[int, tuple[int, int]] = {}
        for index, value in raw.items():
            stored, plain = value.decode().split(",")
            out[int(index)] = (int(stored), int(plain))
        return out

    def cut_parts(self, stream_id: str, header_size: int, cut_by: int) -> list[Part]:
        meta_key = self._k(stream_id, "meta")
        frames_key = self._k(stream_id, "frames")
        parts_key = self._k(stream_id, "parts")
        pending_key = self._k(stream_id, "pending")
        spec = self._spec_cached(stream_id)

        def body(pipe: Pipeline) -> list[Part]:
            meta = self._meta(pipe, stream_id)
            next_frame = int(meta["next_frame"])
            total = int(meta["total"]) if "total" in meta else None
            indices = [str(i) for i in range(next_frame, next_frame + _CUT_WINDOW)]
            values = cast(list[bytes | None], pipe.hmget(frames_key, indices))
            frames = {
                int(i): int(v.decode().split(",")[0]) for i, v in zip(indices, values, strict=True) if v is not None
            }
            count = int(meta.get("parts_cut", "0"))
            new = plan_cuts(
                frames, next_frame, count + 1, total, spec.part_min, spec.max_parts, header_size, cut_by, time.time()
            )
            pipe.multi()
            if new:
                pipe.hset(parts_key, mapping=_fields({str(p.number): json.dumps(asdict(p)) for p in new}))
                pipe.sadd(pending_key, *(p.number for p in new))
                pipe.hset(meta_key, "next_frame", str(new[-1].last + 1))
                pipe.hincrby(meta_key, "parts_cut", len(new))
            return new

        return self._transaction("cut parts", [meta_key], body)

    def parts(self, stream_id: str) -> list[Part]:
        raw = cast(dict[bytes, bytes], self._do("read parts", lambda: self.client.hgetall(self._k(stream_id, "parts"))))
        return sorted((Part(**json.loads(v)) for v in raw.values()), key=lambda p: p.number)

    #: Record one part as uploaded (once), count it, and say whether every part is now stored:
    #: constant work per part, whatever the stream's length.
    _PART_UPLOADED = """
    local raw = redis.call('hget', KEYS[1], ARGV[1])
    if not raw then return redis.error_reply('no such part') end
    local part = cjson.decode(raw)
    if part['etag'] ~= cjson.null and part['etag'] ~= nil then return 0 end
    part['etag'] = ARGV[2]
    part['size'] = tonumber(ARGV[3])
    redis.call('hset', KEYS[1], ARGV[1], cjson.encode(part))
    redis.call('srem', KEYS[2], ARGV[1])
    redis.call('hincrby', KEYS[3], 'stored', part['last'] - part['first'] + 1)
    redis.call('hset', KEYS[3], 'updated', ARGV[4])
    local uploaded = redis.call('hincrby', KEYS[3], 'parts_uploaded', 1)
    local cut = tonumber(redis.call('hget', KEYS[3], 'parts_cut') or '0')
    local next_frame = tonumber(redis.call('hget', KEYS[3], 'next_frame') or '0')
    local total = redis.call('hget', KEYS[3], 'total')
    if total and uploaded == cut and next_frame >= tonumber(total) then return 2 end
    return 1
    """

    def part_uploaded(self, stream_id: str, number: int, etag: str, size: int) -> bool:
        keys = [self._k(stream_id, "parts"), self._k(stream_id, "pending"), self._k(stream_id, "meta")]
        result = self._do(
            "record part",
            lambda: self.client.eval(self._PART_UPLOADED, 3, *keys, str(number), etag, str(size), str(time.time())),
        )
        return int(cast(int, result)) == 2

    def pending_parts(self, stream_id: str) -> list[Part]:
        def read() -> list[bytes | None]:
            numbers = cast(set[bytes], self.client.smembers(self._k(stream_id, "pending")))
            if not numbers:
                return []
            return cast(list[bytes | None], self.client.hmget(self._k(stream_id, "parts"), sorted(numbers)))

        raw = self._do("read pending parts", read)
        return sorted((Part(**json.loads(v)) for v in raw if v is not None), key=lambda p: p.number)

    def claim_finalize(self, stream_id: str) -> bool:
        key = self._k(stream_id, "meta")
        return bool(self._do("claim finalize", lambda: self.client.hsetnx(key, "finalized", "1")))

    def status(self, stream_id: str) -> StreamStatus:
        def read() -> tuple[dict[bytes, bytes], set[bytes], dict[bytes, bytes], dict[bytes, bytes], bytes | None]:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.hgetall(self._k(stream_id, "meta"))
                pipe.smembers(self._k(stream_id, "received"))
                pipe.hgetall(self._k(stream_id, "frames"))
                pipe.hgetall(self._k(stream_id, "parts"))
                pipe.get(self._k(stream_id, "spec"))
                return cast(
                    tuple[dict[bytes, bytes], set[bytes], dict[bytes, bytes], dict[bytes, bytes], bytes | None],
                    tuple(pipe.execute()),
                )

        meta_raw, received, frames_raw, parts_raw, spec_raw = self._do("read status", read)
        if not meta_raw or spec_raw is None:
            raise StreamNotFound(stream_id)
        meta = {k.decode(): v.decode() for k, v in meta_raw.items()}
        frames = {int(k): tuple(int(x) for x in v.decode().split(",")) for k, v in frames_raw.items()}
        parts = [Part(**json.loads(v)) for v in parts_raw.values()]
        spec = StreamSpec.from_json(spec_raw.decode())
        return build_status(
            stream_id,
            StreamState(meta["state"]),
            int(meta["total"]) if "total" in meta else None,
            (int(i) for i in received),
            cast(dict[int, tuple[int, int]], frames),
            parts,
            spec.source is not None,
            meta.get("error"),
            meta.get("upload_id"),
            float(meta["created"]),
            float(meta["updated"]),
        )

    def counts(self, stream_id: str) -> StreamCounts:
        def read() -> list[Any]:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.hmget(self._k(stream_id, "meta"), ["state", "total", "stored", "bytes_in"])
                pipe.scard(self._k(stream_id, "received"))
                pipe.hlen(self._k(stream_id, "frames"))
                return pipe.execute()

        (state, total, stored, bytes_in), received, transformed = self._do("read counts", read)
        if state is None:
            raise StreamNotFound(stream_id)
        return StreamCounts(
            StreamState(state.decode()),
            int(total) if total is not None else None,
            max(int(received), int(transformed)),
            int(transformed),
            int(stored or 0),
            int(bytes_in or 0),
        )

    def expire(self, stream_id: str, seconds: float) -> None:
        keys = [self._k(stream_id, part) for part in ("spec", "meta", "received", "frames", "parts", "pending")]

        def run() -> None:
            with self.client.pipeline(transaction=True) as pipe:
                for key in keys:
                    pipe.expire(key, max(1, int(seconds)))
                pipe.execute()

        self._do("expire stream", run)


def _fields(values: dict[str, str]) -> Any:
    """redis-py's ``hset(mapping=...)`` annotation is invariant in the key type; this is that."""
    return values
