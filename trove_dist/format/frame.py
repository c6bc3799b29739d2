"""One frame: a small clear header, then the transformed chunk."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from trove_dist.errors import CorruptHeader, FrameFromAnotherObject, FramesReordered, TruncatedObject

FRAME_MARK = b"F"
FINAL = 0x80
_HEAD = struct.Struct(">c8sIBI")
FRAME_HEAD_SIZE = _HEAD.size
#: The most a transform may add to a chunk (compression falls back to raw; AEAD adds a tag).
MAX_EXPANSION = 1024


@dataclass(frozen=True, slots=True)
class FrameHead:
    tag: bytes
    index: int
    final: bool
    length: int


def encode_head(tag: bytes, index: int, final: bool, length: int) -> bytes:
    return _HEAD.pack(FRAME_MARK, tag, index, FINAL if final else 0, length)


def parse_head(raw: bytes, *, tag: bytes, expected_index: int, chunk_size: int) -> FrameHead:
    """Check a frame header against where it was found; raise the error that names the fault."""
    if len(raw) < FRAME_HEAD_SIZE:
        raise TruncatedObject(f"object ends inside frame {expected_index}")
    mark, frame_tag, index, flags, length = _HEAD.unpack(raw[:FRAME_HEAD_SIZE])
    if mark != FRAME_MARK or flags & ~FINAL:
        raise CorruptHeader(f"no frame where frame {expected_index} should start")
    if frame_tag != tag:
        raise FrameFromAnotherObject(f"frame at position {expected_index} belongs to another object")
    if index != expected_index:
        raise FramesReordered(f"frame {index} found at position {expected_index}")
    if length > chunk_size + MAX_EXPANSION:
        raise CorruptHeader(f"frame {index} claims {length} bytes, more than a chunk can take")
    return FrameHead(frame_tag, index, bool(flags & FINAL), length)
