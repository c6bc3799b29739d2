"""Object metadata in Azure's terms, and ``ObjectInfo`` from Azure's blob properties.

Azure metadata names must be C# identifiers (letters, digits, ``_``) and values travel as HTTP
header values (ASCII; surrounding spaces are trimmed), while trove metadata names may contain
``-`` or ``.`` and values may be any text.  So a pair is stored as it is when Azure can hold it
unchanged — other Azure tools then see ``owner: ada`` as ``owner: ada`` — and otherwise under
an escaped name in the reserved ``trove_m_`` namespace with a percent-encoded value.  The
checksum computed on put lives in ``trove_checksum``.  Names starting with ``trove_`` are
always escaped, so a user's own pair can never be mistaken for one of these.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from urllib.parse import quote, unquote

from azure.storage.blob import BlobProperties

from trove_dist.checksum import Checksum
from trove_dist.driver.models import ObjectInfo

RESERVED_PREFIX = "trove_"
ESCAPED_PREFIX = "trove_m_"
CHECKSUM_NAME = "trove_checksum"
DEFAULT_CONTENT_TYPE = "application/octet-stream"

_PLAIN_NAME_RE = re.compile(r"\A[a-z_][a-z0-9_]*\Z")
_PLAIN_VALUE_CHARS = frozenset(string.ascii_letters + string.digits + string.punctuation + " ")
_NAME_SAFE = frozenset(string.ascii_lowercase + string.digits)


def _is_plain(name: str, value: str) -> bool:
    return (
        bool(_PLAIN_NAME_RE.match(name))
        and not name.startswith(RESERVED_PREFIX)
        and value != ""
        and value == value.strip()
        and all(c in _PLAIN_VALUE_CHARS for c in value)
    )


def escape_name(name: str) -> str:
    """``x-color`` -> ``x_2dcolor``: ``_`` doubles, anything else outside ``a-z0-9`` becomes
    ``_`` and two hex digits (metadata names are ASCII, so one byte each)."""
    out: list[str] = []
    for c in name:
        if c in _NAME_SAFE:
            out.append(c)
        elif c == "_":
            out.append("__")
        else:
            out.append(f"_{ord(c):02x}")
    return "".join(out)


def unescape_name(escaped: str) -> str | None:
    """The inverse of ``escape_name``; None for text it did not produce."""
    out: list[str] = []
    i = 0
    while i < len(escaped):
        c = escaped[i]
        if c != "_":
            out.append(c)
            i += 1
        elif escaped[i + 1 : i + 2] == "_":
            out.append("_")
            i += 2
        else:
            digits = escaped[i + 1 : i + 3]
            if len(digits) != 2 or not all(d in string.hexdigits for d in digits):
                return None
            out.append(chr(int(digits, 16)))
            i += 3
    return "".join(out)


def to_azure(metadata: Mapping[str, str], checksum: Checksum | None = None) -> dict[str, str]:
    """Azure metadata for trove metadata (already normalised: lowercase ASCII names)."""
    out: dict[str, str] = {}
    for name, value in metadata.items():
        if _is_plain(name, value):
            out[name] = value
        else:
            # "=" first: an empty value stays non-empty, which every Azure endpoint accepts.
            out[ESCAPED_PREFIX + escape_name(name)] = "=" + quote(value, safe="")
    if checksum is not None:
        out[CHECKSUM_NAME] = str(checksum)
    return out


def from_azure(azure: Mapping[str, str] | None) -> tuple[dict[str, str], Checksum | None]:
    """Trove metadata and the stored checksum from Azure metadata (names are case-insensitive
    on Azure; foreign names come back lowercased, as trove metadata names always are)."""
    metadata: dict[str, str] = {}
    checksum: Checksum | None = None
    for raw_name, value in (azure or {}).items():
        name = raw_name.lower()
        if name == CHECKSUM_NAME:
            try:
                checksum = Checksum.parse(value)
            except ValueError:
                checksum = None  # written by something else: report none rather than a wrong one
        elif name.startswith(ESCAPED_PREFIX) and value.startswith("="):
            original = unescape_name(name[len(ESCAPED_PREFIX) :])
            if original is not None:
                metadata[original] = unquote(value[1:])
            else:
                metadata[name] = value
        else:
            metadata[name] = value
    return metadata, checksum


def unquote_etag(etag: str | None) -> str:
    return (etag or "").strip('"')


def quote_etag(etag: str) -> str:
    return etag if etag.startswith('"') or etag == "*" else f'"{etag}"'


def info_from_properties(bucket: str, key: str, props: BlobProperties) -> ObjectInfo:
    metadata, checksum = from_azure(props.metadata)
    settings = props.content_settings
    return ObjectInfo(
        bucket=bucket,
        key=key,
        size=int(props.size or 0),
        etag=unquote_etag(props.etag),
        last_modified=aware(props.last_modified),
        content_type=(settings.content_type if settings is not None else None) or DEFAULT_CONTENT_TYPE,
        metadata=MappingProxyType(metadata),
        checksum=checksum,
    )


def aware(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
