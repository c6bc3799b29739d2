"""The framed format: round trips under random shapes, and every malformation named."""

from __future__ import annotations

import io
import os
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trove_dist.errors import (
    CorruptHeader,
    CorruptTrailer,
    FormatError,
    FrameFromAnotherObject,
    FramesReordered,
    InvalidRange,
    TamperedFrame,
    TrailingBytes,
    TruncatedObject,
)
from trove_dist.format.codec import ChunkCodec
from trove_dist.format.frame import FRAME_HEAD_SIZE
from trove_dist.format.header import Header
from trove_dist.format.reader import FramedReader, read_framed_range, read_index
from trove_dist.format.writer import FrameEncoder, framed_stream
from trove_dist.middleware.compress import Compress
from trove_dist.middleware.context import Direction, Operation
from trove_dist.middleware.encrypt import Encrypt, StaticKeyProvider

OP = Operation(Direction.WRITE, "bkt", "k")
KEY = bytes(range(32))
TRANSFORMS = {"zstd": Compress(level=1, min_size=64), "aes-256-gcm": Encrypt(StaticKeyProvider(KEY, "k1"))}


def encode(data: bytes, chunk_size: int, chain: list[str], piece: int = 997) -> tuple[bytes, Header]:
    header = Header.new(chunk_size, chain)
    started = [TRANSFORMS[name].start_write(OP, header) for name in chain]
    encoder = FrameEncoder(header.with_params([p for _, p in started]), [c for c, _ in started])
    pieces = [data[i : i + piece] for i in range(0, len(data), piece)]
    return b"".join(framed_stream(encoder, pieces)), encoder.header


def codecs_for(header: Header) -> list[ChunkCodec]:
    """As the content pipeline does: a transform nobody knows is a malformed (or foreign) header."""
    for spec in header.chain:
        if spec.name not in TRANSFORMS:
            raise CorruptHeader(f"unknown transform {spec.name!r}")
    return [TRANSFORMS[spec.name].start_read(spec.params, header) for spec in header.chain]


def decode(blob: bytes) -> bytes:
    return FramedReader(io.BytesIO(blob), codecs_for).read()


def fetcher(blob: bytes):
    return lambda offset, length: io.BytesIO(blob[offset : offset + length])


chains = st.sampled_from([["zstd"], ["aes-256-gcm"], ["zstd", "aes-256-gcm"], ["aes-256-gcm", "zstd"]])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(st.binary(max_size=40_000), st.integers(0, 40_000).map(lambda n: b"abc" * (n // 3))),
    chunk_size=st.sampled_from([4096, 5000, 8192, 65536]),
    chain=chains,
    piece=st.integers(1, 20_000),
    offset=st.integers(0, 45_000),
    length=st.one_of(st.none(), st.integers(0, 45_000)),
)
def test_round_trip_and_ranges(
    data: bytes, chunk_size: int, chain: list[str], piece: int, offset: int, length: int | None
) -> None:
    blob, _ = encode(data, chunk_size, chain, piece)
    assert decode(blob) == data
    if offset > 0 and offset >= len(data):
        with pytest.raises(InvalidRange):
            read_framed_range(fetcher(blob), len(blob), codecs_for, offset, length)
        return
    stream, size, count = read_framed_range(fetcher(blob), len(blob), codecs_for, offset, length)
    expected = data[offset : None if length is None else offset + length]
    assert size == len(data)
    assert count == len(expected)
    assert stream.read() == expected


def test_range_fetches_only_the_frames_it_needs() -> None:
    data = os.urandom(20 * 4096)
    blob, _ = encode(data, 4096, ["aes-256-gcm"])
    fetched: list[tuple[int, int]] = []

    def fetch(offset: int, length: int) -> io.BytesIO:
        fetched.append((offset, length))
        return io.BytesIO(blob[offset : offset + length])

    stream, _, _ = read_framed_range(fetch, len(blob), codecs_for, 10 * 4096 - 10, 20)
    assert stream.read() == data[10 * 4096 - 10 : 10 * 4096 + 10]
    frame_bytes = fetched[-1][1]
    assert frame_bytes <= 2 * (4096 + FRAME_HEAD_SIZE + 16)
    assert len(fetched) <= 3


@settings(max_examples=40, deadline=None)
@given(position=st.integers(0, 10_000), delta=st.integers(1, 255))
def test_any_single_byte_change_to_an_encrypted_object_is_detected(position: int, delta: int) -> None:
    data = b"secret payload " * 700  # > 2 chunks of 4096
    blob, _ = encode(data, 4096, ["aes-256-gcm"])
    changed = bytearray(blob)
    changed[position % len(blob)] = (changed[position % len(blob)] + delta) % 256
    with pytest.raises(FormatError):
        decode(bytes(changed))


def frames_of(blob: bytes) -> tuple[bytes, list[bytes], bytes]:
    _, trailer, start = read_index(fetcher(blob), len(blob))
    frames = [blob[start + e.offset : start + e.offset + e.stored] for e in trailer.entries]
    end = start + trailer.entries[-1].offset + trailer.entries[-1].stored
    return blob[:start], frames, blob[end:]


def test_reordered_frames_are_named() -> None:
    head, frames, tail = frames_of(encode(os.urandom(3 * 4096), 4096, ["aes-256-gcm"])[0])
    with pytest.raises(FramesReordered):
        decode(head + frames[1] + frames[0] + frames[2] + tail)


def test_frames_swapped_between_objects_are_named() -> None:
    head_a, frames_a, tail_a = frames_of(encode(os.urandom(3 * 4096), 4096, ["aes-256-gcm"])[0])
    _, frames_b, _ = frames_of(encode(os.urandom(3 * 4096), 4096, ["aes-256-gcm"])[0])
    with pytest.raises(FrameFromAnotherObject):
        decode(head_a + frames_a[0] + frames_b[1] + frames_a[2] + tail_a)


def test_truncation_at_a_frame_boundary_is_named() -> None:
    head, frames, tail = frames_of(encode(os.urandom(3 * 4096), 4096, ["aes-256-gcm"])[0])
    with pytest.raises(TruncatedObject):
        decode(head + frames[0] + frames[1])
    with pytest.raises(TruncatedObject):
        decode(head + frames[0] + frames[1] + tail)  # the index kept, a frame dropped


def test_a_dropped_final_frame_with_its_flag_forged_fails_authentication() -> None:
    head, frames, _ = frames_of(encode(os.urandom(3 * 4096), 4096, ["aes-256-gcm"])[0])
    forged = bytearray(frames[1])
    forged[13] |= 0x80  # set the final flag in the clear frame head
    with pytest.raises(TamperedFrame):
        decode(head + frames[0] + bytes(forged))


def test_trailing_bytes_and_extensions_are_named() -> None:
    blob, _ = encode(os.urandom(2 * 4096), 4096, ["aes-256-gcm"])
    with pytest.raises(TrailingBytes):
        decode(blob + b"x")
    head, frames, tail = frames_of(blob)
    with pytest.raises(TrailingBytes):
        decode(head + frames[0] + frames[1] + frames[1] + tail)


def test_tampered_frame_is_named() -> None:
    head, frames, tail = frames_of(encode(os.urandom(2 * 4096), 4096, ["aes-256-gcm"])[0])
    changed = bytearray(head + frames[0] + frames[1] + tail)
    changed[len(head) + FRAME_HEAD_SIZE + 50] ^= 1
    with pytest.raises(TamperedFrame):
        decode(bytes(changed))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b"",
        lambda b: b[:5],
        lambda b: b"\x00" * 8 + b[8:],
        lambda b: b[:8] + struct.pack(">H", 99) + b[10:],
        lambda b: b[:10] + struct.pack(">I", 2**31) + b[14:],
        lambda b: b[:14] + b"{not json" + b[14:],
    ],
)
def test_corrupt_headers_raise_format_errors_not_crashes(mutate) -> None:
    blob, _ = encode(b"data" * 3000, 4096, ["zstd"])
    with pytest.raises(FormatError):
        decode(mutate(blob))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b[:-1],
        lambda b: b[:-20] + b"\xff" * 20,
        lambda b: b[:-16] + struct.pack(">I", 2**30) + b[-12:],
    ],
)
def test_corrupt_trailers_raise_format_errors_for_ranges(mutate) -> None:
    blob, _ = encode(b"data" * 3000, 4096, ["zstd"])
    bad = mutate(blob)
    with pytest.raises((CorruptTrailer, CorruptHeader)):
        read_framed_range(fetcher(bad), len(bad), codecs_for, 10, 10)


def test_a_frame_claiming_a_huge_length_is_refused_without_allocating() -> None:
    head, frames, tail = frames_of(encode(b"z" * 5000, 4096, ["zstd"])[0])
    huge = bytearray(frames[0])
    huge[14:18] = struct.pack(">I", 2**31)
    with pytest.raises(CorruptHeader, match="more than a chunk"):
        decode(head + bytes(huge) + frames[1] + tail)
