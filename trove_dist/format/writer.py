"""Produce a framed object, as a stream or one frame at a time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from trove_dist.format.codec import ChunkCodec
from trove_dist.format.frame import MAX_EXPANSION, encode_head
from trove_dist.format.header import Header
from trove_dist.format.trailer import FrameEntry, Trailer


class FrameEncoder:
    """Encodes the chunks of one object.  Stateless between frames, so a pipeline worker can
    encode frame ``i`` knowing only the header, its codecs, ``i`` and whether it is the last."""

    def __init__(self, header: Header, codecs: Sequence[ChunkCodec]) -> None:
        if len(codecs) != len(header.chain):
            raise ValueError("one codec per transform in the header's chain")
        self.header = header
        self.codecs = list(codecs)

    def encode(self, index: int, final: bool, chunk: bytes) -> tuple[bytes, bytes]:
        """(frame head, payload) for chunk ``index``; only the final chunk may be short."""
        if len(chunk) > self.header.chunk_size or (not final and len(chunk) != self.header.chunk_size):
            raise ValueError(f"chunk {index} has {len(chunk)} bytes; frames hold exactly the chunk size but the last")
        payload = chunk
        for codec in self.codecs:
            payload = codec.encode(index, final, payload)
        if len(payload) > self.header.chunk_size + MAX_EXPANSION:
            raise ValueError(f"a transform expanded chunk {index} beyond the format's limit")
        return encode_head(self.header.tag, index, final, len(payload)), payload


def rechunk(chunks: Iterable[bytes | memoryview], size: int) -> Iterator[tuple[bytes, bool]]:
    """Cut a stream into ``size``-byte chunks, flagging the last; an empty stream yields one
    empty final chunk (so even an empty object has a frame that authenticates its end).

    Copies as little as it can: an input piece that is exactly one chunk and immutable (``bytes``,
    or a view of a whole ``bytes`` object) is passed through as it is; smaller pieces are gathered
    and joined once.  A mutable piece (a caller's reused ``bytearray``) is always copied, because
    each chunk is held back until the next one shows whether it was the last."""
    parts: list[bytes | memoryview] = []
    filled = 0
    pending: bytes | None = None
    for piece in chunks:
        view = memoryview(piece)
        if view.format != "B" or view.ndim != 1 or not view.c_contiguous:
            view = memoryview(view.tobytes())
        length = view.nbytes
        if not length:
            continue
        if not filled and length == size and (whole := _immutable(piece)) is not None:
            if pending is not None:
                yield pending, False
            pending = whole
            continue
        start = 0
        while start < length:
            take = min(size - filled, length - start)
            parts.append(view[start : start + take])
            filled += take
            start += take
            if filled == size:
                if pending is not None:
                    yield pending, False
                pending = b"".join(parts)
                parts.clear()
                filled = 0
        if parts and not _immutable_source(piece):
            # the tail of a mutable piece waits for the next piece: keep a copy, not a view
            parts[-1] = bytes(parts[-1])
    if filled:
        if pending is not None:
            yield pending, False
        yield b"".join(parts), True
    else:
        yield (pending if pending is not None else b""), True


def _immutable(piece: bytes | memoryview) -> bytes | None:
    """``piece`` as a ``bytes`` object without copying, if it is (or views all of) one."""
    if type(piece) is bytes:
        return piece
    if isinstance(piece, memoryview) and type(piece.obj) is bytes and len(piece.obj) == piece.nbytes:
        return piece.obj
    return None


def _immutable_source(piece: bytes | memoryview) -> bool:
    return type(piece) is bytes or (isinstance(piece, memoryview) and type(piece.obj) is bytes)


def framed_stream(encoder: FrameEncoder, chunks: Iterable[bytes | memoryview]) -> Iterator[bytes]:
    """The whole framed object: header, one frame per chunk, trailer and footer."""
    yield encoder.header.encode()
    offset = 0  # frame offsets count from the end of the header, so a header can be rewritten
    entries: list[FrameEntry] = []
    plain_size = 0
    for index, (chunk, final) in enumerate(rechunk(chunks, encoder.header.chunk_size)):
        frame_head, payload = encoder.encode(index, final, chunk)
        stored = len(frame_head) + len(payload)
        entries.append(FrameEntry(offset, stored, len(chunk)))
        offset += stored
        plain_size += len(chunk)
        del chunk  # hold no chunk or frame longer than needed: the next one is allocated meanwhile
        yield frame_head
        yield payload
        del payload
    yield Trailer(tuple(entries), plain_size).encode()
