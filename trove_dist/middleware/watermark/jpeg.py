"""A JPEG watermark: a comment (``COM``) segment after the application segments.

The marker segments before the first scan are walked (so JFIF/EXIF ``APPn`` segments stay
first, as readers expect) and the comment is inserted behind them; the entropy-coded image data
is copied as is — nothing is decoded or recompressed, so the pixels cannot change.  The comment
reads ``"<keyword>: <text>"`` in UTF-8, which tells it apart from comments cameras and editors
write; an earlier comment with the same prefix is dropped, so re-watermarking replaces it.
"""

from __future__ import annotations

import io
import struct

from PIL import Image, JpegImagePlugin

from trove_dist.middleware.watermark.formats import CannotEmbed

_SOI = b"\xff\xd8"
_EOI = b"\xff\xd9"
_SOS = 0xDA
_COM = 0xFE
_APP = range(0xE0, 0xF0)
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: no length field


def _prefix(keyword: str) -> bytes:
    return keyword.encode("ascii") + b": "


def comment_segment(keyword: str, text: str) -> bytes:
    payload = _prefix(keyword) + text.encode("utf-8")
    if len(payload) + 2 > 0xFFFF:
        raise ValueError("the watermark is too long for a JPEG comment")
    return b"\xff\xfe" + struct.pack(">H", len(payload) + 2) + payload


def _segments(data: bytes) -> list[tuple[int, int, int]]:
    """(start, end, marker) of each segment from after SOI up to and including the first SOS."""
    if not data.startswith(_SOI):
        raise CannotEmbed("not a JPEG: the start-of-image marker is missing")
    segments = []
    pos = len(_SOI)
    while True:
        start = pos
        if pos >= len(data) or data[pos] != 0xFF:
            raise CannotEmbed(f"JPEG has no marker at byte {pos}: truncated or corrupt before the image data")
        while pos < len(data) and data[pos] == 0xFF:  # fill bytes may precede a marker
            pos += 1
        if pos >= len(data):
            raise CannotEmbed("JPEG truncated before the image data")
        marker = data[pos]
        pos += 1
        if marker in _STANDALONE:
            segments.append((start, pos, marker))
            continue
        if marker in (0x00, 0xD8, 0xD9):
            raise CannotEmbed(f"JPEG has an unexpected marker 0xFF{marker:02X} at byte {start}")
        if pos + 2 > len(data):
            raise CannotEmbed("JPEG truncated inside a segment header")
        (length,) = struct.unpack_from(">H", data, pos)
        end = pos + length
        if length < 2 or end > len(data):
            raise CannotEmbed(f"JPEG segment 0xFF{marker:02X} at byte {start} runs past the end of the file")
        segments.append((start, end, marker))
        pos = end
        if marker == _SOS:
            if data.find(_EOI, pos) < 0:
                raise CannotEmbed("JPEG has no end-of-image marker: truncated")
            return segments


def embed(data: bytes, keyword: str, text: str) -> bytes:
    segments = _segments(data)
    prefix = _prefix(keyword)
    view = memoryview(data)
    insert_at = len(_SOI)
    for _, end, marker in segments:
        if marker not in _APP:
            break
        insert_at = end
    parts: list[bytes | memoryview] = [view[:insert_at], comment_segment(keyword, text)]
    kept_from = insert_at
    for start, end, marker in segments:
        if marker == _COM and data.startswith(prefix, start + 4, end):
            parts.append(view[kept_from:start])
            kept_from = end
    parts.append(view[kept_from:])
    return b"".join(parts)


def read(data: bytes, keyword: str) -> str | None:
    """The watermark from the comments Pillow reports."""
    prefix = _prefix(keyword)
    with Image.open(io.BytesIO(data), formats=["JPEG"]) as image:
        if not isinstance(image, JpegImagePlugin.JpegImageFile):
            return None
        for marker, payload in image.applist:
            if marker == "COM" and payload.startswith(prefix):
                return payload[len(prefix) :].decode("utf-8", errors="replace")
    return None
