"""Download streams: an object read as chunks, several range reads ahead, in order.

Chunks are fetched with ranged reads by a small thread pool, at most ``window`` ahead of the
consumer (the backpressure: a slow consumer stops the prefetching, it never piles up memory).
``download_to(path, resume=True)`` writes each chunk at its offset in ``path + ".part"`` and
records finished chunks in a progress file beside it, so a download interrupted by a crash
continues with only the missing chunks; the file appears at ``path`` only when complete.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from trove_dist.driver.models import ObjectInfo
from trove_dist.stream.engine import chunk_count
from trove_dist.stream.progress import Hooks, Progress, SpeedMeter
from trove_dist.stream.state import StreamState, allowed

#: ``read_range(offset, length) -> bytes`` of the object's (decoded) content.
ReadRange = Callable[[int, int], bytes]


class DownloadStream:
    def __init__(
        self,
        info: ObjectInfo,
        read_range: ReadRange,
        *,
        chunk_size: int,
        window: int = 4,
        workers: int = 2,
        hooks: Hooks | None = None,
    ) -> None:
        if window < 1:
            raise ValueError("the window must hold at least one chunk")
        self.info = info
        self.chunk_size = chunk_size
        self.window = window
        self.workers = workers
        self.hooks = hooks or Hooks()
        self.state = StreamState.IDLE
        self._read_range = read_range
        self.total_chunks = chunk_count(info.size, chunk_size) if info.size else 0
        self._done_bytes = 0
        self._done_chunks = 0
        self._speed = SpeedMeter()

    def _move(self, wanted: StreamState) -> None:
        if not allowed(self.state, wanted):
            raise RuntimeError(f"download stream cannot go from {self.state} to {wanted}")
        self.state = wanted

    def chunks(self, skip: frozenset[int] = frozenset()) -> Iterator[tuple[int, bytes]]:
        """``(index, data)`` for every chunk not in ``skip``, in order."""
        self._move(StreamState.ACTIVE)
        todo = [i for i in range(self.total_chunks) if i not in skip]
        try:
            with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="trove-download") as pool:
                ahead: deque[tuple[int, Future[bytes]]] = deque()
                position = 0
                while position < len(todo) or ahead:
                    while position < len(todo) and len(ahead) < self.window:
                        index = todo[position]
                        ahead.append((index, pool.submit(self._fetch, index)))
                        position += 1
                    index, future = ahead.popleft()
                    try:
                        data = future.result()
                    except BaseException:
                        for _, pending in ahead:
                            pending.cancel()
                        raise
                    self._account(index, len(data))
                    yield index, data
        except BaseException as exc:
            self.state = StreamState.FAILED
            if self.hooks.on_error and isinstance(exc, Exception):
                self.hooks.on_error(exc)
            raise
        self._move(StreamState.COMPLETING)

    def _fetch(self, index: int) -> bytes:
        offset = index * self.chunk_size
        length = min(self.chunk_size, self.info.size - offset)
        data = self._read_range(offset, length)
        if len(data) != length:
            raise OSError(f"chunk {index} came back with {len(data)} bytes, expected {length}")
        return data

    def _account(self, index: int, size: int) -> None:
        self._done_bytes += size
        self._done_chunks += 1
        if self.hooks.on_chunk:
            self.hooks.on_chunk(index)
        if self.hooks.on_progress:
            speed = self._speed.update(self._done_bytes)
            self.hooks.on_progress(
                Progress(self._done_bytes, self.info.size, self._done_chunks, self.total_chunks, speed)
            )

    def __iter__(self) -> Iterator[bytes]:
        for _, data in self.chunks():
            yield data
        self._finish()

    def _finish(self) -> None:
        self._move(StreamState.COMPLETED)
        if self.hooks.on_complete:
            self.hooks.on_complete(self.info)

    def __enter__(self) -> DownloadStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self.state.terminal and self.state != StreamState.IDLE:
            self.state = StreamState.CANCELLED

    def download_to(self, path: str | os.PathLike[str], *, resume: bool = True) -> Path:
        """Write the object to ``path``; with ``resume``, continue an interrupted download."""
        target = Path(path)
        partial = target.with_name(target.name + ".part")
        progress_file = target.with_name(target.name + ".trove-progress")
        done: set[int] = set()
        if resume and partial.exists() and progress_file.exists():
            record = json.loads(progress_file.read_text())
            if record.get("etag") == self.info.etag and record.get("chunk_size") == self.chunk_size:
                done = set(record["done"])
        if not done:
            partial.unlink(missing_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.ftruncate(fd, self.info.size)
            for index, data in self.chunks(skip=frozenset(done)):
                os.pwrite(fd, data, index * self.chunk_size)
                done.add(index)
                _write_progress(progress_file, self.info.etag, self.chunk_size, done)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, target)
        with contextlib.suppress(FileNotFoundError):
            progress_file.unlink()
        self._finish()
        return target


def _write_progress(path: Path, etag: str, chunk_size: int, done: set[int]) -> None:
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(json.dumps({"etag": etag, "chunk_size": chunk_size, "done": sorted(done)}))
    os.replace(temp, path)
