"""The stored form of a deduplicated object: the list of its chunks' content hashes.

Binary, because a manifest is read on every access and a large object has hundreds of thousands
of chunks (JSON would triple its size and its parse time)::

    magic "TRVDDUP1" | u8 len + hash algorithm | u8 len + owner id | u64 total size | u32 count
    count x (u64 offset | u32 length | digest)

All integers are big-endian.  The owner id names the references the object holds in the CAS.
Offsets are redundant with the lengths and are checked against them: a manifest that does not
add up is refused rather than served wrong.
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass

from trove_dist.checksum import HEX_DIGEST_LENGTHS, validate_algorithm
from trove_dist.errors import FormatError

MAGIC = b"TRVDDUP1"
_TOTALS = struct.Struct(">QI")
_ENTRY = struct.Struct(">QI")
#: Enough bytes to hold any header: the fixed part, both length-prefixed strings at their longest.
HEADER_MAX = len(MAGIC) + 2 * (1 + 255) + _TOTALS.size


class CorruptManifest(FormatError):
    """A dedup manifest that cannot be parsed or does not add up."""


@dataclass(frozen=True, slots=True)
class Header:
    algorithm: str
    owner: str
    size: int
    count: int
    length: int  # bytes the header occupies


@dataclass(frozen=True, slots=True)
class Manifest:
    algorithm: str
    owner: str
    size: int
    digests: tuple[str, ...]
    offsets: tuple[int, ...]
    lengths: tuple[int, ...]

    def encode(self) -> bytes:
        algorithm = self.algorithm.encode()
        owner = self.owner.encode()
        parts = [
            MAGIC,
            bytes((len(algorithm),)),
            algorithm,
            bytes((len(owner),)),
            owner,
            _TOTALS.pack(self.size, len(self.digests)),
        ]
        for digest, offset, length in zip(self.digests, self.offsets, self.lengths, strict=True):
            parts.append(_ENTRY.pack(offset, length))
            parts.append(bytes.fromhex(digest))
        return b"".join(parts)

    def chunks_for(self, offset: int, length: int) -> range:
        """Indexes of the chunks holding bytes ``[offset, offset + length)``."""
        if length <= 0 or not self.digests:
            return range(0)
        first = bisect.bisect_right(self.offsets, offset) - 1
        last = bisect.bisect_right(self.offsets, offset + length - 1) - 1
        return range(max(first, 0), last + 1)


def decode_header(data: bytes) -> Header:
    if not data.startswith(MAGIC):
        raise CorruptManifest("not a dedup manifest (bad magic)")
    position = len(MAGIC)
    try:
        algorithm, position = _string(data, position)
        owner, position = _string(data, position)
        size, count = _TOTALS.unpack_from(data, position)
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise CorruptManifest(f"truncated dedup manifest header: {exc}") from None
    try:
        validate_algorithm(algorithm)
    except ValueError as exc:
        raise CorruptManifest(str(exc)) from None
    return Header(algorithm, owner, size, count, position + _TOTALS.size)


def decode(data: bytes) -> Manifest:
    header = decode_header(data)
    width = HEX_DIGEST_LENGTHS[validate_algorithm(header.algorithm)] // 2
    step = _ENTRY.size + width
    if len(data) != header.length + header.count * step:
        raise CorruptManifest(f"a manifest of {header.count} chunks cannot be {len(data)} bytes long")
    digests: list[str] = []
    offsets: list[int] = []
    lengths: list[int] = []
    expected = 0
    for position in range(header.length, len(data), step):
        offset, length = _ENTRY.unpack_from(data, position)
        if offset != expected or length == 0:
            raise CorruptManifest(f"chunk {len(digests)} is at offset {offset}, expected {expected}")
        digests.append(data[position + _ENTRY.size : position + step].hex())
        offsets.append(offset)
        lengths.append(length)
        expected += length
    if expected != header.size:
        raise CorruptManifest(f"chunks add up to {expected} bytes, the manifest says {header.size}")
    return Manifest(header.algorithm, header.owner, header.size, tuple(digests), tuple(offsets), tuple(lengths))


def _string(data: bytes, position: int) -> tuple[str, int]:
    length = data[position]
    end = position + 1 + length
    if end > len(data):
        raise IndexError("string runs past the end")
    return data[position + 1 : end].decode(), end
