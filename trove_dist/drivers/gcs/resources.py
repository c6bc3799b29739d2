"""GCS object resources as ``ObjectInfo``, and what the driver stores in them.

- **etag = generation.**  GCS's own conditions are on generations (``ifGenerationMatch``), and a
  generation changes exactly when the content is replaced, so the etag *is* the generation, in
  decimal: ``if_match=etag`` becomes ``ifGenerationMatch=etag`` with nothing to look up, and
  ``if_none_match="*"`` becomes ``ifGenerationMatch=0``.  It is also the version id.
- **The trove checksum** is one custom-metadata entry, ``trove-checksum: ALGORITHM:HEX`` (the same
  entry the S3 driver writes, so a migrated object keeps it); the name is reserved and hidden
  from the user's metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from trove_dist.checksum import Checksum
from trove_dist.driver.base import DEFAULT_CONTENT_TYPE
from trove_dist.driver.models import ObjectInfo

CHECKSUM_ENTRY = "trove-checksum"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def check_user_metadata(metadata: Mapping[str, str]) -> None:
    if CHECKSUM_ENTRY in metadata:
        raise ValueError(f"metadata name {CHECKSUM_ENTRY!r} is reserved by the gcs driver for the stored checksum")


def encode_metadata(user: Mapping[str, str], checksum: Checksum | None) -> dict[str, str]:
    """The ``metadata`` field of an object resource: the user's entries plus the checksum."""
    encoded = dict(user)
    if checksum is not None:
        encoded[CHECKSUM_ENTRY] = str(checksum)
    return encoded


def parse_generation(etag: str) -> int | None:
    """The generation an etag (or version id) names; None if it cannot name one."""
    if not isinstance(etag, str) or not etag.isascii() or not etag.isdigit() or len(etag) > 20:
        return None
    generation = int(etag)
    return generation if generation > 0 else None


def info_from_blob(bucket: str, blob: Any, *, is_latest: bool = True) -> ObjectInfo:
    """``ObjectInfo`` from a ``google.cloud.storage.Blob`` whose properties came from GCS."""
    raw_metadata: Mapping[str, str] = blob.metadata or {}
    checksum: Checksum | None = None
    user: dict[str, str] = {}
    for name, value in raw_metadata.items():
        if name == CHECKSUM_ENTRY:
            checksum = _parse_checksum(value)
        elif value is not None:
            user[name.lower()] = value
    updated: datetime | None = blob.updated
    return ObjectInfo(
        bucket=bucket,
        key=blob.name,
        size=int(blob.size or 0),
        etag=str(blob.generation),
        last_modified=updated if updated is not None else _EPOCH,
        content_type=blob.content_type or DEFAULT_CONTENT_TYPE,
        metadata=MappingProxyType(user),
        version_id=str(blob.generation),
        storage_class=blob.storage_class,
        checksum=checksum,
        is_latest=is_latest,
    )


def _parse_checksum(value: str | None) -> Checksum | None:
    """A stored checksum another tool mangled is not trusted, and not fatal either."""
    if not value:
        return None
    try:
        return Checksum.parse(value)
    except ValueError:
        return None
