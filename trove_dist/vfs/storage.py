"""What the VFS needs from below: a ``Storage`` — which a ``Driver`` and a ``Trove`` both are.

The VFS sits on the driver layer and must not import the ``Trove`` facade (which will import
the VFS), yet it should run on a ``Trove`` — routing, middleware, checksums and all — as well
as on a bare driver.  A structural ``Protocol`` states the handful of operations it uses, with
the bucket as first argument, and both classes satisfy it without naming it.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping
from typing import Protocol

from trove_dist.driver.body import PutBody
from trove_dist.driver.models import BucketInfo, CommonPrefix, ListPage, ObjectInfo


class Reader(Protocol):
    """An open object: ``ObjectReader`` from a driver, ``VerifyingReader`` from a ``Trove``."""

    @property
    def info(self) -> ObjectInfo: ...
    def read(self, size: int = -1, /) -> bytes: ...
    def readinto(self, buffer: bytearray | memoryview, /) -> int: ...
    def seekable(self) -> bool: ...
    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def close(self) -> None: ...


class Storage(Protocol):
    def put(
        self,
        bucket: str,
        key: str,
        data: PutBody,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        if_none_match: str | None = None,
    ) -> ObjectInfo: ...

    def get(self, bucket: str, key: str, *, offset: int = 0, length: int | None = None) -> Reader: ...

    def head(self, bucket: str, key: str) -> ObjectInfo: ...

    def delete(self, bucket: str, key: str) -> None: ...

    def list(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        start_after: str | None = None,
        max_keys: int = 1000,
        cursor: str | None = None,
    ) -> ListPage: ...

    def iter_list(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        start_after: str | None = None,
        page_size: int = 1000,
    ) -> Iterator[ObjectInfo | CommonPrefix]: ...

    def copy(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> ObjectInfo: ...


class BucketStorage(Storage, Protocol):
    """A ``Storage`` that also manages buckets: what the fsspec filesystem needs, whose paths
    start with the bucket (``trove://bucket/key``) and whose root lists buckets."""

    def create_bucket(self, bucket: str, *, exist_ok: bool = False) -> None: ...
    def delete_bucket(self, bucket: str, *, force: bool = False) -> None: ...
    def list_buckets(self) -> builtins.list[BucketInfo]: ...
    def bucket_exists(self, bucket: str) -> bool: ...
