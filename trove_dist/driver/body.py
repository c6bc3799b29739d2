"""Turn whatever the caller hands to ``put`` into a stream of chunks.

Drivers consume bodies as an iterator of byte chunks so that a 2 GiB upload never has to be held
in memory.  The iterator is wrapped once, here, to count bytes and compute (or verify) the
checksum as the data passes — the only way to checksum a stream without reading it twice.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Protocol, TypeAlias, runtime_checkable

from trove_dist.checksum import Checksum, new_hasher, validate_algorithm
from trove_dist.errors import ChecksumMismatch

DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024


@runtime_checkable
class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


PutBody: TypeAlias = bytes | bytearray | memoryview | IO[bytes] | Readable | Iterable[bytes | bytearray | memoryview]


def iter_chunks(data: PutBody, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes | memoryview]:
    """Yield the body as chunks of at most ``chunk_size`` bytes (an iterable keeps its own sizes).

    A chunk yielded from an in-memory buffer is a view: consumers that keep chunks must copy.
    """
    if isinstance(data, str):
        raise TypeError("put takes bytes, a binary file object or an iterable of bytes, not str")
    if isinstance(data, (bytes, bytearray, memoryview)):
        view = _byte_view(data)
        for start in range(0, len(view), chunk_size):
            yield view[start : start + chunk_size]
        return
    if isinstance(_unwrap(data), io.TextIOBase):  # checked up front: an empty one reads as ""
        raise TypeError("the file object given to put is in text mode; open it with 'rb'")
    if isinstance(data, Readable):
        while True:
            chunk = data.read(chunk_size)
            if not chunk:
                return
            if isinstance(chunk, str):
                raise TypeError("the file object given to put is in text mode; open it with 'rb'")
            yield chunk
    elif isinstance(data, Iterable):
        for item in data:
            if not isinstance(item, (bytes, bytearray, memoryview)):
                raise TypeError(f"an iterable body must yield bytes, got {type(item).__name__}")
            piece = item if isinstance(item, bytes) else _byte_view(memoryview(item))
            if len(piece):
                yield piece
    else:
        raise TypeError(f"cannot put a {type(data).__name__}")


def _byte_view(data: bytes | bytearray | memoryview) -> memoryview:
    """A flat view of unsigned bytes, so that ``len`` counts bytes (a view of an ``array('I')``
    has 4-byte items) and slicing cuts at byte offsets; a non-contiguous view is copied."""
    view = memoryview(data)
    if view.format == "B" and view.ndim == 1 and view.c_contiguous:
        return view
    if not view.c_contiguous:
        return memoryview(view.tobytes())
    return view.cast("B")


def known_size(data: PutBody) -> int | None:
    """The body's remaining length when it can be known without reading it; else None.

    For file objects only a plain binary file (``open(path, "rb")``) qualifies: wrappers such
    as ``gzip.GzipFile`` also have ``fileno()`` and ``tell()``, but of a different stream.
    """
    if isinstance(data, (bytes, bytearray)):
        return len(data)
    if isinstance(data, memoryview):
        return data.nbytes
    if isinstance(data, io.BytesIO):
        try:
            with data.getbuffer() as buffer:
                return max(buffer.nbytes - data.tell(), 0)
        except ValueError:  # closed
            return None
    file = _plain_file(data)
    if file is None:
        return None
    try:
        st = os.fstat(file.fileno())
        position = file.tell()
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(st.st_mode):
        return max(st.st_size - position, 0)
    return None


def _plain_file(data: object) -> io.FileIO | io.BufferedReader | io.BufferedRandom | None:
    """``data`` if it is a file opened in binary mode (buffered or not), else None."""
    data = _unwrap(data)
    if isinstance(data, (io.BufferedReader, io.BufferedRandom)):
        return data if isinstance(data.raw, io.FileIO) else None
    return data if isinstance(data, io.FileIO) else None


def _unwrap(data: object) -> object:
    """The file object inside a ``NamedTemporaryFile`` wrapper; anything else as it is."""
    return data.file if isinstance(data, tempfile._TemporaryFileWrapper) else data


class ChecksumSource(Protocol):
    """Something that knows a checksum once a body has been consumed (``MeteredChunks``, or a
    value already known, e.g. when rewriting an object whose plaintext does not change)."""

    @property
    def checksum(self) -> Checksum | None: ...


@dataclass(frozen=True, slots=True)
class KnownChecksum:
    checksum: Checksum | None


class MeteredChunks:
    """An iterator over body chunks that counts bytes and hashes them on the way through.

    With ``expected`` set, the digest is compared when the body is exhausted and a mismatch is
    raised *from the iterator*, before the driver commits anything: the object is never written.
    """

    def __init__(
        self,
        chunks: Iterator[bytes | memoryview],
        algorithm: str | None = None,
        expected: Checksum | None = None,
        what: str = "body",
        checksum_of: ChecksumSource | None = None,
    ) -> None:
        """``checksum_of``: report *that* stream's checksum instead of hashing this one — used
        when this body is a transformed form (framed, encrypted) of the content the checksum
        must describe.  That stream is exhausted before this one ends."""
        if checksum_of is not None and (algorithm or expected):
            raise ValueError("checksum_of excludes algorithm and expected")
        self._checksum_of = checksum_of
        if expected is not None:
            algorithm = expected.algorithm
        self._chunks = chunks
        self._algorithm = validate_algorithm(algorithm) if algorithm else None
        self._hasher = new_hasher(algorithm) if algorithm else None
        self._expected = expected
        self._what = what
        self.size = 0
        self._checksum: Checksum | None = None
        self._done = False

    def __iter__(self) -> MeteredChunks:
        return self

    def __next__(self) -> bytes | memoryview:
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self._finish()
            raise
        self.size += chunk.nbytes if isinstance(chunk, memoryview) else len(chunk)
        if self._hasher is not None:
            self._hasher.update(chunk)
        return chunk

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        if self._hasher is None or self._algorithm is None:
            return
        self._checksum = Checksum(self._algorithm, self._hasher.hexdigest())
        if self._expected is not None and not self._expected.matches(self._checksum):
            raise ChecksumMismatch(self._what, self._algorithm, self._expected.value, self._checksum.value)

    @property
    def exhausted(self) -> bool:
        return self._done

    @property
    def checksum(self) -> Checksum | None:
        """The digest of everything yielded; only available once the body is exhausted."""
        if not self._done:
            raise RuntimeError("checksum read before the body was consumed")
        if self._checksum_of is not None:
            return self._checksum_of.checksum
        return self._checksum
