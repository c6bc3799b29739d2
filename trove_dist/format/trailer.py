"""The frame index at the end of a framed object, and the fixed-size footer after it."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from trove_dist.errors import CorruptTrailer

TRAILER_MARK = b"TRVI"
END_MAGIC = b"TRVEND\x00\x01"
_COUNT = struct.Struct(">4sI")
_ENTRY = struct.Struct(">QII")
_TOTAL = struct.Struct(">Q")
_FOOTER = struct.Struct(">II8s")
FOOTER_SIZE = _FOOTER.size


@dataclass(frozen=True, slots=True)
class FrameEntry:
    offset: int
    stored: int
    plain: int


@dataclass(frozen=True, slots=True)
class Trailer:
    entries: tuple[FrameEntry, ...]
    plain_size: int

    def encode(self) -> bytes:
        body = b"".join(
            [
                _COUNT.pack(TRAILER_MARK, len(self.entries)),
                *(_ENTRY.pack(e.offset, e.stored, e.plain) for e in self.entries),
                _TOTAL.pack(self.plain_size),
            ]
        )
        return body + _FOOTER.pack(len(body), zlib.crc32(body), END_MAGIC)

    @staticmethod
    def trailer_length(footer: bytes) -> tuple[int, int]:
        """(trailer length, crc) from the footer; raises if the footer is not one."""
        if len(footer) != FOOTER_SIZE:
            raise CorruptTrailer("object too short for a framed footer")
        length, crc, magic = _FOOTER.unpack(footer)
        if magic != END_MAGIC:
            raise CorruptTrailer("framed footer missing: the object is truncated or has bytes appended")
        return length, crc

    @classmethod
    def parse(cls, body: bytes, crc: int, *, chunk_size: int, frames_size: int) -> Trailer:
        if zlib.crc32(body) != crc:
            raise CorruptTrailer("frame index checksum mismatch")
        if len(body) < _COUNT.size + _TOTAL.size:
            raise CorruptTrailer("frame index too short")
        mark, count = _COUNT.unpack_from(body)
        if mark != TRAILER_MARK or len(body) != _COUNT.size + count * _ENTRY.size + _TOTAL.size:
            raise CorruptTrailer("frame index length does not match its frame count")
        packed = memoryview(body)[_COUNT.size : len(body) - _TOTAL.size]
        entries = tuple(FrameEntry(*fields) for fields in _ENTRY.iter_unpack(packed))
        (plain_size,) = _TOTAL.unpack_from(body, len(body) - _TOTAL.size)
        cls._check(entries, plain_size, chunk_size, frames_size)
        return cls(entries, plain_size)

    @staticmethod
    def _check(entries: tuple[FrameEntry, ...], plain_size: int, chunk_size: int, frames_size: int) -> None:
        """Offsets count from the first frame; the frames must tile ``frames_size`` exactly."""
        if not entries:
            raise CorruptTrailer("frame index lists no frames")
        position = 0
        for i, entry in enumerate(entries):
            last = i == len(entries) - 1
            if entry.offset != position or entry.offset + entry.stored > frames_size:
                raise CorruptTrailer(f"frame {i} is not where the index says")
            if (not last and entry.plain != chunk_size) or entry.plain > chunk_size:
                raise CorruptTrailer(f"frame {i} has an impossible plaintext size {entry.plain}")
            position = entry.offset + entry.stored
        if position != frames_size:
            raise CorruptTrailer("the frames do not end where the frame index begins")
        if plain_size != chunk_size * (len(entries) - 1) + entries[-1].plain:
            raise CorruptTrailer("frame index total does not add up")
