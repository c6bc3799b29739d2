"""Optional capabilities, discovered with ``isinstance``.

The base ``Driver`` is deliberately small.  A driver that can do more implements one of these
protocols; callers test for it (``if isinstance(drv, PresignDriver): ...``) and degrade when it is
absent.  A driver never implements a protocol it cannot honour: absent means absent.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol, runtime_checkable

from trove_dist.driver.body import PutBody
from trove_dist.driver.models import ObjectInfo
from trove_dist.driver.reader import ObjectReader

#: The most parts one multipart upload may have (S3's limit; the common denominator).
MAX_PARTS = 10_000


@dataclass(frozen=True, slots=True)
class PartInfo:
    part_number: int
    etag: str
    size: int


@dataclass(frozen=True, slots=True)
class MultipartUpload:
    bucket: str
    key: str
    upload_id: str
    initiated: datetime | None = None


@dataclass(frozen=True, slots=True)
class LifecycleRule:
    """A subset of lifecycle every object store can express."""

    id: str
    prefix: str = ""
    expire_after_days: int | None = None
    expire_noncurrent_after_days: int | None = None
    abort_incomplete_multipart_after_days: int | None = None
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class ObjectEvent:
    kind: Literal["created", "deleted"]
    bucket: str
    key: str
    info: ObjectInfo | None = None
    at: datetime | None = field(default=None)


@runtime_checkable
class MultipartDriver(Protocol):
    """Upload an object in independently sent parts; the upload id survives the process."""

    def initiate_multipart(
        self, bucket: str, key: str, *, content_type: str | None = None, metadata: dict[str, str] | None = None
    ) -> str: ...
    def upload_part(self, bucket: str, key: str, upload_id: str, part_number: int, data: PutBody) -> PartInfo: ...
    def complete_multipart(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[PartInfo],
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> ObjectInfo: ...
    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None: ...
    def list_multipart_uploads(self, bucket: str, prefix: str = "") -> list[MultipartUpload]: ...
    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo]: ...


@runtime_checkable
class PresignDriver(Protocol):
    def presign_get(self, bucket: str, key: str, expires: timedelta) -> str: ...
    def presign_put(self, bucket: str, key: str, expires: timedelta, content_type: str | None = None) -> str: ...


@runtime_checkable
class VersioningDriver(Protocol):
    def set_versioning(self, bucket: str, enabled: bool) -> None: ...
    def get_versioning(self, bucket: str) -> bool: ...
    def list_versions(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]: ...
    def get_version(self, bucket: str, key: str, version_id: str) -> ObjectReader: ...
    def delete_version(self, bucket: str, key: str, version_id: str) -> None: ...
    def restore_version(self, bucket: str, key: str, version_id: str) -> ObjectInfo: ...


@runtime_checkable
class NotificationDriver(Protocol):
    def watch(self, bucket: str, prefix: str = "") -> Iterator[ObjectEvent]: ...


@runtime_checkable
class LifecycleDriver(Protocol):
    def get_lifecycle(self, bucket: str) -> list[LifecycleRule]: ...
    def set_lifecycle(self, bucket: str, rules: Sequence[LifecycleRule]) -> None: ...


@runtime_checkable
class RangeDriver(Protocol):
    """Reads a byte range by fetching only that range from the backend (not by skipping)."""

    def get_range(self, bucket: str, key: str, offset: int, length: int | None) -> ObjectReader: ...


@runtime_checkable
class ServerCopyDriver(Protocol):
    """Copies inside the backend, without the bytes passing through this process."""

    def server_copy(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        metadata: dict[str, str] | None = None,
        content_type: str | None = None,
    ) -> ObjectInfo: ...


@runtime_checkable
class ConditionalDriver(Protocol):
    """Honours ``if_match`` / ``if_none_match="*"`` on ``put`` atomically (compare-and-swap),
    and offers the matching conditional delete."""

    def delete_if_match(self, bucket: str, key: str, etag: str) -> None: ...


CAPABILITIES: dict[str, type] = {
    "multipart": MultipartDriver,
    "presign": PresignDriver,
    "versioning": VersioningDriver,
    "notification": NotificationDriver,
    "lifecycle": LifecycleDriver,
    "range": RangeDriver,
    "server_copy": ServerCopyDriver,
    "conditional": ConditionalDriver,
}


def capabilities_of(driver: object) -> list[str]:
    """The names of the capabilities ``driver`` implements, for display and conformance."""
    return [name for name, proto in CAPABILITIES.items() if isinstance(driver, proto)]
