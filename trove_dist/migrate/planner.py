"""The planner: one task per page of the source listing, joined with the destination's.

Page ``n`` lists up to ``page_size`` source keys from the cursor page ``n-1`` recorded, and the
destination keys in the same range (both listings are in key order, so this is a merge join:
no per-object request to find out what the destination has).  For each source key it decides:

* already settled by this migration (copied or skipped, same source etag): nothing;
* pending with this migration (a repeated task, or a resume): make sure its batch or stream
  goes on — a stream continues from the chunks not yet stored;
* otherwise compare with the destination (``compare``): skip it, or plan a copy — small
  objects into batches (one task copies many), large plain ones as one stream each (chunks
  read from the source by ranges), everything as server-side copies when both ends are one
  backend that can and nothing transforms the bytes.

Destination keys the source lacks are remembered for ``--delete-extraneous``.  Only one page
of either listing is in memory at a time.  A page records where the next one starts *before*
doing its work, so a repeated task (a worker died) replans the same range and changes nothing
that was done; the next page is dispatched once.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

from trove_dist.content import is_framed, logical_info
from trove_dist.driver.capabilities import ServerCopyDriver
from trove_dist.driver.models import ObjectInfo
from trove_dist.errors import BackendUnavailable, BucketNotFound, TroveError
from trove_dist.migrate.finish import fail_migration, maybe_finish
from trove_dist.migrate.runtime import MigrationDispatcher, MigrationRuntime, dispatch_once
from trove_dist.migrate.spec import MigrationSpec
from trove_dist.migrate.state import BatchItem, Change, Method, Outcome, PageMark, Phase, Status
from trove_dist.migrate.streams import MAX_OPEN_STREAMS, continue_stream, open_stream
from trove_dist.stream.engine import RetryLater

log = logging.getLogger("trove_dist.migrate")

#: Planning pauses while this much is planned but not yet copied (bounds open streams and the
#: queue); a dry run copies nothing and never pauses.
MAX_PENDING_OBJECTS = 20_000
MAX_PENDING_BYTES = 8 * 1024**3
_LISTING_PAGE = 1000


@dataclass(frozen=True, slots=True)
class Decision:
    copy: bool
    reason: str


def compare(
    source: ObjectInfo, destination: ObjectInfo | None, memory: tuple[str, str] | None, spec: MigrationSpec
) -> Decision:
    """Whether the destination already holds the source's content, from listings alone.

    A copy remembered for this pairing with both etags unchanged is trusted; then equal
    checksums (which describe content, so hold across transforms); then, when nothing
    transforms the bytes, a size difference, and equal etags on one backend.  Anything else
    cannot be shown equal without reading it, so it is copied.
    """
    if destination is None:
        return Decision(True, "new")
    if memory == (source.etag, destination.etag):
        return Decision(False, "unchanged since it was last migrated")
    if not spec.transforms and source.size != destination.size:
        return Decision(True, "size differs")
    mine, theirs = source.checksum, destination.checksum
    if mine is not None and theirs is not None and mine.algorithm == theirs.algorithm:
        return Decision(False, "same checksum") if mine.matches(theirs) else Decision(True, "checksum differs")
    if not spec.transforms and spec.same_backend:
        return Decision(False, "same etag") if source.etag == destination.etag else Decision(True, "etag differs")
    return Decision(True, "no checksum to compare")


@dataclass
class _Batches:
    """Cuts planned small objects into batches of at most N objects / B bytes."""

    spec: MigrationSpec
    page: int
    done: list[tuple[str, list[BatchItem]]] = field(default_factory=list)
    _items: list[BatchItem] = field(default_factory=list)
    _bytes: int = 0
    _id: str = ""

    def add(self, item: BatchItem) -> str:
        """Place ``item``; returns the id of the batch it is in."""
        limits = self.spec.settings
        if not self._items:
            self._id = f"p{self.page}-{secrets.token_hex(4)}"
        self._items.append(item)
        if item.method != Method.SERVER_COPY:
            self._bytes += item.size
        batch_id = self._id
        if len(self._items) >= limits.batch_objects or self._bytes >= limits.batch_bytes:
            self.close()
        return batch_id

    def close(self) -> None:
        if self._items:
            self.done.append((self._id, self._items))
            self._items, self._bytes = [], 0


def plan_page(rt: MigrationRuntime, dispatch: MigrationDispatcher, migration_id: str, page: int) -> None:
    store = rt.store
    spec = store.spec(migration_id)
    mark = store.page(migration_id, page)
    if mark is None or store.meta(migration_id).phase != Phase.PLANNING:
        return  # a task from before a resume, or after the end
    if not spec.dry_run:
        counters = store.counters(migration_id)
        if counters.objects_pending > MAX_PENDING_OBJECTS or counters.bytes_pending > MAX_PENDING_BYTES:
            raise RetryLater("waiting for planned copies to finish", delay=1.0)
    source = spec.source
    try:
        listing = rt.driver(source.backend).list(
            source.bucket, prefix=source.key(spec.prefix), max_keys=spec.settings.page_size, cursor=mark.cursor
        )
        if page == 0 and not spec.dry_run:
            rt.driver(spec.destination.backend).create_bucket(spec.destination.bucket, exist_ok=True)
        objects = [(source.relative(o.key), o) for o in listing.objects]
        last = objects[-1][0] if objects else mark.after
        if listing.next_cursor is not None:
            store.set_page(migration_id, page + 1, PageMark(listing.next_cursor, last))
        upper = last if listing.next_cursor is not None else None
        _plan(rt, dispatch, spec, page, objects, _destination(rt, spec, mark.after, upper))
    except RetryLater:
        raise  # planned as far as there is room; this page is planned again later
    except BackendUnavailable as exc:
        raise RetryLater(str(exc), delay=2.0) from exc
    except TroveError as exc:
        fail_migration(rt, migration_id, f"planning page {page}: {type(exc).__name__}: {exc}")
        return
    if listing.next_cursor is not None:
        dispatch_once(rt, migration_id, f"page:{page + 1}", functools.partial(dispatch.plan, migration_id, page + 1))
        return
    store.set_phase(migration_id, Phase.COPYING)
    maybe_finish(rt, dispatch, migration_id)


def _destination(
    rt: MigrationRuntime, spec: MigrationSpec, after: str | None, upper: str | None
) -> Iterator[ObjectInfo]:
    """Destination objects with relative keys in ``(after, upper]``, lazily, in key order."""
    dest = spec.destination
    driver = rt.driver(dest.backend)
    cursor: str | None = None
    start_after = dest.key(after) if after is not None else None
    while True:
        try:
            listing = driver.list(
                dest.bucket,
                prefix=dest.key(spec.prefix),
                start_after=start_after if cursor is None else None,
                max_keys=_LISTING_PAGE,
                cursor=cursor,
            )
        except BucketNotFound:
            return  # nothing there yet (a dry run does not create it)
        for info in listing.objects:
            relative = dest.relative(info.key)
            if after is not None and relative <= after:
                continue  # a backend that does not honour start_after
            if upper is not None and relative > upper:
                return
            yield info
        if listing.next_cursor is None:
            return
        cursor = listing.next_cursor


def _plan(
    rt: MigrationRuntime,
    dispatch: MigrationDispatcher,
    spec: MigrationSpec,
    page: int,
    objects: list[tuple[str, ObjectInfo]],
    destination: Iterator[ObjectInfo],
) -> None:
    store, mid = rt.store, spec.migration_id
    wanted = [(rel, info) for rel, info in objects if spec.selects(rel)]
    keys = [rel for rel, _ in wanted]
    existing = store.outcomes(mid, keys)
    memories = store.remembered(spec.pair, keys)
    matches = _join(rt, spec, [rel for rel, _ in objects], destination)

    batches = _Batches(spec, page)
    streams: list[tuple[str, ObjectInfo, Outcome]] = []
    changes: list[Change] = []
    resumed_batches: set[str] = set()
    for rel, raw in wanted:
        source = logical_info(raw)
        old = existing[rel]
        if old is not None and old.source_etag == source.etag and old.status in (Status.COPIED, Status.SKIPPED):
            continue
        if old is not None and old.source_etag == source.etag and old.status == Status.PENDING and not spec.dry_run:
            if old.method == Method.STREAM:
                continue_stream(rt, dispatch, spec, rel, raw, old)
            else:
                resumed_batches.add(old.task)
            continue
        if old is not None and old.status == Status.FAILED:
            decision = Decision(True, f"retrying ({old.reason})")  # the destination may hold a bad copy
        else:
            decision = compare(source, _logical(matches.get(rel)), memories.get(rel), spec)
        if not decision.copy:
            changes.append((rel, old, Outcome(Status.SKIPPED, source.size, source.etag, decision.reason)))
            continue
        method, head = _method(rt, spec, source, raw)
        if method == Method.STREAM:
            planned = Outcome(Status.PENDING, source.size, source.etag, decision.reason, method)
            streams.append((rel, head or raw, planned))
            continue
        batch_id = batches.add(BatchItem(rel, source.size, source.etag, method))
        if head is not None:
            batches.close()  # a large framed source: through the middleware, in a batch of its own
        changes.append((rel, old, Outcome(Status.PENDING, source.size, source.etag, decision.reason, method, batch_id)))
    batches.close()

    if spec.dry_run:
        store.apply(mid, [*changes, *((rel, existing[rel], planned) for rel, _, planned in streams)])
        return
    for batch_id, items in batches.done:
        store.put_batch(mid, batch_id, items)  # before any outcome names the batch
    store.apply(mid, changes)  # an item a twin planner placed elsewhere is skipped by its batch
    for batch_id in [*(batch_id for batch_id, _ in batches.done), *resumed_batches]:
        dispatch_once(rt, mid, f"batch:{batch_id}", functools.partial(dispatch.batch, mid, batch_id))
    room = MAX_OPEN_STREAMS - len(store.streams(mid))
    for rel, info, planned in streams[: max(room, 0)]:
        open_stream(rt, dispatch, spec, rel, info, existing[rel], planned)
    if len(streams) > room:
        raise RetryLater(f"{len(streams) - max(room, 0)} large objects wait for a stream to end", delay=1.0)


def _join(
    rt: MigrationRuntime, spec: MigrationSpec, keys: list[str], destination: Iterator[ObjectInfo]
) -> dict[str, ObjectInfo]:
    """The destination objects that have a source key (both in key order: a merge).  Those
    without one are recorded for ``--delete-extraneous`` (and a dry run's plan) a slice at a
    time, however many lie between two source keys."""
    relative = spec.destination.relative
    keep = spec.delete_extraneous or spec.dry_run
    matches: dict[str, ObjectInfo] = {}
    extraneous: dict[str, int] = {}
    sources = iter(keys)
    key = next(sources, None)
    for info in destination:
        rel = relative(info.key)
        while key is not None and key < rel:
            key = next(sources, None)
        if key == rel:
            matches[rel] = info
        elif keep and spec.selects(rel):
            extraneous[rel] = logical_info(info).size
            if len(extraneous) >= _LISTING_PAGE:
                rt.store.add_extraneous(spec.migration_id, extraneous)
                extraneous = {}
    if extraneous:
        rt.store.add_extraneous(spec.migration_id, extraneous)
    return matches


def _method(
    rt: MigrationRuntime, spec: MigrationSpec, source: ObjectInfo, raw: ObjectInfo
) -> tuple[Method, ObjectInfo | None]:
    """How to copy one object; for a large one, also the source's full description (a listing
    need not carry content type and metadata, nor say whether the object is framed)."""
    if not spec.transforms and spec.same_backend and isinstance(rt.driver(spec.source.backend), ServerCopyDriver):
        return Method.SERVER_COPY, None
    if source.size <= spec.settings.stream_threshold:
        return Method.BATCH, None
    head = rt.driver(spec.source.backend).head(raw.bucket, raw.key)
    if is_framed(head):
        return Method.BATCH, head  # ranges of its stored bytes are not its content
    return Method.STREAM, head


def _logical(info: ObjectInfo | None) -> ObjectInfo | None:
    return logical_info(info) if info is not None else None
