"""The producer's side of an upload stream.

Bytes written are cut into chunks of the stream's chunk size (buffers from a ``ChunkPool``);
each chunk is staged and handed to the pipeline by reference.  A chunk is sent one chunk late —
only once the next byte (or ``close``) says whether it was the last — because the final frame is
marked as such.  Backpressure decides what happens when the pipeline falls behind.  A stream
whose state outlives this process (the Redis store) can be resumed by another producer: its
status lists the chunks that were never received, and ``send_chunk`` supplies them.
"""

from __future__ import annotations

import time
from typing import Self

from trove_dist.driver.capabilities import MultipartDriver
from trove_dist.driver.models import ObjectInfo
from trove_dist.errors import TroveError
from trove_dist.stream.backpressure import Adaptive, Backpressure, Block
from trove_dist.stream.engine import Dispatcher, Runtime, abandon
from trove_dist.stream.pool import ChunkPool
from trove_dist.stream.progress import Hooks, Progress, SpeedMeter
from trove_dist.stream.records import StreamCounts, StreamSpec, StreamStatus
from trove_dist.stream.staging import StagingFull, raw_name
from trove_dist.stream.state import StreamState


class StreamError(TroveError):
    """The stream failed or was cancelled; the message carries the recorded reason."""


class UploadStream:
    def __init__(
        self,
        runtime: Runtime,
        dispatcher: Dispatcher,
        stream_id: str,
        *,
        backpressure: Backpressure | None = None,
        hooks: Hooks | None = None,
        poll_interval: float = 0.05,
        resumable: bool = False,
    ) -> None:
        """``resumable``: an exception in the producer leaves the stream open for ``resume``
        (by this or another process) instead of cancelling it."""
        self.resumable = resumable
        self.runtime = runtime
        self.dispatcher = dispatcher
        self.stream_id = stream_id
        self.spec = runtime.store.spec(stream_id)
        self.backpressure = backpressure or Block()
        self.hooks = hooks or Hooks()
        self.poll_interval = poll_interval
        self._pool = ChunkPool(self.spec.chunk_size)
        self._buffer: bytearray | None = None
        self._filled = 0
        self._pending: tuple[int, bytes] | None = None
        self._next_index = 0
        self._sent: set[int] = set()
        self._reported: set[int] = set()
        self._speed = SpeedMeter()

    # ---- creation ----------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        runtime: Runtime,
        dispatcher: Dispatcher,
        spec: StreamSpec,
        *,
        backpressure: Backpressure | None = None,
        hooks: Hooks | None = None,
        resumable: bool = False,
    ) -> Self:
        """Register the stream, begin the destination's multipart upload, and go active."""
        start(runtime, spec)
        return cls(
            runtime, dispatcher, spec.stream_id, backpressure=backpressure, hooks=hooks, resumable=resumable
        )

    @classmethod
    def resume(
        cls,
        runtime: Runtime,
        dispatcher: Dispatcher,
        stream_id: str,
        *,
        backpressure: Backpressure | None = None,
        hooks: Hooks | None = None,
    ) -> Self:
        """Continue a stream another producer began; see ``missing`` for what to send."""
        stream = cls(runtime, dispatcher, stream_id, backpressure=backpressure, hooks=hooks, resumable=True)
        status = stream.status()
        if status.state.terminal:
            raise StreamError(f"stream {stream_id} has already ended ({status.state})")
        stream._next_index = status.received + len(status.missing)
        return stream

    # ---- writing -----------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Append bytes to the stream; returns how many were taken (all of them)."""
        view = memoryview(data).cast("B")
        taken = len(view)
        size = self.spec.chunk_size
        while view:
            if self._buffer is None:
                self._buffer = self._pool.get()
                self._filled = 0
            room = size - self._filled
            piece = view[:room]
            self._buffer[self._filled : self._filled + len(piece)] = piece
            self._filled += len(piece)
            view = view[len(piece) :]
            if self._filled == size:
                self._flush_buffer()
        return taken

    def _flush_buffer(self) -> None:
        assert self._buffer is not None
        chunk = bytes(memoryview(self._buffer)[: self._filled])
        self._pool.put(self._buffer)
        self._buffer = None
        self._filled = 0
        if self._pending is not None:
            self._offer(*self._pending)
        self._pending = (self._next_index, chunk)
        self._next_index += 1

    def send_chunk(self, index: int, data: bytes, *, final: bool = False) -> None:
        """Send one chunk by index — for resuming: the chunks ``missing`` lists.  ``final``
        marks the last chunk of the stream (which fixes the chunk count)."""
        if len(data) > self.spec.chunk_size or (not final and len(data) != self.spec.chunk_size):
            raise ValueError("every chunk but the last must be exactly the chunk size")
        if final:
            self.runtime.store.set_total(self.stream_id, index + 1)
        self._offer(index, data)

    def missing(self) -> list[int]:
        return self.status().missing

    def _offer(self, index: int, data: bytes) -> None:
        self._check_alive()
        self.backpressure.offer(index, data, self._send, self._in_flight)
        self._report()

    def _send(self, index: int, data: bytes) -> None:
        while True:
            try:
                self.runtime.staging.put(self.stream_id, raw_name(index), data)
                break
            except StagingFull:
                time.sleep(self.poll_interval)  # the pipeline will drain staging
                self._check_alive()
        self.runtime.store.mark_received(self.stream_id, index)
        self._sent.add(index)
        self.dispatcher.transform(self.stream_id, index)

    def _in_flight(self) -> int:
        counts = self.runtime.store.counts(self.stream_id)
        if isinstance(self.backpressure, Adaptive):
            self.backpressure.observe(counts.stored)
        return len(self._sent) - counts.stored

    # ---- ending ------------------------------------------------------------------------

    def close(self, timeout: float | None = None) -> ObjectInfo:
        """Send what is left, mark the last chunk, and wait until the object is stored."""
        if self._buffer is not None and self._filled:
            self._flush_buffer()
        elif self._buffer is not None:
            self._pool.put(self._buffer)
            self._buffer = None
        if self._pending is None:
            self._pending = (self._next_index, b"")  # an empty stream is one empty final chunk
            self._next_index += 1
        index, data = self._pending
        self._pending = None
        self.runtime.store.set_total(self.stream_id, index + 1)
        self._offer(index, data)
        self.backpressure.drain(self._send, self._in_flight)
        return self.wait(timeout)

    def wait(self, timeout: float | None = None) -> ObjectInfo:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            counts = self._report()
            if counts.state == StreamState.COMPLETED:
                dst = self.spec.destination
                if self.runtime.describe is not None:
                    info = self.runtime.describe(dst)
                else:
                    info = self.runtime.backends(dst.backend).head(dst.bucket, dst.key)
                if self.hooks.on_complete:
                    self.hooks.on_complete(info)
                return info
            if counts.state.terminal:
                reason = self.runtime.store.status(self.stream_id).error or "no reason recorded"
                error = StreamError(f"stream {self.stream_id} {counts.state}: {reason}")
                if self.hooks.on_error:
                    self.hooks.on_error(error)
                raise error
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"stream {self.stream_id} still {counts.state} after {timeout} s")
            time.sleep(self.poll_interval)

    def pause(self) -> None:
        self.runtime.store.transition(self.stream_id, StreamState.PAUSED)

    def unpause(self) -> None:
        self.runtime.store.transition(self.stream_id, StreamState.ACTIVE, only_from=[StreamState.PAUSED])

    def cancel(self) -> None:
        """End the stream now: the destination upload is aborted and nothing becomes visible."""
        self.runtime.store.transition(self.stream_id, StreamState.CANCELLED, error="cancelled by the producer")
        abandon(self.runtime, self.stream_id)

    def status(self) -> StreamStatus:
        return self.runtime.store.status(self.stream_id)

    def _check_alive(self) -> None:
        state = self.runtime.store.state(self.stream_id)
        if state.terminal:
            raise StreamError(f"stream {self.stream_id} has ended ({state})")

    def _report(self) -> StreamCounts:
        counts = self.runtime.store.counts(self.stream_id)
        if self.hooks.on_chunk and counts.stored > len(self._reported):
            for part in self.runtime.store.parts(self.stream_id):
                if part.uploaded:
                    for index in range(part.first, part.last + 1):
                        if index not in self._reported:
                            self._reported.add(index)
                            self.hooks.on_chunk(index)
        if self.hooks.on_progress:
            size = self.spec.source.size if self.spec.source is not None else None
            self.hooks.on_progress(
                Progress(
                    counts.bytes_in, size, counts.stored, counts.total_chunks, self._speed.update(counts.bytes_in)
                )
            )
        return counts

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None and not self.resumable and not self.runtime.store.state(self.stream_id).terminal:
            self.cancel()


def start(runtime: Runtime, spec: StreamSpec) -> None:
    """Create the stream's record, begin the destination upload, and make it active."""
    runtime.store.create(spec)
    driver = runtime.backends(spec.destination.backend)
    if isinstance(driver, MultipartDriver):
        dst = spec.destination
        upload_id = driver.initiate_multipart(
            dst.bucket, dst.key, content_type=spec.content_type, metadata=dict(spec.metadata)
        )
        runtime.store.set_upload_id(spec.stream_id, upload_id)
    runtime.store.transition(spec.stream_id, StreamState.ACTIVE)
