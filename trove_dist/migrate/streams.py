"""Large objects: one chunk stream each, read from the source by ranges.

The planner records the stream id in the object's outcome *before* creating the stream, so a
planner that dies half-way is followed by one that finds the id and continues that stream:
a stream never created is created, one left idle gets its upload, and every chunk not yet in
an uploaded part is handed to the pipeline again (a chunk done twice changes nothing).  A
settle step per stream waits for it to end, checks the copy when asked, and records the
object's outcome; it is what lets a migration end without anyone watching it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from trove_dist.content import logical_info
from trove_dist.driver.capabilities import MultipartDriver
from trove_dist.driver.models import ObjectInfo
from trove_dist.errors import BackendUnavailable, TroveError
from trove_dist.ids import new_stream_id
from trove_dist.migrate.finish import maybe_finish
from trove_dist.migrate.runtime import MigrationDispatcher, MigrationRuntime
from trove_dist.migrate.spec import MigrationSpec
from trove_dist.migrate.state import Outcome, Status
from trove_dist.migrate.verify import mismatch, source_digest
from trove_dist.stream import ObjectRef, StreamSpec, StreamState
from trove_dist.stream.engine import RetryLater, Runtime, chunk_count, encode_header
from trove_dist.stream.state import InvalidTransition
from trove_dist.stream.store import StreamNotFound
from trove_dist.stream.upload import start

log = logging.getLogger("trove_dist.migrate")

#: How often a settle step looks at its stream: a tenth of the stream's age, within these bounds
#: (a short stream is noticed at once, a long one is not polled needlessly).
SETTLE_POLL = (0.2, 2.0)


def open_stream(
    rt: MigrationRuntime,
    dispatch: MigrationDispatcher,
    spec: MigrationSpec,
    relative: str,
    head: ObjectInfo,
    old: Outcome | None,
    planned: Outcome,
) -> None:
    """Claim the object for a new stream, create it and hand every chunk to the pipeline."""
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
    _run_chunks(rt, dispatch, spec, stream)


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
    if not state.terminal:
        _run_chunks(rt, dispatch, spec, stream)
    else:
        dispatch.settle(spec.migration_id, old.task)


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


def _run_chunks(rt: MigrationRuntime, dispatch: MigrationDispatcher, spec: MigrationSpec, stream: StreamSpec) -> None:
    """Hand every chunk not yet stored to the pipeline, then the settle step."""
    runtime, steps = rt.streams.runtime, rt.streams.dispatcher
    assert stream.source is not None
    assert stream.source.size is not None
    total = chunk_count(stream.source.size, stream.chunk_size)
    runtime.store.set_total(stream.stream_id, total)
    stored = {
        i for part in runtime.store.parts(stream.stream_id) if part.uploaded for i in range(part.first, part.last + 1)
    }
    for index in range(total):
        if index not in stored:
            steps.transform(stream.stream_id, index)
    if len(stored) == total:
        steps.finalize(stream.stream_id)  # every part is up: only the completion may be missing
    dispatch.settle(spec.migration_id, stream.stream_id)


def settle(rt: MigrationRuntime, dispatch: MigrationDispatcher, migration_id: str, stream_id: str) -> None:
    """Wait (by asking to run again) until the stream ends, then record the object's outcome."""
    spec = rt.store.spec(migration_id)
    runtime = rt.streams.runtime
    try:
        stream = runtime.store.spec(stream_id)
        status = runtime.store.status(stream_id)
    except StreamNotFound:
        log.warning("migration %s: stream %s is gone; a resume will replan its object", migration_id, stream_id)
        return
    if not status.state.terminal:
        rt.store.set_streaming(migration_id, stream_id, status.bytes_in)
        delay = min(max((time.time() - status.created_at) / 10, SETTLE_POLL[0]), SETTLE_POLL[1])
        raise RetryLater(f"stream {stream_id} is {status.state}", delay=delay)
    relative = spec.destination.relative(stream.destination.key)
    if status.state == StreamState.COMPLETED:
        destination = rt.destination(spec)
        info = destination.head(spec.destination.bucket, stream.destination.key)
        failure = None
        assert stream.source is not None
        if info.size != stream.source.size:
            failure = f"the stream stored {info.size} bytes, the source has {stream.source.size}"
        elif spec.verify:
            failure = mismatch(destination, spec, relative, source_digest(rt.source(spec), spec, relative))
        if failure is None:
            assert stream.source.etag is not None
            if _record_end(rt, spec, relative, stream_id, Status.COPIED, destination_etag=info.etag):
                rt.store.remember(spec.pair, {relative: (stream.source.etag, info.etag)})
        else:
            _record_end(rt, spec, relative, stream_id, Status.FAILED, failure)
    else:
        _record_end(
            rt, spec, relative, stream_id, Status.FAILED, f"stream {status.state}: {status.error or 'no reason'}"
        )
    rt.store.set_streaming(migration_id, stream_id, None)
    maybe_finish(rt, dispatch, migration_id)


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
