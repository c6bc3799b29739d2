"""Decode a framed object: sequentially for a whole read, or a byte range by random access."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from trove_dist.errors import CorruptHeader, CorruptTrailer, InvalidRange, TrailingBytes, TruncatedObject
from trove_dist.format.codec import ChunkCodec
from trove_dist.format.frame import FRAME_HEAD_SIZE, parse_head
from trove_dist.format.header import PREFIX_SIZE, Header
from trove_dist.format.trailer import FOOTER_SIZE, TRAILER_MARK, FrameEntry, Trailer


class ByteSource(Protocol):
    """A readable stream (a driver's ``ObjectReader``, a file, ``BytesIO``)."""

    def read(self, size: int = -1, /) -> bytes: ...
    def close(self) -> None: ...


CodecFactory = Callable[[Header], Sequence[ChunkCodec]]
#: ``fetch(offset, length)`` opens a byte range of the stored object.
RangeFetcher = Callable[[int, int], ByteSource]
_TAIL_GUESS = 64 * 1024


class _ChunkStream(io.RawIOBase):
    """A readable stream over an iterator of byte strings.

    A ``read`` that a whole piece satisfies returns that piece itself (decoded chunks are not
    copied again on their way to the caller); one that spans pieces joins them once."""

    def __init__(self, pieces: Iterator[bytes | memoryview], on_close: Callable[[], None] | None = None) -> None:
        super().__init__()
        self._pieces = pieces
        self._piece: bytes | memoryview = b""
        self._pos = 0
        self._on_close = on_close

    def readable(self) -> bool:
        return True

    def _next_piece(self) -> bool:
        """Advance to the next non-empty piece; False at the end."""
        for piece in self._pieces:
            if len(piece):
                self._piece, self._pos = piece, 0
                return True
        self._piece, self._pos = b"", 0
        return False

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            if self._pos >= len(self._piece) and not self._next_piece():
                break
            n = min(len(view) - filled, len(self._piece) - self._pos)
            view[filled : filled + n] = memoryview(self._piece)[self._pos : self._pos + n]
            self._pos += n
            filled += n
            if self._pos == len(self._piece):
                self._piece, self._pos = b"", 0
        return filled

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        parts: list[bytes | memoryview] = []
        wanted = size
        while wanted > 0:
            if self._pos >= len(self._piece) and not self._next_piece():
                break
            piece, pos = self._piece, self._pos
            take = min(wanted, len(piece) - pos)
            parts.append(piece if pos == 0 and take == len(piece) else memoryview(piece)[pos : pos + take])
            self._pos += take
            wanted -= take
            if self._pos == len(piece):  # used up: do not keep it alive while the next is decoded
                self._piece, self._pos = b"", 0
            del piece
        if len(parts) == 1 and type(parts[0]) is bytes:
            return parts[0]
        return b"".join(parts)

    def readall(self) -> bytes:
        parts: list[bytes | memoryview] = []
        if self._pos < len(self._piece):
            parts.append(memoryview(self._piece)[self._pos :])
        parts.extend(self._pieces)
        self._piece, self._pos = b"", 0
        return b"".join(parts)

    def close(self) -> None:
        if not self.closed and self._on_close is not None:
            self._on_close()
        super().close()


def _read_exact(stream: ByteSource, size: int, what: str) -> bytes:
    parts: list[bytes] = []
    remaining = size
    while remaining:
        piece = stream.read(remaining)
        if not piece:
            raise TruncatedObject(f"object ends inside {what}")
        parts.append(piece)
        remaining -= len(piece)
    return b"".join(parts)


class FramedReader(_ChunkStream):
    """Decodes a whole framed object from a sequential stream, checking its structure as it
    goes: frame order, frame ownership, the final frame, the index and nothing after it."""

    def __init__(self, source: ByteSource, codecs_for: CodecFactory) -> None:
        self._source = source
        self.header, _ = Header.read_from(source)
        self._codecs = list(codecs_for(self.header))
        super().__init__(self._frames(), on_close=source.close)

    def _frames(self) -> Iterator[bytes]:
        header = self.header
        entries: list[FrameEntry] = []
        offset = 0
        while True:
            index = len(entries)
            raw = _read_upto(self._source, FRAME_HEAD_SIZE)
            if not raw or raw.startswith(TRAILER_MARK):
                raise TruncatedObject(f"framed object ends before its final frame (after {index} frames)")
            if len(raw) < FRAME_HEAD_SIZE:
                raise TruncatedObject(f"object ends inside frame {index}")
            head = parse_head(raw, tag=header.tag, expected_index=index, chunk_size=header.chunk_size)
            payload = _read_exact(self._source, head.length, f"frame {index}")
            chunk = _decode(self._codecs, index, head.final, payload)
            del payload  # released before the next frame is read (it would be held until then)
            if len(chunk) > header.chunk_size or (not head.final and len(chunk) != header.chunk_size):
                raise CorruptHeader(f"frame {index} decodes to {len(chunk)} bytes, not a chunk")
            entries.append(FrameEntry(offset, FRAME_HEAD_SIZE + head.length, len(chunk)))
            offset += FRAME_HEAD_SIZE + head.length
            if chunk:
                yield chunk
            del chunk
            if head.final:
                break
        self._check_end(entries)

    def _check_end(self, entries: list[FrameEntry]) -> None:
        expected = Trailer(tuple(entries), sum(e.plain for e in entries)).encode()
        found = _read_upto(self._source, len(expected))
        if found[:1] == b"F":
            raise TrailingBytes(f"a frame follows the final frame {len(entries) - 1}: the object was extended")
        if len(found) < len(expected) and expected.startswith(found):
            raise TruncatedObject("framed object ends inside its frame index")
        if found != expected:
            raise CorruptTrailer("frame index does not match the frames read")
        if self._source.read(1):
            raise TrailingBytes("bytes follow the framed object's footer")


def _read_upto(stream: ByteSource, size: int) -> bytes:
    """Up to ``size`` bytes, fewer only at the end of the stream."""
    parts: list[bytes] = []
    remaining = size
    while remaining:
        piece = stream.read(remaining)
        if not piece:
            break
        parts.append(piece)
        remaining -= len(piece)
    return b"".join(parts)


def _decode(codecs: Sequence[ChunkCodec], index: int, final: bool, payload: bytes) -> bytes:
    for codec in reversed(codecs):
        payload = codec.decode(index, final, payload)
    return payload


def read_framed_range(
    fetch: RangeFetcher, stored_size: int, codecs_for: CodecFactory, offset: int, length: int | None
) -> tuple[_ChunkStream, int, int]:
    """Random access: the plaintext bytes ``[offset, offset+length)``, fetching the header, the
    index and only the frames that hold them.  Returns (stream, plaintext size, byte count)."""
    header, trailer, frames_start = read_index(fetch, stored_size)
    codecs = list(codecs_for(header))
    size = trailer.plain_size
    if offset > 0 and offset >= size:
        raise InvalidRange(f"range starts at byte {offset} but the object is {size} bytes long")
    count = size - offset if length is None else min(length, size - offset)
    if count <= 0:
        return _ChunkStream(iter(())), size, 0
    cs = header.chunk_size
    first, last = offset // cs, (offset + count - 1) // cs
    start = frames_start + trailer.entries[first].offset
    end = frames_start + trailer.entries[last].offset + trailer.entries[last].stored
    source = fetch(start, end - start)

    def pieces() -> Iterator[bytes | memoryview]:
        for index in range(first, last + 1):
            raw = _read_exact(source, FRAME_HEAD_SIZE, f"frame {index}")
            head = parse_head(raw, tag=header.tag, expected_index=index, chunk_size=cs)
            if head.final != (index == len(trailer.entries) - 1):
                raise TruncatedObject(f"frame {index}'s final flag disagrees with the frame index")
            chunk = _decode(codecs, index, head.final, _read_exact(source, head.length, f"frame {index}"))
            if len(chunk) != trailer.entries[index].plain:
                raise CorruptTrailer(f"frame {index} decodes to {len(chunk)} bytes, the index says otherwise")
            lo = offset - index * cs if index == first else 0
            hi = offset + count - index * cs if index == last else len(chunk)
            yield chunk if lo == 0 and hi == len(chunk) else memoryview(chunk)[lo:hi]

    return _ChunkStream(pieces(), on_close=source.close), size, count


def read_index(fetch: RangeFetcher, stored_size: int) -> tuple[Header, Trailer, int]:
    """Fetch and check a framed object's header and frame index (two small ranged reads);
    also returns where the frames start (frame offsets count from there)."""
    if stored_size < PREFIX_SIZE + FOOTER_SIZE:
        raise CorruptHeader("object too short to be framed")
    with contextlib.closing(fetch(0, min(4096, stored_size))) as first:
        start = first.read()
    body_len = Header.body_length(start)
    if PREFIX_SIZE + body_len > len(start):
        with contextlib.closing(fetch(len(start), PREFIX_SIZE + body_len - len(start))) as more:
            start += more.read()
    header = Header.parse_body(start[PREFIX_SIZE : PREFIX_SIZE + body_len])
    tail_len = min(stored_size, _TAIL_GUESS)
    with contextlib.closing(fetch(stored_size - tail_len, tail_len)) as tail_stream:
        tail = tail_stream.read()
    trailer_len, crc = Trailer.trailer_length(tail[-FOOTER_SIZE:])
    if trailer_len + FOOTER_SIZE > stored_size - PREFIX_SIZE - body_len:
        raise CorruptTrailer("frame index is larger than the object")
    if trailer_len + FOOTER_SIZE > len(tail):
        with contextlib.closing(fetch(stored_size - FOOTER_SIZE - trailer_len, trailer_len)) as extra:
            body = extra.read()
    else:
        body = tail[len(tail) - FOOTER_SIZE - trailer_len : len(tail) - FOOTER_SIZE]
    frames_start = PREFIX_SIZE + body_len
    frames_size = stored_size - FOOTER_SIZE - trailer_len - frames_start
    trailer = Trailer.parse(body, crc, chunk_size=header.chunk_size, frames_size=frames_size)
    return header, trailer, frames_start
