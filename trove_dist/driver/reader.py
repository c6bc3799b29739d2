"""``ObjectReader``: a readable binary file object that also knows what it is reading."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import IO, Protocol

from trove_dist.driver.models import ObjectInfo


class _RawSource(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class ObjectReader(io.RawIOBase):
    """Streams one object (or one byte range of it) from a backend.

    Behaves like a file opened with ``"rb"``: ``read``, ``readinto``, iteration in chunks, and a
    context manager that releases the backend's connection or file descriptor.  ``info`` describes
    the whole object; ``offset`` and ``length`` the part this reader serves.
    """

    def __init__(
        self,
        info: ObjectInfo,
        source: _RawSource | IO[bytes],
        *,
        offset: int = 0,
        length: int | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.info = info
        self.offset = offset
        self.length = info.size - offset if length is None else length
        self._source = source
        self._remaining = self.length
        self._on_close = on_close
        self._readinto = getattr(source, "readinto", None)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("read from a closed ObjectReader")
        if size is None or size < 0 or size > self._remaining:
            size = self._remaining
        if size == 0:
            return b""
        parts: list[bytes] = []
        wanted = size
        while wanted > 0:
            chunk = self._source.read(wanted)
            if not chunk:
                break
            parts.append(chunk)
            wanted -= len(chunk)
        data = bytes(parts[0]) if len(parts) == 1 else b"".join(parts)  # bytes() is free for bytes
        self._remaining -= len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("read from a closed ObjectReader")
        view = memoryview(buffer).cast("B")
        if len(view) > self._remaining:
            view = view[: self._remaining]
        if not len(view):
            return 0
        if self._readinto is not None:
            n: int = self._readinto(view) or 0
        else:
            chunk = self._source.read(len(view))
            n = len(chunk)
            view[:n] = chunk
        self._remaining -= n
        return n

    def seekable(self) -> bool:
        """True when the source can move (a local file); the reader then seeks within its range."""
        probe = getattr(self._source, "seekable", None)
        return bool(probe()) if probe is not None else False

    def tell(self) -> int:
        """The position within the range this reader serves (0 at ``offset``)."""
        return self.length - self._remaining

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if not self.seekable():
            raise io.UnsupportedOperation("this object's source cannot seek; open a range instead")
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.tell(), io.SEEK_END: self.length}[whence]
        target = min(max(base + offset, 0), self.length)
        # Move the source by the difference: right whether it counts from the object's start or
        # from the range's.
        self._source.seek(target - self.tell(), io.SEEK_CUR)  # type: ignore[union-attr]
        self._remaining = self.length - target
        return target

    def iter_chunks(self, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        while chunk := self.read(chunk_size):
            yield chunk

    def close(self) -> None:
        if self.closed:
            return
        # Closed first, so that a failing release is not retried (and run twice) by a later close.
        super().close()
        close = getattr(self._source, "close", None)
        try:
            if close is not None:
                close()
        finally:
            # Runs even if closing the source failed: it may release a lock or a connection.
            if self._on_close is not None:
                self._on_close()
