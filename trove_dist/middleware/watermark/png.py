"""A PNG watermark: a text chunk inserted after ``IHDR``, without touching the image data.

The chunk structure is walked and every CRC checked, so truncated or corrupt input is refused
with ``CannotEmbed`` rather than passed on half-understood.  Latin-1 text goes in a ``tEXt``
chunk, anything else in an uncompressed ``iTXt`` (UTF-8).  Earlier text chunks with the same
keyword are dropped, so re-watermarking a file replaces its watermark instead of stacking them.
Every other byte of the file is kept as it was.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, PngImagePlugin

from trove_dist.middleware.watermark.formats import PNG_SIGNATURE, CannotEmbed

_LENGTH_AND_TYPE = struct.Struct(">I4s")
_MAX_CHUNK = 2**31 - 1  # the PNG specification's limit on a chunk's length
_TEXT_TYPES = frozenset({b"tEXt", b"zTXt", b"iTXt"})


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def text_chunk(keyword: str, text: str) -> bytes:
    name = keyword.encode("latin-1")
    try:
        return _chunk(b"tEXt", name + b"\0" + text.encode("latin-1"))
    except UnicodeEncodeError:
        # compression flag 0, method 0, empty language tag and translated keyword, UTF-8 text
        return _chunk(b"iTXt", name + b"\0\0\0\0\0" + text.encode("utf-8"))


def _chunks(data: bytes) -> list[tuple[int, int, bytes]]:
    """(start, end, type) of every chunk up to ``IEND``; bytes after it are left alone."""
    if not data.startswith(PNG_SIGNATURE):
        raise CannotEmbed("not a PNG: the signature is missing")
    view = memoryview(data)
    chunks: list[tuple[int, int, bytes]] = []
    pos = len(PNG_SIGNATURE)
    while True:
        if pos + 12 > len(data):
            raise CannotEmbed(f"PNG truncated at byte {pos}: no IEND chunk")
        length, kind = _LENGTH_AND_TYPE.unpack_from(data, pos)
        if length > _MAX_CHUNK or not kind.isalpha():
            raise CannotEmbed(f"PNG chunk at byte {pos} has an invalid header")
        end = pos + 12 + length
        if end > len(data):
            raise CannotEmbed(f"PNG truncated inside the {kind.decode()} chunk at byte {pos}")
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if zlib.crc32(view[pos + 4 : end - 4]) != crc:
            raise CannotEmbed(f"PNG {kind.decode()} chunk at byte {pos} fails its CRC")
        if not chunks and kind != b"IHDR":
            raise CannotEmbed("PNG does not start with an IHDR chunk")
        chunks.append((pos, end, kind))
        pos = end
        if kind == b"IEND":
            return chunks


def _keyword_of(data: bytes, start: int, end: int) -> bytes:
    body = data[start + 8 : end - 4]
    return body.split(b"\0", 1)[0]


def embed(data: bytes, keyword: str, text: str) -> bytes:
    chunks = _chunks(data)
    name = keyword.encode("latin-1")
    view = memoryview(data)
    ihdr_end = chunks[0][1]
    parts: list[bytes | memoryview] = [view[:ihdr_end], text_chunk(keyword, text)]
    kept_from = ihdr_end
    for start, end, kind in chunks[1:]:
        if kind in _TEXT_TYPES and _keyword_of(data, start, end) == name:
            parts.append(view[kept_from:start])
            kept_from = end
    parts.append(view[kept_from:])
    return b"".join(parts)


def read(data: bytes, keyword: str) -> str | None:
    """The watermark as Pillow reads it (text chunks before the image data need no decoding;
    later ones do)."""
    with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
        value = image.info.get(keyword)
        if value is None and isinstance(image, PngImagePlugin.PngImageFile):
            value = image.text.get(keyword)
    return str(value) if isinstance(value, str) else None
