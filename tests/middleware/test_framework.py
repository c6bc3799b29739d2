"""Scopes, registrations and the resolver: what runs, when, in which order."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from trove_dist import Trove
from trove_dist.drivers.memory import MemoryDriver
from trove_dist.middleware import (
    And,
    Direction,
    ForBuckets,
    ForContentTypes,
    ForKeys,
    Global,
    Not,
    ObjectMiddleware,
    Operation,
    Or,
    Registration,
    Resolver,
    When,
    current_context,
    operation_context,
)


class Tag(ObjectMiddleware):
    """Records, in metadata, the order in which middlewares ran."""

    direction = Direction.READ_WRITE

    def __init__(self, label: str) -> None:
        self.label = label

    def prepare_write(self, op: Operation, metadata: dict[str, str]) -> None:
        metadata["order"] = (metadata.get("order", "") + " " + self.label).strip()

    def wrap_write(self, op: Operation, chunks: Iterator[bytes]) -> Iterator[bytes]:
        return chunks

    def __repr__(self) -> str:
        return f"Tag({self.label})"


def op(bucket: str = "bkt", key: str = "k", content_type: str | None = None, **context: object) -> Operation:
    return Operation(Direction.WRITE, bucket, key, content_type, context)


@pytest.mark.parametrize(
    ("scope", "operation", "expected"),
    [
        (Global(), op(), True),
        (ForBuckets("a", "b"), op(bucket="b"), True),
        (ForBuckets("a", "b"), op(bucket="c"), False),
        (ForKeys("*.jpg", "docs/**"), op(key="x/y.jpg"), True),
        (ForKeys("*.jpg", "docs/**"), op(key="docs/a/b.txt"), True),
        (ForKeys("*.jpg", "docs/**"), op(key="x/y.png"), False),
        (ForContentTypes("image/*"), op(content_type="image/png"), True),
        (ForContentTypes("image/*"), op(content_type="IMAGE/PNG; charset=binary"), True),
        (ForContentTypes("image/*"), op(content_type="application/image"), False),
        (ForContentTypes("image/*"), op(content_type="imagex/png"), False),
        (ForContentTypes("text/plain"), op(content_type="text/plain;charset=utf-8"), True),
        (ForContentTypes("text/plain"), op(content_type="text/plainx"), False),
        (ForContentTypes("image/*"), op(content_type=None), False),
        (ForContentTypes("*/*"), op(content_type="garbage"), False),
        (When(lambda o: o.context.get("tenant") == "acme"), op(tenant="acme"), True),
        (When(lambda o: o.context.get("tenant") == "acme"), op(tenant="other"), False),
        (And(ForBuckets("private"), ForKeys("*.jpg")), op(bucket="private", key="a.jpg"), True),
        (And(ForBuckets("private"), ForKeys("*.jpg")), op(bucket="private", key="a.png"), False),
        (Or(ForBuckets("a"), ForKeys("*.log")), op(bucket="z", key="x.log"), True),
        (Not(ForBuckets("raw")), op(bucket="raw"), False),
        (Not(ForBuckets("raw")), op(bucket="cooked"), True),
        (ForBuckets("a") & ~ForKeys("*.tmp"), op(bucket="a", key="x.tmp"), False),
        (ForBuckets("a") | ForKeys("*.tmp"), op(bucket="b", key="x.tmp"), True),
    ],
)
def test_scopes(scope: object, operation: Operation, expected: bool) -> None:
    assert scope.matches(operation) is expected  # type: ignore[attr-defined]


def test_bad_scope_arguments_are_refused() -> None:
    for make in (ForBuckets, ForKeys, ForContentTypes):
        with pytest.raises(ValueError):
            make()
    with pytest.raises(ValueError, match="MIME"):
        ForContentTypes("image")


def test_order_is_priority_then_registration_and_reads_reverse_it() -> None:
    a, b, c, d = Tag("a"), Tag("b"), Tag("c"), Tag("d")
    resolver = Resolver(
        [Registration(a, priority=5), Registration(b, priority=-1), Registration(c, priority=5), Registration(d)]
    )
    write = [r.middleware for r in resolver.resolve(op())]
    assert write == [b, d, a, c]
    read = [r.middleware for r in resolver.resolve(Operation(Direction.READ, "bkt", "k"))]
    assert read == [c, a, d, b]


def test_direction_override_narrows_but_cannot_widen() -> None:
    read_write = Tag("rw")
    resolver = Resolver([Registration(read_write, direction=Direction.WRITE)])
    assert resolver.resolve(op()) != ()
    assert resolver.resolve(Operation(Direction.READ, "bkt", "k")) == ()

    class WriteOnly(Tag):
        direction = Direction.WRITE

    with pytest.raises(ValueError, match="cannot be registered"):
        Registration(WriteOnly("w"), direction=Direction.READ)


def test_cache_is_a_true_lru_and_never_serves_another_context() -> None:
    tagged = Tag("acme-only")
    resolver = Resolver([Registration(tagged, scope=When(lambda o: o.context.get("tenant") == "acme"))], cache_size=2)
    assert resolver.resolve(op(tenant="acme")) != ()
    assert resolver.resolve(op(tenant="other")) == ()  # same bucket and key, other context
    assert resolver.resolve(op(tenant="acme")) != ()
    assert (resolver.hits, resolver.misses) == (1, 2)
    resolver.resolve(op(key="k2", tenant="acme"))  # evicts the least recently used: tenant=other
    resolver.resolve(op(tenant="acme"))
    assert resolver.hits == 2
    resolver.resolve(op(tenant="other"))
    assert resolver.misses == 4


def test_unhashable_context_is_resolved_every_time() -> None:
    resolver = Resolver([Registration(Tag("t"), scope=When(lambda o: bool(o.context.get("flags"))))])
    assert resolver.resolve(op(flags=["x"])) != ()
    assert resolver.resolve(op(flags=[])) == ()
    assert resolver.hits == 0


def test_add_and_remove_invalidate_the_cache() -> None:
    resolver = Resolver()
    assert resolver.resolve(op()) == ()
    reg = resolver.add(Registration(Tag("late")))
    assert [r.middleware for r in resolver.resolve(op())] == [reg.middleware]
    assert resolver.remove(reg) == 1
    assert resolver.resolve(op()) == ()
    shared = Tag("twice")
    resolver.add(Registration(shared, scope=ForBuckets("a")))
    resolver.add(Registration(shared, scope=ForBuckets("b")))
    assert resolver.remove(shared) == 2


def test_context_is_per_thread_and_nested() -> None:
    seen: dict[str, object] = {}
    with operation_context(tenant="outer"):
        with operation_context(request="r1"):
            assert dict(current_context()) == {"tenant": "outer", "request": "r1"}

        def other() -> None:
            seen.update(current_context())

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert seen == {}
    assert dict(current_context()) == {}


def test_trove_use_runs_object_middleware_in_order_within_scope() -> None:
    trove = Trove(MemoryDriver())
    trove.create_bucket("private")
    trove.create_bucket("public")
    trove.use(Tag("second"), priority=10)
    trove.use(Tag("first"), priority=-10, scope=ForBuckets("private"))
    trove.use(Tag("tenant"), scope=When(lambda o: o.context.get("tenant") == "acme"))
    assert trove.put("private", "k", b"x").metadata["order"] == "first second"
    assert trove.put("public", "k", b"x").metadata["order"] == "second"
    with operation_context(tenant="acme"):
        assert trove.put("public", "k", b"x").metadata["order"] == "tenant second"


def test_reserved_metadata_names_are_refused() -> None:
    trove = Trove(MemoryDriver())
    trove.create_bucket("bkt")
    with pytest.raises(ValueError, match="reserved"):
        trove.put("bkt", "k", b"x", metadata={"Trove-Format": "framed-1"})
