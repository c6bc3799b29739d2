"""The batch step: copy many small objects in one task, each on its own.

A batch's items are read from the state store (the task argument is only the batch id).  Each
object is copied with the source's ``get`` and the destination's ``put`` — through the
middleware, so the destination's transforms apply and a framed source is decoded — or, when
both ends are one backend, with the backend's own copy.  An object's failure is recorded with
its reason and the batch goes on; a put is atomic, so a failed object leaves nothing visible.
A repeated batch task skips what an earlier run finished.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from trove_dist.driver.models import ObjectInfo
from trove_dist.errors import TroveError
from trove_dist.migrate.finish import maybe_finish
from trove_dist.migrate.runtime import MigrationDispatcher, MigrationRuntime
from trove_dist.migrate.spec import MigrationSpec
from trove_dist.migrate.state import BatchItem, Change, Method, Outcome, Status
from trove_dist.migrate.verify import Digest, HashingChunks, mismatch, source_digest
from trove_dist.trove import Trove

log = logging.getLogger("trove_dist.migrate")

#: Objects of one batch copied at once: enough to hide a remote backend's latency, few enough
#: that one task's memory stays small (each copy streams through a 1 MiB buffer).
BATCH_THREADS = 4


def run_batch(rt: MigrationRuntime, dispatch: MigrationDispatcher, migration_id: str, batch_id: str) -> None:
    """Copy the batch's objects still pending on it, then record every outcome in one write."""
    store = rt.store
    spec = store.spec(migration_id)
    items = store.batch(migration_id, batch_id)
    current = store.outcomes(migration_id, [item.key for item in items])
    todo = [item for item in items if _owned(current[item.key], batch_id)]  # others: done by an earlier run
    with ThreadPoolExecutor(max_workers=min(BATCH_THREADS, max(len(todo), 1))) as pool:
        ends = list(pool.map(lambda item: _copy_item(rt, spec, item), todo))
    changes: list[Change] = []
    for item, end in zip(todo, ends, strict=True):
        old = current[item.key]
        assert old is not None
        changes.append((item.key, old, end(old)))
    for (key, _, new), applied in zip(changes, store.apply(migration_id, changes), strict=True):
        if not applied:  # the outcome moved meanwhile (a twin of this task): apply ours if still ours
            store.record(migration_id, key, functools.partial(_if_owned, new, batch_id))
    copied = {key: (new.source_etag, new.destination_etag) for key, _, new in changes if new.status == Status.COPIED}
    store.remember(spec.pair, copied)
    maybe_finish(rt, dispatch, migration_id)


def _owned(outcome: Outcome | None, batch_id: str) -> bool:
    return outcome is not None and outcome.status == Status.PENDING and outcome.task == batch_id


def _if_owned(new: Outcome, batch_id: str, current: Outcome | None) -> Outcome | None:
    return new if _owned(current, batch_id) else None


def _copy_item(rt: MigrationRuntime, spec: MigrationSpec, item: BatchItem) -> Callable[[Outcome], Outcome]:
    """Copy one object; returns how its pending outcome ends."""
    try:
        info, source_etag, failure = copy_one(rt, spec, item)
    except TroveError as exc:
        failure = _reason(exc)
    except Exception as exc:  # a bug must not stall the migration: the object fails, loudly
        log.exception("migration %s: copying %s crashed", spec.migration_id, item.key)
        failure = _reason(exc)
    if failure is not None:
        reason = failure
        return lambda old: replace(old, status=Status.FAILED, reason=reason)
    return lambda old: replace(
        old, status=Status.COPIED, source_etag=source_etag, destination_etag=info.etag, verified=spec.verify
    )


def copy_one(rt: MigrationRuntime, spec: MigrationSpec, item: BatchItem) -> tuple[ObjectInfo, str, str | None]:
    """Copy one object; returns what was stored, the source etag that was read, and — with
    ``--verify`` — why the copy does not read back as the source (``None``: it does)."""
    src, dst = spec.source, spec.destination
    source, destination = rt.source(spec), rt.destination(spec)
    expected: Digest | None = None
    if item.method == Method.SERVER_COPY:
        driver = rt.driver(dst.backend)
        info = driver.copy(src.bucket, src.key(item.key), dst.bucket, dst.key(item.key))
        source_etag = item.etag
        if spec.verify:
            expected = source_digest(source, spec, item.key)
    else:
        with source.get(src.bucket, src.key(item.key)) as reader:
            chunks = HashingChunks(reader)
            source_etag = reader.info.etag
            info = _put(destination, spec, item.key, reader.info, chunks)
            expected = chunks.digest
    failure = mismatch(destination, spec, item.key, expected) if spec.verify and expected is not None else None
    return info, source_etag, failure


def _put(destination: Trove, spec: MigrationSpec, key: str, source: ObjectInfo, chunks: HashingChunks) -> ObjectInfo:
    """The destination's put, keeping content type and metadata.  Without transforms the
    source's stored checksum is checked while the bytes stream (and stored as it is)."""
    dst = spec.destination
    if not destination.content.active and source.checksum is not None:
        return destination.driver.put(
            dst.bucket,
            dst.key(key),
            chunks,
            content_type=source.content_type,
            metadata=source.metadata,
            checksum=source.checksum,
            size=source.size,
        )
    return destination.put(
        dst.bucket, dst.key(key), chunks, content_type=source.content_type, metadata=source.metadata, size=source.size
    )


def _reason(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())
