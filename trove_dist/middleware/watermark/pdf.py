"""A PDF watermark: an entry in the document information dictionary (``/Watermark`` by default).

pypdf writes it as an incremental update — the original file followed by a new info object and
cross-reference section — so every byte of the original, signatures and page content included,
is kept.  Encrypted documents are refused (``CannotEmbed``): their info strings are encrypted
too, and changing them needs the password.
"""

from __future__ import annotations

import io

from pypdf import PdfReader, PdfWriter

from trove_dist.middleware.watermark.formats import CannotEmbed


def embed(data: bytes, keyword: str, text: str) -> bytes:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise CannotEmbed("the PDF is encrypted: its document info cannot be changed without the password")
        writer = PdfWriter(reader, incremental=True)
        writer.add_metadata({f"/{keyword}": text})
        out = io.BytesIO()
        writer.write(out)
    except CannotEmbed:
        raise
    except Exception as exc:  # pypdf reports malformed input with many exception types
        raise CannotEmbed(f"the PDF cannot be parsed: {exc}") from exc
    return out.getvalue()


def page_count(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def read(data: bytes, keyword: str) -> str | None:
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        return None
    info = reader.metadata
    value = info.get(f"/{keyword}") if info is not None else None
    return str(value) if value is not None else None
