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
    empty final chunk (so even an empty object has a frame that authenticates its end)."""
    buffer = bytearray()
    pending: bytes | None = None
    for piece in chunks:
        buffer += piece
        while len(buffer) >= size:
            if pending is not None:
                yield pending, False
            pending = bytes(memoryview(buffer)[:size])
            del buffer[:size]
    if buffer:
        if pending is not None:
            yield pending, False
        yield bytes(buffer), True
    else:
        yield (pending if pending is not None else b""), True


def framed_stream(encoder: FrameEncoder, chunks: Iterable[bytes | memoryview]) -> Iterator[bytes]:
    """The whole framed object: header, one frame per chunk, trailer and footer."""
    yield encoder.header.encode()
    offset = 0  # frame offsets count from the end of the header, so a header can be rewritten
    entries: list[FrameEntry] = []
    plain_size = 0
    for index, (chunk, final) in enumerate(rechunk(chunks, encoder.header.chunk_size)):
        frame_head, payload = encoder.encode(index, final, chunk)
        yield frame_head
        yield payload
        stored = len(frame_head) + len(payload)
        entries.append(FrameEntry(offset, stored, len(chunk)))
        offset += stored
        plain_size += len(chunk)
    yield Trailer(tuple(entries), plain_size).encode()
