"""The three steps of the chunk pipeline, shared by the in-process executor and Celery workers.

    transform(stream, i)  read raw chunk i (a range of the source object, or staging), apply the
                          chunk transforms recorded in the stream's header, stage the frame,
                          record its size, then ask for write(stream, i)
    write(stream, i)      cut the parts the recorded frames allow (``assembly``), upload each
                          part this call cut (or that holds frame i and is not uploaded yet —
                          the case of a worker that died mid-upload), record it; the call that
                          records the last part asks for finalize(stream), exactly once
    finalize(stream)      complete the destination's multipart upload, mark the stream done

Every step may run twice (a broker redelivers, a worker dies): recording a frame, cutting
parts, recording a part and claiming finalisation are idempotent in the store, a re-uploaded part
has the same number and the same bytes (transforms are deterministic for a given chunk, header
and data key), and a source object that changed between chunks fails the stream instead of
mixing two versions.
"""

from __future__ import annotations

import base64
import functools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from trove_dist.driver.base import Driver
from trove_dist.driver.capabilities import MultipartDriver, PartInfo
from trove_dist.driver.models import ObjectInfo
from trove_dist.errors import BackendUnavailable, ObjectNotFound, TroveError, UploadNotFound
from trove_dist.format.codec import ChunkCodec
from trove_dist.format.header import Header
from trove_dist.format.trailer import FrameEntry, Trailer
from trove_dist.format.writer import FrameEncoder
from trove_dist.stream.records import ObjectRef, Part, StreamSpec
from trove_dist.stream.staging import Staging, StagingFull, frame_name, raw_name
from trove_dist.stream.state import InvalidTransition, StreamState
from trove_dist.stream.store import StreamStore

log = logging.getLogger("trove_dist.stream")


class RetryLater(TroveError):
    """A transient condition (staging full, stream paused, backend unavailable): run the step
    again after ``delay`` seconds."""

    def __init__(self, reason: str, delay: float = 0.5) -> None:
        super().__init__(reason)
        self.delay = delay


class StreamFailed(TroveError):
    """A permanent failure: the stream has been marked failed with this reason."""


class Dispatcher(Protocol):
    def transform(self, stream_id: str, index: int) -> None: ...
    def write(self, stream_id: str, index: int) -> None: ...
    def finalize(self, stream_id: str) -> None: ...


CodecsFor = Callable[[Header], Sequence[ChunkCodec]]


@dataclass
class Runtime:
    store: StreamStore
    staging: Staging
    backends: Callable[[str], Driver]
    codecs_for: CodecsFor
    #: How a finished object is described to the producer; the default asks the destination's
    #: driver (a Trove passes its own ``head``, which reports the logical size of framed objects).
    describe: Callable[[ObjectRef], ObjectInfo] | None = None
    retention: float = 24 * 3600.0  # how long an ended stream's state is kept
    part_lease: float = 600.0  # after this, any write step may upload a part its cutter has not

    @functools.cached_property
    def _encoders(self) -> dict[str, FrameEncoder]:
        return {}

    def encoder(self, spec: StreamSpec) -> FrameEncoder | None:
        if spec.header is None:
            return None
        cached = self._encoders.get(spec.stream_id)
        if cached is None:
            header = decode_header(spec.header)
            cached = FrameEncoder(header, self.codecs_for(header))
            if len(self._encoders) > 256:
                self._encoders.clear()
            self._encoders[spec.stream_id] = cached
        return cached


def encode_header(header: Header) -> str:
    return base64.b64encode(header.encode()).decode("ascii")


def decode_header(text: str) -> Header:
    raw = base64.b64decode(text)
    from trove_dist.format.header import PREFIX_SIZE

    return Header.parse_body(raw[PREFIX_SIZE:])


def chunk_count(size: int, chunk_size: int) -> int:
    """An empty object still has one (empty) chunk, so it gets one frame."""
    return max(1, -(-size // chunk_size))


# ---- the steps ----------------------------------------------------------------------------


def transform(rt: Runtime, dispatch: Dispatcher, stream_id: str, index: int) -> None:
    spec = rt.store.spec(stream_id)
    if not _runnable(rt, stream_id):
        return
    if rt.store.has_frame(stream_id, index):
        dispatch.write(stream_id, index)  # already transformed: a redelivery; make sure write runs
        return
    total = rt.store.counts(stream_id).total_chunks
    raw = _read_raw(rt, spec, index)
    if raw is None:
        if rt.store.has_frame(stream_id, index):  # a twin finished meanwhile
            dispatch.write(stream_id, index)
            return
        raise RetryLater(f"chunk {index} of {stream_id} has not been received yet", delay=1.0)
    final = total is not None and index == total - 1
    encoder = rt.encoder(spec)
    if encoder is None:
        frame = raw
    else:
        head, payload = encoder.encode(index, final, raw)
        frame = head + payload
    try:
        rt.staging.put(stream_id, frame_name(index), frame)
    except StagingFull as exc:
        raise RetryLater(str(exc), delay=0.5) from exc
    rt.store.record_frame(stream_id, index, len(frame), len(raw))
    rt.staging.delete(stream_id, [raw_name(index)])
    dispatch.write(stream_id, index)


def write(rt: Runtime, dispatch: Dispatcher, stream_id: str, index: int) -> None:
    spec = rt.store.spec(stream_id)
    if not _runnable(rt, stream_id):
        return
    driver = rt.backends(spec.destination.backend)
    if not isinstance(driver, MultipartDriver):
        _maybe_finish_unparted(rt, dispatch, stream_id)
        return
    header_size = len(decode_header(spec.header).encode()) if spec.header else 0
    new = rt.store.cut_parts(stream_id, header_size, index)
    todo = {p.number: p for p in new}
    now = time.time()
    for part in rt.store.pending_parts(stream_id):
        # A re-run of the step that cut a part (its worker died mid-upload) uploads it again;
        # so does any step once the cutter has held it for longer than the lease.
        if not part.uploaded and (part.cut_by == index or now - part.cut_at > rt.part_lease):
            todo.setdefault(part.number, part)
    for part in sorted(todo.values(), key=lambda p: p.number):
        _upload_part(rt, dispatch, spec, driver, part)


def finalize(rt: Runtime, stream_id: str) -> ObjectInfo | None:
    spec = rt.store.spec(stream_id)
    try:
        rt.store.transition(stream_id, StreamState.COMPLETING, only_from=[StreamState.ACTIVE])
    except InvalidTransition as exc:
        if exc.current != StreamState.COMPLETING:  # completed, failed or cancelled already
            return None
    driver = rt.backends(spec.destination.backend)
    dst = spec.destination
    try:
        if isinstance(driver, MultipartDriver):
            info = _complete(rt, spec, driver)
        else:
            info = driver.put(
                dst.bucket,
                dst.key,
                _staged_object(rt, spec),
                content_type=spec.content_type,
                metadata=spec.metadata,
            )
    except BackendUnavailable as exc:
        raise RetryLater(str(exc), delay=2.0) from exc
    rt.store.transition(stream_id, StreamState.COMPLETED)
    rt.staging.drop(stream_id)
    rt.store.expire(stream_id, rt.retention)
    return info


def fail(rt: Runtime, stream_id: str, reason: str) -> None:
    """Mark the stream failed, abort the destination upload and drop what is staged."""
    try:
        rt.store.transition(stream_id, StreamState.FAILED, error=reason)
    except InvalidTransition:
        return  # already ended
    abandon(rt, stream_id)


def abandon(rt: Runtime, stream_id: str) -> None:
    """Release what an ended (failed or cancelled) stream holds: its upload and its staging."""
    spec = rt.store.spec(stream_id)
    driver = rt.backends(spec.destination.backend)
    upload_id = rt.store.upload_id(stream_id)
    if upload_id and isinstance(driver, MultipartDriver):
        try:
            driver.abort_multipart(spec.destination.bucket, spec.destination.key, upload_id)
        except (UploadNotFound, TroveError) as exc:
            log.warning("stream %s: could not abort upload %s: %s", stream_id, upload_id, exc)
    rt.staging.drop(stream_id)
    rt.store.expire(stream_id, rt.retention)


def run_step(rt: Runtime, stream_id: str, step: Callable[[], object]) -> None:
    """Run one step; a permanent error fails the stream (and is re-raised as StreamFailed),
    a transient one propagates as ``RetryLater`` for the caller to reschedule."""
    try:
        step()
    except RetryLater:
        raise
    except BackendUnavailable as exc:
        raise RetryLater(str(exc), delay=2.0) from exc
    except TroveError as exc:
        reason = f"{type(exc).__name__}: {exc}"
        fail(rt, stream_id, reason)
        raise StreamFailed(reason) from exc


# ---- helpers ------------------------------------------------------------------------------


def _runnable(rt: Runtime, stream_id: str) -> bool:
    state = rt.store.state(stream_id)
    if state.terminal:
        return False
    if state == StreamState.PAUSED:
        raise RetryLater(f"stream {stream_id} is paused", delay=1.0)
    return True


def _read_raw(rt: Runtime, spec: StreamSpec, index: int) -> bytes | None:
    if spec.source is None:
        return rt.staging.get(spec.stream_id, raw_name(index))
    src = spec.source
    driver = rt.backends(src.backend)
    try:
        reader = driver.get(src.bucket, src.key, offset=index * spec.chunk_size, length=spec.chunk_size)
    except ObjectNotFound as exc:
        raise StreamFailed(f"source {src.bucket}/{src.key} disappeared during the transfer") from exc
    with reader:
        if src.etag is not None and reader.info.etag != src.etag:
            raise SourceChanged(f"source {src.bucket}/{src.key} changed during the transfer")
        return reader.read()


class SourceChanged(TroveError):
    """The source object was replaced while its chunks were being copied."""


def _upload_part(rt: Runtime, dispatch: Dispatcher, spec: StreamSpec, driver: MultipartDriver, part: Part) -> None:
    stream_id = spec.stream_id
    names = [frame_name(i) for i in range(part.first, part.last + 1)]
    frames = [rt.staging.get(stream_id, name) for name in names]
    if any(f is None for f in frames):
        if _uploaded(rt, stream_id, part.number):
            return  # a twin uploaded it and released the frames
        raise StreamFailed(f"frames of part {part.number} are no longer staged (expired?)")
    pieces: list[bytes] = []
    if part.number == 1 and spec.header:
        pieces.append(base64.b64decode(spec.header))
    pieces.extend(f for f in frames if f is not None)
    total = rt.store.counts(stream_id).total_chunks
    if spec.header and total is not None and part.last == total - 1:
        pieces.append(_trailer(rt, stream_id, total))
    upload_id = rt.store.upload_id(stream_id)
    if upload_id is None:
        raise StreamFailed("the destination upload was never initiated")
    dst = spec.destination
    try:
        info = driver.upload_part(dst.bucket, dst.key, upload_id, part.number, b"".join(pieces))
    except UploadNotFound:
        # Completed (or aborted) meanwhile: fine if a twin uploaded this part before that.
        if rt.store.state(stream_id).terminal or _uploaded(rt, stream_id, part.number):
            return
        raise
    done = rt.store.part_uploaded(stream_id, part.number, info.etag, info.size)
    rt.staging.delete(stream_id, names)
    if done and rt.store.claim_finalize(stream_id):
        dispatch.finalize(stream_id)


def _uploaded(rt: Runtime, stream_id: str, number: int) -> bool:
    return all(p.number != number for p in rt.store.pending_parts(stream_id))


def _trailer(rt: Runtime, stream_id: str, total: int) -> bytes:
    sizes = rt.store.frame_sizes(stream_id)
    entries = []
    offset = 0
    for index in range(total):
        stored, plain = sizes[index]
        entries.append(FrameEntry(offset, stored, plain))
        offset += stored
    return Trailer(tuple(entries), sum(e.plain for e in entries)).encode()


def _complete(rt: Runtime, spec: StreamSpec, driver: MultipartDriver) -> ObjectInfo:
    dst = spec.destination
    upload_id = rt.store.upload_id(spec.stream_id)
    if upload_id is None:
        raise StreamFailed("the destination upload was never initiated")
    parts = [PartInfo(p.number, p.etag or "", p.size or 0) for p in rt.store.parts(spec.stream_id)]
    try:
        return driver.complete_multipart(dst.bucket, dst.key, upload_id, parts)
    except UploadNotFound:
        # A previous finalize completed it and died before recording that: accept the object
        # if it is the one these parts make.
        info = rt.backends(dst.backend).head(dst.bucket, dst.key)
        if info.size == sum(p.size for p in parts):
            return info
        raise


def _maybe_finish_unparted(rt: Runtime, dispatch: Dispatcher, stream_id: str) -> None:
    """A destination without multipart gets the object in one streamed put at finalisation;
    until then its frames stay staged."""
    counts = rt.store.counts(stream_id)
    complete = counts.total_chunks is not None and counts.transformed >= counts.total_chunks
    if complete and rt.store.claim_finalize(stream_id):
        dispatch.finalize(stream_id)


def _staged_object(rt: Runtime, spec: StreamSpec) -> Iterator[bytes]:
    total = rt.store.counts(spec.stream_id).total_chunks
    if total is None:
        raise StreamFailed("finalize before the number of chunks was known")
    if spec.header:
        yield base64.b64decode(spec.header)
    for index in range(total):
        frame = rt.staging.get(spec.stream_id, frame_name(index))
        if frame is None:
            raise StreamFailed(f"frame {index} is no longer staged")
        yield frame
    if spec.header:
        yield _trailer(rt, spec.stream_id, total)
