"""Embedding a watermark in, and reading it back from, a whole file of a supported format.

An embedded file is read back before it is accepted: it must open in the library users read it
with (Pillow, pypdf) and report exactly the watermark — for a PDF, with its page count intact.
Whatever fails that check is ``CannotEmbed``, never a file that only looks watermarked.  The
check uses the libraries' defaults, so an image beyond Pillow's decompression-bomb limit
(``Image.MAX_IMAGE_PIXELS``) cannot be verified and is ``CannotEmbed`` too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from trove_dist.middleware.watermark import jpeg, pdf, png
from trove_dist.middleware.watermark.formats import (
    SNIFF_BYTES,
    CannotEmbed,
    Format,
    declared_format,
    is_generic,
    sniff,
)

_EMBED: dict[Format, Callable[[bytes, str, str], bytes]] = {
    Format.PNG: png.embed,
    Format.JPEG: jpeg.embed,
    Format.PDF: pdf.embed,
}
_READ: dict[Format, Callable[[bytes, str], str | None]] = {
    Format.PNG: png.read,
    Format.JPEG: jpeg.read,
    Format.PDF: pdf.read,
}

DEFAULT_KEYWORD = "Watermark"


def embed(fmt: Format, data: bytes, keyword: str, text: str) -> bytes:
    """``data`` with the watermark embedded; ``CannotEmbed`` if it cannot carry one."""
    out = _EMBED[fmt](data, keyword, text)
    try:
        found = _READ[fmt](out, keyword)
        same_pages = fmt is not Format.PDF or pdf.page_count(out) == pdf.page_count(data)
    except Exception as exc:  # Pillow and pypdf signal bad input with many exception types
        raise CannotEmbed(f"the watermarked {fmt.value} does not open: {exc}") from exc
    if found != text or not same_pages:
        raise CannotEmbed(f"the watermarked {fmt.value} does not read back its watermark")
    return out


def read_watermark(data: bytes, content_type: str | None = None, *, keyword: str = DEFAULT_KEYWORD) -> str | None:
    """The watermark embedded in a PNG, JPEG or PDF, as Pillow or pypdf reads it.

    The format is recognised as ``Watermark`` recognises it: by its signature, provided the
    content type is missing, generic or names that format.  ``None`` when there is no watermark
    — including content of another type and files the libraries cannot open.
    """
    fmt = sniff(data[:SNIFF_BYTES])
    if fmt is None or not (is_generic(content_type) or declared_format(content_type) is fmt):
        return None
    try:
        return _READ[fmt](data, keyword)
    except Exception:  # an unreadable file carries no watermark we can report
        logging.getLogger(__name__).debug("cannot read %s for its watermark", fmt.value, exc_info=True)
        return None
