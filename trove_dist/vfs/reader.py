"""Reading a file: a seekable, buffered file object over range requests.

The VFS opens an object once, for the whole of it, and reads on as long as the caller reads
sequentially: one request for a sequential scan, the way ``pandas.read_csv`` reads.  A short
hop forward reads through the open stream; a jump elsewhere costs a new request for just the
bytes wanted — unless the open stream can seek (a local file, an in-memory object), in which
case it seeks.  Reads that keep going after a jump grow their requests (doubling, up to
``MAX_WINDOW``).  Small reads are served from a read-ahead buffer of one block, so that
``readline`` and 100-byte reads don't each become a request.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from trove_dist.driver.models import ObjectInfo
from trove_dist.errors import PreconditionFailed
from trove_dist.vfs.storage import Reader

#: The read-ahead block: reads smaller than this fetch this much and keep the rest.
BLOCK_SIZE = 64 * 1024
#: The longest range request sequential reading after a jump grows to (doubling from the
#: first); bounded requests are read to their end, so HTTP connections are reused.
MAX_WINDOW = 8 * 1024 * 1024

#: A jump forward at most this far reads on through the open stream instead of making a new
#: request: a round trip costs more than the bytes it would skip.
SKIP_LIMIT = 256 * 1024

#: Opens the object's bytes ``[offset, offset + length)`` (to the end when ``length`` is None).
Opener = Callable[[int, int | None], Reader]


class RangeSource:
    """Serves reads at any offset of one object with as few requests as the access pattern
    allows (see the module docstring); every request after the first must still be the same
    object, or the read fails instead of splicing two versions together."""

    def __init__(self, opener: Opener, first: Reader, what: str) -> None:
        self.info: ObjectInfo = first.info
        self.size = first.info.size
        self._open = opener
        self._what = what
        self._stream: Reader | None = first
        self._seekable = first.seekable()
        self._pos = 0  # the object offset the open stream delivers next
        self._end = self.size  # where the open stream's request ends
        self._window = 0

    def read(self, pos: int, size: int) -> bytes:
        """``size`` bytes at ``pos`` (fewer only at the end of the object)."""
        size = min(size, self.size - pos)
        parts: list[bytes] = []
        got = 0
        while got < size:
            stream = self._stream_at(pos + got, size - got)
            data = stream.read(min(size - got, self._end - self._pos))
            if not data:
                break
            self._pos += len(data)
            got += len(data)
            parts.append(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readinto(self, pos: int, view: memoryview) -> int:
        """Fill ``view`` from ``pos``; fewer bytes only at the end of the object."""
        wanted = min(len(view), self.size - pos)
        filled = 0
        while filled < wanted:
            stream = self._stream_at(pos + filled, wanted - filled)
            n = stream.readinto(view[filled : filled + min(wanted - filled, self._end - self._pos)])
            if not n:
                break
            filled += n
            self._pos += n
        return filled

    def _stream_at(self, pos: int, size: int) -> Reader:
        stream = self._stream
        if stream is not None and not self._seekable and 0 < pos - self._pos <= SKIP_LIMIT and pos < self._end:
            self._discard(stream, pos - self._pos)  # a short hop forward: cheaper than a request
        if stream is not None:
            if self._seekable:
                if pos != self._pos:
                    stream.seek(pos)
                    self._pos = pos
                return stream
            if pos == self._pos and pos < self._end:
                return stream
        sequential = stream is not None and pos == self._pos
        self._drop()
        self._window = min(max(self._window * 2, size), MAX_WINDOW) if sequential else size
        length = min(max(size, self._window), self.size - pos)
        stream = self._open(pos, length)
        if stream.info.etag != self.info.etag:
            stream.close()
            raise PreconditionFailed(f"{self._what} was replaced while it was being read")
        self._stream, self._seekable, self._pos, self._end = stream, False, pos, pos + length
        return stream

    def _discard(self, stream: Reader, count: int) -> None:
        scratch = memoryview(bytearray(min(count, BLOCK_SIZE)))
        while count > 0:
            n = stream.readinto(scratch[: min(count, len(scratch))])
            if not n:
                return
            count -= n
            self._pos += n

    def _drop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()

    def close(self) -> None:
        self._drop()


class FileReader(io.BufferedIOBase):
    """A file opened for reading (``"rb"``): ``read``, ``readinto``, ``readline``, ``seek``,
    ``tell``, iteration by lines, and a context manager.  ``info`` describes the object."""

    def __init__(self, source: RangeSource, name: str, block_size: int = BLOCK_SIZE) -> None:
        super().__init__()
        self.name = name
        self._source = source
        self._block = max(block_size, 1)
        self._buf = memoryview(b"")
        self._buf_start = 0
        self._pos = 0

    @property
    def info(self) -> ObjectInfo:
        return self._source.info

    @property
    def size(self) -> int:
        return self._source.size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        self._check_open()
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._check_open()
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            target = self.size + offset
        else:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        if target < 0:
            raise OSError(22, f"negative seek position {target}")
        self._pos = target
        return target

    # ---- reading ----------------------------------------------------------------------

    def read(self, size: int | None = -1) -> bytes:
        self._check_open()
        if size is None or size < 0:
            size = max(self.size - self._pos, 0)
        buffered = self._buffered(size)
        if len(buffered) == size:
            return bytes(buffered)
        rest = size - len(buffered)
        if rest >= self._block:
            data = self._source.read(self._pos, rest)
            self._pos += len(data)
        else:
            self._fill()
            data = bytes(self._buffered(rest))
        return bytes(buffered) + data if buffered else data

    def read1(self, size: int = -1) -> bytes:
        """At most one request: what is buffered, else one block (or ``size``, if larger)."""
        self._check_open()
        if size < 0:
            size = self._block
        if not self._buffered_len():
            if size >= self._block:
                data = self._source.read(self._pos, size)
                self._pos += len(data)
                return data
            self._fill()
        return bytes(self._buffered(size))

    def readinto(self, buffer: Any) -> int:
        self._check_open()
        view = memoryview(buffer).cast("B")
        buffered = self._buffered(len(view))
        view[: len(buffered)] = buffered
        filled = len(buffered)
        rest = len(view) - filled
        if rest == 0:
            return filled
        if rest >= self._block:
            n = self._source.readinto(self._pos, view[filled:])
            self._pos += n
            return filled + n
        self._fill()
        more = self._buffered(rest)
        view[filled : filled + len(more)] = more
        return filled + len(more)

    def readinto1(self, buffer: Any) -> int:
        return self.readinto(buffer)

    def peek(self, size: int = 0) -> bytes:
        self._check_open()
        if not self._buffered_len():
            self._fill()
        start = self._pos - self._buf_start
        return bytes(self._buf[start:])

    def readline(self, size: int | None = -1) -> bytes:
        self._check_open()
        limit = -1 if size is None else size
        parts: list[bytes] = []
        total = 0
        while limit < 0 or total < limit:
            if not self._buffered_len():
                self._fill()
                if not self._buffered_len():
                    break
            start = self._pos - self._buf_start
            end = len(self._buf)
            if limit >= 0:
                end = min(end, start + limit - total)
            newline = bytes(self._buf[start:end]).find(b"\n")
            take = (newline + 1) if newline >= 0 else end - start
            parts.append(bytes(self._buffered(take)))
            total += take
            if newline >= 0:
                break
        return b"".join(parts)

    # ---- buffer -----------------------------------------------------------------------

    def _buffered_len(self) -> int:
        start = self._pos - self._buf_start
        return len(self._buf) - start if 0 <= start < len(self._buf) else 0

    def _buffered(self, size: int) -> memoryview:
        """Up to ``size`` buffered bytes at the current position; advances past them."""
        start = self._pos - self._buf_start
        if not 0 <= start < len(self._buf):
            return memoryview(b"")
        chunk = self._buf[start : start + size]
        self._pos += len(chunk)
        return chunk

    def _fill(self) -> None:
        self._buf = memoryview(self._source.read(self._pos, self._block))
        self._buf_start = self._pos

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file.")

    def close(self) -> None:
        if not self.closed:
            try:
                self._source.close()
            finally:
                self._buf = memoryview(b"")
                super().close()

    def __repr__(self) -> str:
        return f"<FileReader {self.name!r}>"
