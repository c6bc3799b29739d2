"""The migration state stores' contract, for the in-memory store and the Redis one alike:
compare-and-set outcomes that move the counters exactly once, one-time claims and pages,
deletions counted once, the memory of copies per pairing, and a resume that keeps outcomes."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
import redis as redis_client

from tests.servers.redis_server import RedisServer
from trove_dist.migrate.redis_state import RedisMigrationStore
from trove_dist.migrate.spec import Endpoint, MigrationSpec
from trove_dist.migrate.state import (
    BatchItem,
    MemoryMigrationStore,
    MigrationNotFound,
    MigrationStore,
    Outcome,
    PageMark,
    Phase,
    Status,
    StreamProgress,
)

_ids = itertools.count()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[MigrationStore]:
    if request.param == "memory":
        yield MemoryMigrationStore()
        return
    server: RedisServer = request.getfixturevalue("redis")
    client = redis_client.Redis.from_url(server.url)
    yield RedisMigrationStore(client, prefix=f"state-test-{next(_ids)}:")
    client.close()


def spec(migration_id: str = "m1") -> MigrationSpec:
    return MigrationSpec(migration_id, Endpoint("mem://a", "src"), Endpoint("mem://b", "dst", "x/"))


def test_outcomes_change_by_compare_and_set_and_move_the_counters_once(store: MigrationStore) -> None:
    store.create(spec())
    with pytest.raises(ValueError, match="already exists"):
        store.create(spec())
    pending = Outcome(Status.PENDING, 100, "e1", "new", "batch", "p0-1")
    skipped = Outcome(Status.SKIPPED, 5, "e2", "same")
    assert store.apply("m1", [("k ü", None, pending), ("skip", None, skipped)]) == [True, True]
    assert store.apply("m1", [("k ü", None, pending)]) == [False]  # a twin's write: the stored one changed
    c = store.counters("m1")
    assert (c.objects_planned, c.bytes_planned, c.objects_pending) == (2, 105, 1)
    assert (c.objects_skipped, c.bytes_skipped) == (1, 5)

    copied = Outcome(Status.COPIED, 100, "e1", "new", "batch", "p0-1", "d1", verified=True)
    assert store.record("m1", "k ü", lambda current: copied if current == pending else None) == copied
    assert store.record("m1", "k ü", lambda current: copied if current == pending else None) == copied  # a repeat
    c = store.counters("m1")
    assert (c.objects_copied, c.bytes_copied, c.objects_verified) == (1, 100, 1)
    assert (c.objects_pending, c.objects_planned) == (0, 2)
    failed = Outcome(Status.FAILED, 120, "e3", "boom")
    store.apply("m1", [("k ü", copied, failed)])
    c = store.counters("m1")
    assert (c.objects_copied, c.objects_failed, c.bytes_failed) == (0, 1, 120)
    assert (c.bytes_planned, c.objects_verified) == (125, 0)
    assert dict(store.iter_outcomes("m1")) == {"k ü": failed, "skip": skipped}


def test_claims_pages_batches_and_deletions_happen_once(store: MigrationStore) -> None:
    store.create(spec())
    assert not store.claimed("m1", "finish")
    assert store.claim("m1", "finish")
    assert not store.claim("m1", "finish")
    assert store.claimed("m1", "finish")
    store.set_page("m1", 1, PageMark("c1", "a"))
    store.set_page("m1", 1, PageMark("other", "b"))
    assert store.page("m1", 1) == PageMark("c1", "a")
    assert store.page("m1", 2) is None
    items = [BatchItem("a/ö", 3, "e", "batch"), BatchItem("b", 0, "", "server-copy")]
    store.put_batch("m1", "p0-x", items)
    assert store.batch("m1", "p0-x") == items
    assert store.batch("m1", "nope") == []
    store.add_extraneous("m1", {"old": 7, "older": 9})
    assert sorted(store.iter_extraneous("m1")) == [("old", 7), ("older", 9)]
    assert store.mark_deleted("m1", "old", 7)
    assert not store.mark_deleted("m1", "old", 7)
    assert list(store.deleted("m1")) == ["old"]
    assert (store.counters("m1").objects_deleted, store.counters("m1").bytes_deleted) == (1, 7)
    store.set_stream("m1", "str_1", StreamProgress(10, 2))
    store.set_stream("m1", "str_2", StreamProgress(5, 1))
    store.set_stream("m1", "str_1", None)
    assert store.streams("m1") == {"str_2": StreamProgress(5, 1)}


def test_a_resume_keeps_outcomes_and_clears_the_planning(store: MigrationStore) -> None:
    store.create(spec())
    store.apply("m1", [("k", None, Outcome(Status.COPIED, 1, "e"))])
    store.set_page("m1", 0, PageMark(None, None))
    store.claim("m1", "finish")
    store.add_extraneous("m1", {"x": 1})
    store.set_stream("m1", "str_1", StreamProgress(1, 1))
    store.set_phase("m1", Phase.COMPLETED)
    assert store.meta("m1").finished_at is not None
    store.reopen(spec())
    meta = store.meta("m1")
    assert (meta.phase, meta.runs, meta.finished_at) == (Phase.PLANNING, 2, None)
    assert store.page("m1", 0) is None
    assert store.claim("m1", "finish")
    assert list(store.iter_extraneous("m1")) == []
    assert store.streams("m1") == {}
    assert store.counters("m1").objects_copied == 1
    store.set_phase("m1", Phase.FAILED, "the source vanished")
    assert store.meta("m1").error == "the source vanished"


def test_the_memory_of_copies_belongs_to_the_pairing(store: MigrationStore) -> None:
    pair = spec().pair
    assert pair == spec("another-id").pair
    store.remember(pair, {"k": ("src-etag", "dst-etag")})
    assert store.remembered(pair, ["k", "missing"]) == {"k": ("src-etag", "dst-etag")}
    store.forget(pair, ["k"])
    assert store.remembered(pair, ["k"]) == {}


def test_unknown_and_expired_migrations_are_not_found() -> None:
    store = MemoryMigrationStore()
    with pytest.raises(MigrationNotFound):
        store.spec("nope")
    store.create(spec())
    store.expire("m1", 0)
    with pytest.raises(MigrationNotFound):
        store.meta("m1")
