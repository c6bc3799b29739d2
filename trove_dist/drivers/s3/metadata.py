"""User metadata and the stored checksum, as S3 headers; and ``ObjectInfo`` from S3's answers.

S3 carries user metadata in ``x-amz-meta-*`` HTTP headers, which hold printable ASCII only and lose
leading and trailing blanks.  Values that would not survive are written as RFC 2047 encoded
words (``=?UTF-8?B?…?=``) — the convention AWS itself uses when it has to return non-ASCII
metadata — and decoded on the way back, so every value trove accepts round-trips exactly.

The checksum trove computed while streaming is stored as one more metadata entry,
``trove-checksum: ALGORITHM:HEX``; the name is reserved, and hidden from the user's metadata.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import MappingProxyType
from typing import Any

from trove_dist.checksum import Checksum
from trove_dist.driver.models import ObjectInfo

CHECKSUM_ENTRY = "trove-checksum"
DEFAULT_CONTENT_TYPE = "application/octet-stream"

_ENCODED_WORD_RE = re.compile(r"\A=\?utf-8\?([bq])\?([^?]*)\?=\Z", re.IGNORECASE)
_PLAIN_VALUE_RE = re.compile(r"\A(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?\Z")


def check_user_metadata(metadata: Mapping[str, str]) -> None:
    """Refuse the one name the driver keeps for itself."""
    if CHECKSUM_ENTRY in metadata:
        raise ValueError(f"metadata name {CHECKSUM_ENTRY!r} is reserved by the s3 driver for the stored checksum")


def encode_metadata(user: Mapping[str, str], checksum: Checksum | None) -> dict[str, str]:
    """The ``Metadata`` parameter for a write: user entries (header-safe) plus the checksum."""
    check_user_metadata(user)
    encoded = {name: _encode_value(value) for name, value in user.items()}
    if checksum is not None:
        encoded[CHECKSUM_ENTRY] = str(checksum)
    return encoded


def decode_metadata(raw: Mapping[str, str] | None) -> tuple[dict[str, str], Checksum | None]:
    """User metadata and the stored checksum from S3's ``Metadata`` answer.

    A checksum entry that does not parse (written by something else) is reported as no checksum
    rather than failing the read: it is a hint for verification, not part of the content.
    """
    user: dict[str, str] = {}
    checksum: Checksum | None = None
    for name, value in (raw or {}).items():
        lowered = name.lower()
        if lowered == CHECKSUM_ENTRY:
            try:
                checksum = Checksum.parse(value)
            except ValueError:
                checksum = None
            continue
        user[lowered] = _decode_value(value)
    return user, checksum


def _encode_value(value: str) -> str:
    if _PLAIN_VALUE_RE.match(value) and not value.startswith("=?"):
        return value
    return "=?UTF-8?B?" + base64.b64encode(value.encode("utf-8")).decode("ascii") + "?="


def _decode_value(value: str) -> str:
    match = _ENCODED_WORD_RE.match(value)
    if match is None:
        return value
    kind, text = match.groups()
    try:
        if kind.lower() == "b":
            return base64.b64decode(text, validate=True).decode("utf-8")
        return quopri.decodestring(text.replace("_", " ").encode("ascii"), header=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return value  # not ours after all: hand it back as S3 stored it


def unquote_etag(etag: str | None) -> str:
    return (etag or "").strip('"')


def quote_etag(etag: str) -> str:
    return etag if etag.startswith('"') else f'"{etag}"'


def info_from_response(bucket: str, key: str, response: Mapping[str, Any], size: int) -> ObjectInfo:
    """``ObjectInfo`` from a HeadObject / GetObject answer (``size`` is the whole object's)."""
    metadata, checksum = decode_metadata(response.get("Metadata"))
    return ObjectInfo(
        bucket=bucket,
        key=key,
        size=size,
        etag=unquote_etag(response.get("ETag")),
        last_modified=_aware(response.get("LastModified")) or response_date(response),
        content_type=response.get("ContentType") or DEFAULT_CONTENT_TYPE,
        metadata=MappingProxyType(metadata),
        version_id=_version(response.get("VersionId")),
        storage_class=response.get("StorageClass") or "STANDARD",
        checksum=checksum,
    )


def info_from_listing(bucket: str, item: Mapping[str, Any]) -> ObjectInfo:
    """``ObjectInfo`` from one ListObjectsV2 / ListObjectVersions entry.

    S3 listings carry neither content type, user metadata nor the stored checksum (they would
    cost a HEAD per key); those fields keep their defaults: ``checksum=None`` means unknown.
    """
    return ObjectInfo(
        bucket=bucket,
        key=str(item["Key"]),
        size=int(item.get("Size", 0)),
        etag=unquote_etag(item.get("ETag")),
        last_modified=_aware(item.get("LastModified")) or datetime.now(UTC),
        version_id=_version(item.get("VersionId")),
        storage_class=item.get("StorageClass"),
        is_latest=bool(item.get("IsLatest", True)),
    )


def response_date(response: Mapping[str, Any]) -> datetime:
    """The server's clock from the ``Date`` header (for answers without ``LastModified``)."""
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    try:
        served = parsedate_to_datetime(headers["date"])
    except (KeyError, TypeError, ValueError):  # no Date header, or one that does not parse
        served = None
    return _aware(served) or datetime.now(UTC)


def _version(version_id: object) -> str | None:
    """S3's version id as given; ``null`` (an object written while versioning was off or
    suspended) is kept, since it is how S3 addresses that version."""
    return str(version_id) if version_id else None


def _aware(moment: object) -> datetime | None:
    if not isinstance(moment, datetime):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
