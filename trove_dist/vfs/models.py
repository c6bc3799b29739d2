"""``FileInfo``: what ``stat`` and ``read_dir`` say about a path — no I/O here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from trove_dist.driver.models import ObjectInfo
from trove_dist.vfs.paths import name_of

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class FileInfo:
    """A file (an object) or a directory (a key prefix, with or without a marker object).

    A directory seen only as a listing's common prefix has no ``modified`` time: object stores
    keep none for prefixes, and finding one would cost a request per directory.
    """

    path: str
    is_dir: bool
    size: int = 0
    modified: datetime | None = None
    etag: str | None = None
    content_type: str | None = None
    metadata: Mapping[str, str] = field(default_factory=lambda: _EMPTY)

    @property
    def name(self) -> str:
        return name_of(self.path)

    @property
    def is_file(self) -> bool:
        return not self.is_dir

    @classmethod
    def file(cls, path: str, info: ObjectInfo) -> FileInfo:
        return cls(
            path=path,
            is_dir=False,
            size=info.size,
            modified=info.last_modified,
            etag=info.etag,
            content_type=info.content_type,
            metadata=info.metadata,
        )

    @classmethod
    def directory(cls, path: str, marker: ObjectInfo | None = None) -> FileInfo:
        if marker is None:
            return cls(path=path, is_dir=True)
        return cls(path=path, is_dir=True, modified=marker.last_modified, metadata=marker.metadata)
