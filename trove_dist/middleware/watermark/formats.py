"""Which formats carry an embedded watermark, and how an object is recognised as one of them.

The content decides, never the key's extension: a format is embedded only when the object's
first bytes carry its signature.  The content type (which ``Trove.put`` may have guessed from the
extension) only gates: a type naming another kind of content (``text/plain``) is left alone
without looking at it, a generic or missing type lets the signature decide, and a type naming a
supported format whose signature is absent is a mismatch the caller's ``malformed`` policy
handles.
"""

from __future__ import annotations

import enum
import re

#: Enough leading bytes to recognise every supported format.
SNIFF_BYTES = 8

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
PDF_SIGNATURE = b"%PDF-"

#: A keyword names the watermark inside the file: a PNG text keyword, a PDF info key, and the
#: prefix of a JPEG comment.  This subset is valid in all three.
_KEYWORD = re.compile(r"[A-Za-z0-9_-]{1,79}")

#: Watermark text longer than this (UTF-8) is refused: a JPEG comment holds at most 64 KiB and
#: metadata far less; a watermark is a line, not a document.
MAX_TEXT_BYTES = 4096


class CannotEmbed(ValueError):
    """The content claims a supported format but cannot carry the watermark: truncated,
    corrupt, or (a PDF) encrypted."""


class Format(enum.Enum):
    PNG = "PNG"
    JPEG = "JPEG"
    PDF = "PDF"


_SIGNATURES = {Format.PNG: PNG_SIGNATURE, Format.JPEG: JPEG_SIGNATURE, Format.PDF: PDF_SIGNATURE}

_DECLARED = {
    "image/png": Format.PNG,
    "image/x-png": Format.PNG,
    "image/apng": Format.PNG,
    "image/jpeg": Format.JPEG,
    "image/jpg": Format.JPEG,
    "image/pjpeg": Format.JPEG,
    "application/pdf": Format.PDF,
    "application/x-pdf": Format.PDF,
}

#: Types that say nothing about the content: the signature decides.
GENERIC_TYPES = frozenset({"application/octet-stream", "binary/octet-stream", "application/unknown"})


def _essence(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def declared_format(content_type: str | None) -> Format | None:
    """The supported format a content type names, if any."""
    return _DECLARED.get(_essence(content_type)) if content_type else None


def is_generic(content_type: str | None) -> bool:
    """Whether the content type leaves the format to the content's signature."""
    return not content_type or _essence(content_type) in GENERIC_TYPES


def sniff(prefix: bytes) -> Format | None:
    """The format whose signature ``prefix`` starts with."""
    for fmt, signature in _SIGNATURES.items():
        if prefix.startswith(signature):
            return fmt
    return None


def describe(prefix: bytes) -> str:
    """How a mismatching object starts, for a log line or an error message."""
    found = sniff(prefix)
    if found is not None:
        return f"it is a {found.value}"
    if not prefix:
        return "it is empty"
    return f"it starts with {prefix[:SNIFF_BYTES]!r}"


def validate_keyword(keyword: str) -> str:
    if not _KEYWORD.fullmatch(keyword):
        raise ValueError(f"watermark keyword {keyword!r} must be 1 to 79 ASCII letters, digits, '_' or '-'")
    return keyword


def validate_text(text: object) -> str:
    """Watermark text is one line: it must fit metadata (no CR, LF) and a PNG text chunk (no NUL)."""
    if not isinstance(text, str):
        raise TypeError(f"a watermark must be a str, not {type(text).__name__}")
    if not text:
        raise ValueError("a watermark must not be empty")
    if any(c in text for c in "\r\n\x00"):
        raise ValueError(f"watermark {text!r} must be one line without NUL")
    if len(text.encode()) > MAX_TEXT_BYTES:
        raise ValueError(f"a watermark is at most {MAX_TEXT_BYTES} bytes of UTF-8")
    return text
