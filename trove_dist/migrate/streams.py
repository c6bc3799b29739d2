"""Large objects: one chunk stream each, read from the source by ranges.

The planner records the stream id in the object's outcome *before* creating the stream, so a
planner that dies half-way is followed by one that finds the id and continues that stream (one
never created is created, one left idle gets its upload).

A settle step per stream feeds it and ends it.  It hands the stream's chunks to the pipeline a
window at a time — at most ``WINDOW_BYTES`` of them handed over and not yet transformed — and
tops the window up as chunks are done.  Handing them all over at once would let later chunks
fill the staging area while an earlier one waits for room, and no part can be cut past a
missing chunk: every stream would wait for the others.  With at most ``MAX_OPEN_STREAMS``
streams open per migration (the planner waits for room), staging holds at most their windows.
When the stream ends, the settle step checks the copy (its size; with ``--verify``, its bytes)
and records the object's outcome, so a migration ends without anyone watching it.  After a
resume the window restarts at the first chunk not stored, so chunks whose steps were lost are
handed over again (a chunk done twice changes nothing).
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import replace

from trove_dist.content import logical_info
from trove_dist.driver.capabilities import MultipartDriver
from trove_dist.driver.models import ObjectInfo
from trove_dist.errors import BackendUnavailable, TroveError
from trove_dist.ids import new_stream_id
from trove_dist.migrate.finish import maybe_finish
from trove_dist.migrate.runtime import MigrationDispatcher, MigrationRuntime, dispatch_once
from trove_dist.migrate.spec import MigrationSpec
from trove_dist.migrate.state import Outcome, Status, StreamProgress
from trove_dist.migrate.verify import mismatch, source_digest
from trove_dist.stream import ObjectRef, StreamSpec, StreamState, StreamStatus
from trove_dist.stream.engine import RetryLater, Runtime, chunk_count, encode_header
from trove_dist.stream.state import InvalidTransition
from trove_dist.stream.store import StreamNotFound
from trove_dist.stream.upload import start

log = logging.getLogger("trove_dist.migrate")

#: Bytes of a stream's chunks handed to the pipeline and not yet transformed.
WINDOW_BYTES = 128 * 1024 * 1024
MAX_OPEN_STREAMS = 4
#: How often a settle step looks at a stream whose window is full: a tenth of the stream's age,
#: within these bounds (a short stream is noticed at once, a long one is not polled needlessly);
#: one whose window has room again is topped up after ``FEED_POLL``.
SETTLE_POLL = (0.2, 2.0)
FEED_POLL = 0.05


def window_chunks(chunk_size: int) -> int:
    return max(2, WINDOW_BYTES // chunk_size)


def open_stream(
    rt: MigrationRuntime,
    dispatch: MigrationDispatcher,
    spec: MigrationSpec,
    relative: str,
    head: ObjectInfo,
    old: Outcome | None,
    planned: Outcome,
) -> None:
    """Claim the object for a new stream, create the stream, and leave it to its settle step."""
    outcome = replace(planned, task=new_stream_id())
    if not rt.store.apply(spec.migration_id, [(relative, old, outcome)])[0]:
        return  # a twin planner claimed it
    runtime = rt.streams.runtime
    src, dst = spec.source, spec.destination
    content_type, metadata, header = rt.destination(spec).content.stream_plan(
        dst.bucket, dst.key(relative), head.content_type, logical_info(head).metadata, head.size
    )
    stream = StreamSpec(
        stream_id=outcome.task,
        destination=ObjectRef(dst.backend, dst.bucket, dst.key(relative)),
        chunk_size=spec.settings.chunk_size,
        source=ObjectRef(src.backend, src.bucket, src.key(relative), etag=head.etag, size=head.size),
        content_type=content_type,
        metadata=metadata,
        header=encode_header(header) if header is not None else None,
        part_min=rt.driver(dst.backend).min_part_size,
    )
    try:
        start(runtime, stream)
    except BackendUnavailable:
        raise  # the planner retries, finds the id, and continues the stream
    except TroveError as exc:
        _record_end(rt, spec, relative, outcome.task, Status.FAILED, f"{type(exc).__name__}: {exc}")
        return
    _feed_from(rt, dispatch, spec, stream, StreamProgress())


def continue_stream(
    rt: MigrationRuntime,
    dispatch: MigrationDispatcher,
    spec: MigrationSpec,
    relative: str,
    raw: ObjectInfo,
    old: Outcome,
) -> None:
    """Make the object's stream go on from where it is (a repeated planner task, or a resume)."""
    runtime = rt.streams.runtime
    try:
        stream = runtime.store.spec(old.task)
        state = runtime.store.state(old.task)
    except StreamNotFound:
        head = rt.driver(spec.source.backend).head(raw.bucket, raw.key)
        open_stream(rt, dispatch, spec, relative, head, old, replace(old, task=""))
        return
    if state == StreamState.IDLE:
        _finish_start(runtime, stream)
    _feed_from(rt, dispatch, spec, stream, None)


def _finish_start(runtime: Runtime, stream: StreamSpec) -> None:
    """The rest of ``upload.start`` for a stream whose creator died after creating it."""
    driver = runtime.backends(stream.destination.backend)
    if isinstance(driver, MultipartDriver) and runtime.store.upload_id(stream.stream_id) is None:
        dst = stream.destination
        upload_id = driver.initiate_multipart(
            dst.bucket, dst.key, content_type=stream.content_type, metadata=dict(stream.metadata)
        )
        if runtime.store.set_upload_id(stream.stream_id, upload_id) != upload_id:
            driver.abort_multipart(dst.bucket, dst.key, upload_id)  # a twin's upload won
    try:
        runtime.store.transition(stream.stream_id, StreamState.ACTIVE, only_from=[StreamState.IDLE])
    except InvalidTransition:
        return  # a twin got there first


def _feed_from(
    rt: MigrationRuntime,
    dispatch: MigrationDispatcher,
    spec: MigrationSpec,
    stream: StreamSpec,
    start: StreamProgress | None,
) -> None:
    """Register the stream with its migration (``start``: where its window stands; ``None``:
    unknown, after a resume) and make sure one settle step feeds it."""
    assert stream.source is not None
    assert stream.source.size is not None
    rt.streams.runtime.store.set_total(stream.stream_id, chunk_count(stream.source.size, stream.chunk_size))
    if start is not None:
        rt.store.set_stream(spec.migration_id, stream.stream_id, start)
    mid = spec.migration_id
    dispatch_once(rt, mid, f"settle:{stream.stream_id}", functools.partial(dispatch.settle, mid, stream.stream_id))


def settle(rt: MigrationRuntime, dispatch: MigrationDispatcher, migration_id: str, stream_id: str) -> None:
    """Feed the stream's window until it ends (asking to run again meanwhile), then record the
    object's outcome."""
    spec = rt.store.spec(migration_id)
    runtime = rt.streams.runtime
    try:
        stream = runtime.store.spec(stream_id)
        status = runtime.store.status(stream_id)
    except StreamNotFound:
        log.warning("migration %s: stream %s is gone; a resume will replan its object", migration_id, stream_id)
        rt.store.set_stream(migration_id, stream_id, None)
        return
    if status.state.terminal:
        _end(rt, spec, stream, status)
        rt.store.set_stream(migration_id, stream_id, None)
        maybe_finish(rt, dispatch, migration_id)
        return
    total = status.total_chunks or 0
    progress = rt.store.streams(migration_id).get(stream_id)
    sent = progress.sent if progress is not None else _first_unstored(runtime, stream_id)
    window = window_chunks(stream.chunk_size)
    upto = max(sent, min(total, status.transformed + window))
    for index in range(sent, upto):
        rt.streams.dispatcher.transform(stream_id, index)
    if progress is None and status.stored == total:
        rt.streams.dispatcher.finalize(stream_id)  # a resume: every part is up, the completion may be lost
    rt.store.set_stream(migration_id, stream_id, StreamProgress(status.bytes_in, upto))
    if upto < total and upto - status.transformed <= window // 2:
        delay = FEED_POLL
    else:
        delay = min(max((time.time() - status.created_at) / 10, SETTLE_POLL[0]), SETTLE_POLL[1])
    raise RetryLater(f"stream {stream_id} is {status.state}", delay=delay)


def _first_unstored(runtime: Runtime, stream_id: str) -> int:
    """The first chunk not in an uploaded part, counting from the start."""
    end = 0
    for part in runtime.store.parts(stream_id):
        if not part.uploaded or part.first != end:
            break
        end = part.last + 1
    return end


def _end(rt: MigrationRuntime, spec: MigrationSpec, stream: StreamSpec, status: StreamStatus) -> None:
    """Record how the object's stream ended: copied (its size checked, and with ``--verify`` its
    bytes), or failed with the stream's reason."""
    relative = spec.destination.relative(stream.destination.key)
    if status.state != StreamState.COMPLETED:
        reason = f"stream {status.state}: {status.error or 'no reason'}"
        _record_end(rt, spec, relative, stream.stream_id, Status.FAILED, reason)
        return
    assert stream.source is not None
    assert stream.source.etag is not None
    destination = rt.destination(spec)
    info = destination.head(spec.destination.bucket, stream.destination.key)
    failure = None
    if info.size != stream.source.size:
        failure = f"the stream stored {info.size} bytes, the source has {stream.source.size}"
    elif spec.verify:
        failure = mismatch(destination, spec, relative, source_digest(rt.source(spec), spec, relative))
    if failure is not None:
        _record_end(rt, spec, relative, stream.stream_id, Status.FAILED, failure)
    elif _record_end(rt, spec, relative, stream.stream_id, Status.COPIED, destination_etag=info.etag):
        rt.store.remember(spec.pair, {relative: (stream.source.etag, info.etag)})


def _record_end(
    rt: MigrationRuntime,
    spec: MigrationSpec,
    relative: str,
    stream_id: str,
    status: Status,
    reason: str = "",
    destination_etag: str = "",
) -> bool:
    """Record how the object's stream ended, if the object is still this stream's."""

    def update(current: Outcome | None) -> Outcome | None:
        if current is None or current.status != Status.PENDING or current.task != stream_id:
            return None
        return replace(
            current,
            status=status,
            reason=reason or current.reason,
            destination_etag=destination_etag,
            verified=spec.verify and status == Status.COPIED,
        )

    stored = rt.store.record(spec.migration_id, relative, update)
    return stored is not None and stored.task == stream_id and stored.status == status
