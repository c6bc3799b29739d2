"""The batch step: copy many small objects in one task, each on its own.

A batch's items are read from the state store (the task argument is only the batch id).  Each
object is copied with the source's ``get`` and the destination's ``put`` — through the
middleware, so the destination's transforms apply and a framed source is decoded — or, when
both ends are one backend, with the backend's own copy.  An object's failure is recorded with
its reason and the batch goes on; a put is atomic, so a failed object leaves nothing visible.
A repeated batch task skips what an earlier run finished.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from trove_dist.driver.models import ObjectInfo
from trove_dist.errors import TroveError
from trove_dist.migrate.finish import maybe_finish
from trove_dist.migrate.runtime import MigrationDispatcher, MigrationRuntime
from trove_dist.migrate.spec import MigrationSpec
from trove_dist.migrate.state import BatchItem, Method, Outcome, Status
from trove_dist.migrate.verify import Digest, HashingChunks, mismatch, source_digest
from trove_dist.trove import Trove

log = logging.getLogger("trove_dist.migrate")

#: Objects of one batch copied at once: enough to hide a remote backend's latency, few enough
#: that one task's memory stays small (each copy streams through a 1 MiB buffer).
BATCH_THREADS = 4


def run_batch(rt: MigrationRuntime, dispatch: MigrationDispatcher, migration_id: str, batch_id: str) -> None:
    spec = rt.store.spec(migration_id)
    items = rt.store.batch(migration_id, batch_id)
    with ThreadPoolExecutor(max_workers=min(BATCH_THREADS, max(len(items), 1))) as pool:
        for _ in pool.map(lambda item: _copy_item(rt, spec, batch_id, item), items):
            pass
    maybe_finish(rt, dispatch, migration_id)


def _copy_item(rt: MigrationRuntime, spec: MigrationSpec, batch_id: str, item: BatchItem) -> None:
    store, mid = rt.store, spec.migration_id
    current = store.outcomes(mid, [item.key])[item.key]
    if current is None or current.status != Status.PENDING or current.task != batch_id:
        return  # done by an earlier run of this task, or replanned since
    try:
        info, source_etag, failure = copy_one(rt, spec, item)
    except TroveError as exc:
        info, source_etag, failure = None, item.etag, _reason(exc)
    except Exception as exc:  # a bug must not stall the migration: the object fails, loudly
        log.exception("migration %s: copying %s crashed", mid, item.key)
        info, source_etag, failure = None, item.etag, _reason(exc)
    if info is None or failure is not None:
        reason = failure or "no reason"
        _settle(rt, spec, item.key, batch_id, lambda o: replace(o, status=Status.FAILED, reason=reason))
        return
    stored = _settle(
        rt,
        spec,
        item.key,
        batch_id,
        lambda o: replace(
            o, status=Status.COPIED, source_etag=source_etag, destination_etag=info.etag, verified=spec.verify
        ),
    )
    if stored is not None and stored.status == Status.COPIED and stored.task == batch_id:
        store.remember(spec.pair, item.key, source_etag, info.etag)


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


def _settle(
    rt: MigrationRuntime, spec: MigrationSpec, key: str, batch_id: str, change: Callable[[Outcome], Outcome]
) -> Outcome | None:
    """Apply ``change`` to the object's pending outcome if this batch still owns it; returns
    the outcome stored after."""

    def update(current: Outcome | None) -> Outcome | None:
        if current is None or current.status != Status.PENDING or current.task != batch_id:
            return None
        return change(current)

    return rt.store.record(spec.migration_id, key, update)


def _reason(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())
