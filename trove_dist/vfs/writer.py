"""Writing a file: a streaming file object whose object appears only when it is closed.

Bytes are gathered into blocks.  A file that stays under one block is stored with a single
``put`` on ``close``; a larger one starts ``put`` in a background thread on its first full
block and feeds it blocks through a short queue, so memory stays bounded (the block being
filled, ``QUEUE_BLOCKS`` waiting, and the one the driver is sending) whatever the file's size.

Drivers make an object visible only once its body is complete, so ending the body with an
exception — which ``abort()``, an exception inside ``with``, or dropping an unclosed writer
all do — leaves nothing behind, not a truncated object.
"""

from __future__ import annotations

import io
import queue
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from trove_dist.driver.body import DEFAULT_CHUNK_SIZE
from trove_dist.driver.models import ObjectInfo

BLOCK_SIZE = DEFAULT_CHUNK_SIZE
QUEUE_BLOCKS = 1
#: How often a writer blocked on a full queue checks that the upload thread is still alive.
_POLL_SECONDS = 0.05

#: Stores a body (bytes, or an iterable of blocks) as the object; returns what was stored.
Upload = Callable[[bytes | Iterable[bytes]], ObjectInfo]


class WriteAborted(Exception):
    """Raised inside the body iterator to make the driver discard a write."""


_END = object()
_ABORT = object()


class _Pipe:
    """The background ``put`` of a large file: a thread that consumes blocks from a short
    queue.  It holds no reference to the writer, so a writer dropped unclosed can still be
    collected — and its finaliser ends the thread."""

    def __init__(self, upload: Upload, name: str) -> None:
        self.name = name
        self.error: BaseException | None = None
        self.result: ObjectInfo | None = None
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_BLOCKS)
        self._thread = threading.Thread(target=self._run, args=(upload,), name=f"vfs-upload {name}", daemon=True)
        self._thread.start()

    def send(self, block: bytes) -> None:
        self._put(block)

    def finish(self) -> ObjectInfo:
        self._put(_END)
        self._thread.join()
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result

    def abort(self) -> None:
        """End the body with ``WriteAborted`` (the driver discards the write) and wait."""
        while self._thread.is_alive():
            try:
                self._queue.put(_ABORT, timeout=_POLL_SECONDS)
                break
            except queue.Full:
                continue
        self._thread.join()

    def _put(self, item: object) -> None:
        while True:
            if self.error is not None:
                raise self.error
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                if not self._thread.is_alive():
                    raise self.error or RuntimeError(f"the upload of {self.name} stopped") from None

    def _blocks(self) -> Iterator[bytes]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if item is _ABORT:
                raise WriteAborted(f"writing {self.name} was aborted")
            assert isinstance(item, bytes)
            yield item

    def _run(self, upload: Upload) -> None:
        try:
            self.result = upload(self._blocks())
        except BaseException as exc:  # noqa: BLE001 - handed over to the writing thread, which raises it
            self.error = exc


class FileWriter(io.BufferedIOBase):
    """A file opened for writing (``"wb"``/``"xb"``).  ``info`` holds the stored object's
    description once ``close`` has returned."""

    def __init__(self, upload: Upload, name: str, block_size: int = BLOCK_SIZE) -> None:
        super().__init__()
        self.name = name
        self.info: ObjectInfo | None = None
        self._upload = upload
        self._block = max(block_size, 1)
        self._buffer = bytearray()
        self._written = 0
        self._pipe: _Pipe | None = None

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._written

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("write to a closed file")
        view = memoryview(data).cast("B")
        n = len(view)
        if not self._buffer and n >= self._block:
            self._send(bytes(view))  # a whole block or more: skip the buffer
        else:
            self._buffer += view
            if len(self._buffer) >= self._block:
                block, self._buffer = bytes(self._buffer), bytearray()
                self._send(block)
        self._written += n
        return n

    def flush(self) -> None:
        """Nothing to do: bytes reach the store as blocks fill, and the object on ``close``."""
        if self.closed:
            raise ValueError("flush of a closed file")

    def close(self) -> None:
        """Store the object: the write is complete (and visible) only when this returns."""
        if self.closed:
            return
        try:
            if self._pipe is None:
                self.info = self._upload(bytes(self._buffer))
            else:
                if self._buffer:
                    self._pipe.send(bytes(self._buffer))
                self.info = self._pipe.finish()
        except BaseException:
            self._abandon()
            raise
        finally:
            self._buffer = bytearray()
            super().close()

    def abort(self) -> None:
        """Discard everything written: the object is not created (nor an old one replaced).
        Whatever else went wrong with the upload no longer matters and is not raised."""
        if self.closed:
            return
        try:
            self._abandon()
        finally:
            self._buffer = bytearray()
            super().close()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        # io.IOBase's finaliser would call close() and publish whatever was written so far;
        # a writer nobody closed is discarded instead.
        if not self.closed:
            warnings.warn(f"unclosed {self!r} discarded: only close() stores a file", ResourceWarning, stacklevel=2)
            self.abort()

    def _send(self, block: bytes) -> None:
        if self._pipe is None:
            self._pipe = _Pipe(self._upload, self.name)
        self._pipe.send(block)

    def _abandon(self) -> None:
        if self._pipe is not None:
            self._pipe.abort()

    def __repr__(self) -> str:
        return f"<FileWriter {self.name!r}>"
