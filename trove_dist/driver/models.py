"""Plain data about buckets, objects and listings — no I/O here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from trove_dist.checksum import Checksum

_EMPTY: Mapping[str, str] = MappingProxyType({})

#: S3's limit on user metadata (names plus values, in UTF-8); every backend enforces the same.
MAX_METADATA_BYTES = 2048


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What a backend knows about one stored object (or one version of it).

    ``size`` is the stored size; a layer that transforms content (the framed format) reports
    the logical size in its own ``ObjectInfo``.  ``etag`` is opaque: compare it, never parse it.
    """

    bucket: str
    key: str
    size: int
    etag: str
    last_modified: datetime
    content_type: str = "application/octet-stream"
    metadata: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    version_id: str | None = None
    storage_class: str | None = None
    checksum: Checksum | None = None
    is_latest: bool = True
    is_delete_marker: bool = False

    def __post_init__(self) -> None:
        # A read-only copy: an ObjectInfo handed to a caller can never alter what a driver stores.
        if not isinstance(self.metadata, MappingProxyType):
            object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))


@dataclass(frozen=True, slots=True)
class BucketInfo:
    name: str
    created: datetime | None = None


@dataclass(frozen=True, slots=True)
class ListPage:
    """One page of a listing.

    ``next_cursor`` is opaque; pass it back unchanged to get the next page.  It is ``None`` on
    the last page.  ``common_prefixes`` holds the "directories" a delimiter rolled up.
    """

    objects: list[ObjectInfo]
    common_prefixes: list[str]
    next_cursor: str | None

    @property
    def is_last(self) -> bool:
        return self.next_cursor is None


@dataclass(frozen=True, slots=True)
class CommonPrefix:
    """A rolled-up prefix yielded by ``Driver.iter_list`` when a delimiter is given."""

    prefix: str


def normalize_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """Metadata keys are case-insensitive on HTTP backends; store them lowercased everywhere."""
    if not metadata:
        return {}
    out: dict[str, str] = {}
    for name, value in metadata.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError("metadata names and values must be strings")
        lowered = name.strip().lower()
        if not lowered or any(c in lowered for c in " :\r\n\t\x00") or not lowered.isascii():
            raise ValueError(f"invalid metadata name {name!r}: use ASCII without spaces or ':'")
        if any(c in value for c in "\r\n\x00"):
            raise ValueError(f"metadata value for {name!r} must not contain CR, LF or NUL")
        out[lowered] = value
    total = sum(len(k.encode()) + len(v.encode()) for k, v in out.items())
    if total > MAX_METADATA_BYTES:
        raise ValueError(f"metadata is {total} bytes; the limit is {MAX_METADATA_BYTES} (names plus values)")
    return out
