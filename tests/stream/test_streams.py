"""Upload and download streams through Trove on the embedded engine (threads, in-memory state)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from trove_dist import Trove
from trove_dist.driver.body import PutBody
from trove_dist.driver.capabilities import PartInfo
from trove_dist.drivers.local import LocalDriver
from trove_dist.drivers.memory import MemoryDriver
from trove_dist.errors import ObjectNotFound, UnsupportedCapability
from trove_dist.ids import new_stream_id
from trove_dist.middleware import ObjectMiddleware
from trove_dist.middleware.compress import Compress
from trove_dist.middleware.encrypt import Encrypt, StaticKeyProvider
from trove_dist.stream import Adaptive, Block, Buffer, Drop, StreamError, StreamState, UploadStream
from trove_dist.stream import engine as steps
from trove_dist.stream.engine import SourceChanged
from trove_dist.stream.records import ObjectRef, StreamSpec
from trove_dist.stream.upload import start

CHUNK = 16 * 1024
KEY = os.urandom(32)


class SlowMemory(MemoryDriver):
    """Parts take a while to upload, so a fast producer meets backpressure."""

    delay = 0.01

    def upload_part(self, bucket: str, key: str, upload_id: str, part_number: int, data: PutBody) -> PartInfo:
        time.sleep(self.delay)
        return super().upload_part(bucket, key, upload_id, part_number, data)


@pytest.fixture(params=["memory", "local"])
def trove(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Trove]:
    driver = SlowMemory() if request.param == "memory" else LocalDriver(tmp_path, durable=False)
    with Trove(driver, default_bucket="bkt", chunk_size=CHUNK) as t:
        t.create_bucket("bkt")
        t.use(Compress(), priority=10)
        t.use(Encrypt(StaticKeyProvider(KEY, "k1")), priority=20)
        yield t


def upload(trove: Trove, key: str, data: bytes, piece: int = 5000, **options: object) -> UploadStream:
    stream: UploadStream = trove.stream(None, key, **options)  # type: ignore[call-overload]
    for start_at in range(0, len(data), piece):
        stream.write(data[start_at : start_at + piece])
    return stream


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 7 * CHUNK + 123])
def test_round_trip_any_size(trove: Trove, size: int) -> None:
    data = (b"stream me " * (size // 10 + 1))[: size // 2] + os.urandom(size - size // 2)
    info = upload(trove, "obj", data).close(timeout=30)
    assert info.size == size
    assert trove.get(None, "obj").read() == data
    assert trove.head(None, "obj").size == size
    if size:
        assert trove.get(None, "obj", offset=size // 3, length=CHUNK).read() == data[size // 3 : size // 3 + CHUNK]


@pytest.mark.parametrize(
    "strategy",
    [Block(window=2), Drop(window=2, max_held=3), Buffer(window=2, max_bytes=4 * CHUNK), Adaptive(1, 4, 0.05)],
    ids=["block", "drop", "buffer", "adaptive"],
)
def test_every_backpressure_strategy_loses_nothing(trove: Trove, strategy: object) -> None:
    data = os.urandom(40 * CHUNK + 7)
    stream = upload(trove, "bp", data, piece=CHUNK * 3, backpressure=strategy)
    stream.close(timeout=60)
    assert trove.get(None, "bp").read() == data
    if isinstance(strategy, Drop) and isinstance(trove.driver, SlowMemory):
        assert strategy.dropped > 0  # the strategy really engaged
    if isinstance(strategy, Buffer) and isinstance(trove.driver, SlowMemory):
        assert strategy.spills > 0
    assert strategy.held == 0  # type: ignore[attr-defined]


def test_hooks_report_progress_chunks_and_completion(trove: Trove) -> None:
    progress: list[float] = []
    chunks: list[int] = []
    done: list[int] = []
    data = os.urandom(6 * CHUNK)
    stream = upload(
        trove,
        "hooked",
        data,
        on_progress=lambda p: progress.append(p.bytes_done),
        on_chunk=chunks.append,
        on_complete=lambda info: done.append(info.size),
    )
    stream.close(timeout=30)
    assert sorted(chunks) == list(range(6))
    assert done == [len(data)]
    assert progress
    assert progress[-1] == len(data)


def test_a_dead_producer_is_resumed_from_its_missing_chunks(trove: Trove) -> None:
    data = os.urandom(5 * CHUNK + 99)
    chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
    first = trove.stream(None, "resumed", resumable=True)
    first.send_chunk(0, chunks[0])
    first.send_chunk(2, chunks[2])
    stream_id = first.stream_id
    del first  # the producer is gone; its stream is not
    second = trove.stream(None, "resumed", stream_id=stream_id)
    assert second.missing() == [1]  # below the highest chunk received
    for index in (1, 3, 4):
        second.send_chunk(index, chunks[index])
    second.send_chunk(5, chunks[5], final=True)
    assert second.wait(timeout=30).size == len(data)
    assert trove.get(None, "resumed").read() == data


def test_cancel_leaves_nothing_behind(trove: Trove) -> None:
    stream = upload(trove, "cancelled", os.urandom(4 * CHUNK))
    stream.cancel()
    assert stream.status().state == StreamState.CANCELLED
    with pytest.raises(ObjectNotFound):
        trove.head(None, "cancelled")
    mp = trove.driver
    assert mp.list_multipart_uploads("bkt") == []  # type: ignore[attr-defined]
    stream.write(b"late")  # buffered: nothing is sent until a chunk fills or the stream closes
    with pytest.raises(StreamError):
        stream.close(timeout=5)


def test_an_exception_in_the_producer_cancels_unless_resumable(trove: Trove) -> None:
    def produce(stream: UploadStream) -> None:
        with stream:
            stream.write(os.urandom(CHUNK * 2))
            raise RuntimeError("producer crashed")

    stream = trove.stream(None, "boom")
    with pytest.raises(RuntimeError):
        produce(stream)
    assert stream.status().state == StreamState.CANCELLED
    kept = trove.stream(None, "kept", resumable=True)
    with pytest.raises(RuntimeError):
        produce(kept)
    assert kept.status().state == StreamState.ACTIVE


def test_pause_holds_the_pipeline_until_resumed(trove: Trove) -> None:
    data = os.urandom(3 * CHUNK + 4)
    stream = upload(trove, "paused", data)
    stream.pause()
    finished: list[int] = []
    closer = threading.Thread(target=lambda: finished.append(stream.close(timeout=30).size))
    closer.start()
    time.sleep(0.3)
    assert stream.status().state == StreamState.PAUSED
    assert not trove.exists(None, "paused")
    stream.unpause()
    closer.join()
    assert finished == [len(data)]
    assert trove.get(None, "paused").read() == data


def test_steps_run_twice_give_the_same_object_and_count_once(trove: Trove) -> None:
    """A broker redelivers: every step is executed a second time by hand."""
    engine = trove.stream_engine()
    runtime = engine.runtime
    calls: list[tuple[str, int]] = []

    class Recorder:
        def transform(self, stream_id: str, index: int) -> None:
            calls.append(("transform", index))

        def write(self, stream_id: str, index: int) -> None:
            calls.append(("write", index))

        def finalize(self, stream_id: str) -> None:
            calls.append(("finalize", -1))

    data = os.urandom(3 * CHUNK + 5)
    backend, _ = trove.resolve(None, "twice")
    content_type, meta, header = trove.content.stream_plan("bkt", "twice", None, None, len(data))
    spec = StreamSpec(
        new_stream_id(),
        ObjectRef(backend, "bkt", "twice"),
        CHUNK,
        content_type=content_type,
        metadata=meta,
        header=steps.encode_header(header) if header else None,
    )
    start(runtime, spec)
    sid = spec.stream_id
    runtime.store.set_total(sid, 4)
    recorder = Recorder()
    for i in range(4):
        runtime.staging.put(sid, f"raw:{i}", data[i * CHUNK : (i + 1) * CHUNK])
        runtime.store.mark_received(sid, i)
    for i in reversed(range(4)):
        steps.transform(runtime, recorder, sid, i)
        steps.transform(runtime, recorder, sid, i)  # duplicate
    sizes = runtime.store.frame_sizes(sid)
    for i in range(4):
        steps.write(runtime, recorder, sid, i)
        steps.write(runtime, recorder, sid, i)  # duplicate
    assert runtime.store.frame_sizes(sid) == sizes
    assert calls.count(("finalize", -1)) == 1
    status = runtime.store.status(sid)
    assert status.stored == 4
    steps.finalize(runtime, sid)
    steps.finalize(runtime, sid)  # duplicate: a no-op
    assert trove.get(None, "twice").read() == data


def test_a_source_that_changes_mid_copy_fails_the_stream(tmp_path: Path) -> None:
    with Trove(MemoryDriver(), default_bucket="bkt", chunk_size=CHUNK) as trove:
        trove.create_bucket("bkt")
        source = trove.put(None, "src", os.urandom(3 * CHUNK))
        runtime = trove.stream_engine().runtime
        spec = StreamSpec(
            new_stream_id(),
            ObjectRef("default", "bkt", "dst"),
            CHUNK,
            source=ObjectRef("default", "bkt", "src", source.etag, source.size),
        )
        start(runtime, spec)
        runtime.store.set_total(spec.stream_id, 3)
        trove.put(None, "src", os.urandom(3 * CHUNK))  # replaced under the copy
        with pytest.raises(SourceChanged):
            steps.transform(runtime, trove.stream_engine().dispatcher, spec.stream_id, 0)


def test_object_middleware_is_refused_on_streams(trove: Trove) -> None:
    trove.use(ObjectMiddleware())
    with pytest.raises(UnsupportedCapability, match="object middleware"):
        trove.stream(None, "x")


def test_download_reads_ahead_in_order_and_resumes_a_file(trove: Trove, tmp_path: Path) -> None:
    data = os.urandom(9 * CHUNK + 1)
    trove.put(None, "down", data)
    stream = trove.stream(None, "down", "download", window=3)
    assert b"".join(stream) == data
    fetched: list[int] = []
    broken = trove.stream(None, "down", "download")
    real = broken._read_range

    def failing(offset: int, length: int) -> bytes:
        if offset // CHUNK == 6:
            raise OSError("connection reset")
        fetched.append(offset // CHUNK)
        return real(offset, length)

    broken._read_range = failing
    target = tmp_path / "out.bin"
    with pytest.raises(OSError, match="reset"):
        broken.download_to(target)
    assert not target.exists()
    resumed = trove.stream(None, "down", "download")
    again: list[int] = []
    inner = resumed._read_range

    def counting(offset: int, length: int) -> bytes:
        again.append(offset // CHUNK)
        return inner(offset, length)

    resumed._read_range = counting
    resumed.download_to(target)
    assert target.read_bytes() == data
    assert sorted(again) == [6, 7, 8, 9]  # only what the interrupted download had not written


def test_no_stream_thread_outlives_close() -> None:
    before = threading.active_count()
    with Trove(MemoryDriver(), default_bucket="bkt", chunk_size=CHUNK) as trove:
        trove.create_bucket("bkt")
        upload(trove, "x", os.urandom(3 * CHUNK)).close(timeout=30)
        assert threading.active_count() > before
    assert threading.active_count() == before
