"""Stores wrapped around a real one, for fault injection and for counting requests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping

from trove_dist.driver.body import PutBody
from trove_dist.driver.models import CommonPrefix, ListPage, ObjectInfo
from trove_dist.driver.reader import ObjectReader
from trove_dist.errors import BackendUnavailable
from trove_dist.vfs import Reader, Storage


class Passthrough:
    """A ``Storage`` that hands every call to a real store; the fault injections below
    override one operation each."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner

    def copy(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> ObjectInfo:
        return self.inner.copy(src_bucket, src_key, dst_bucket, dst_key, metadata=metadata, content_type=content_type)

    def put(
        self,
        bucket: str,
        key: str,
        data: PutBody,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        if_none_match: str | None = None,
    ) -> ObjectInfo:
        return self.inner.put(
            bucket, key, data, content_type=content_type, metadata=metadata, if_none_match=if_none_match
        )

    def get(self, bucket: str, key: str, *, offset: int = 0, length: int | None = None) -> Reader:
        return self.inner.get(bucket, key, offset=offset, length=length)

    def head(self, bucket: str, key: str) -> ObjectInfo:
        return self.inner.head(bucket, key)

    def delete(self, bucket: str, key: str) -> None:
        self.inner.delete(bucket, key)

    def list(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        start_after: str | None = None,
        max_keys: int = 1000,
        cursor: str | None = None,
    ) -> ListPage:
        return self.inner.list(
            bucket, prefix=prefix, delimiter=delimiter, start_after=start_after, max_keys=max_keys, cursor=cursor
        )

    def iter_list(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        start_after: str | None = None,
        page_size: int = 1000,
    ) -> Iterator[ObjectInfo | CommonPrefix]:
        return self.inner.iter_list(
            bucket, prefix=prefix, delimiter=delimiter, start_after=start_after, page_size=page_size
        )


class FailingCopies(Passthrough):
    """Fault injection: ``copy`` raises on its ``fail_on``-th call (and only that one)."""

    def __init__(self, inner: Storage, fail_on: int) -> None:
        super().__init__(inner)
        self.fail_on = fail_on
        self.copies = 0
        self._lock = threading.Lock()

    def copy(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> ObjectInfo:
        with self._lock:
            self.copies += 1
            failing = self.copies == self.fail_on
        if failing:
            raise BackendUnavailable(f"injected failure of copy #{self.fail_on} ({src_key} -> {dst_key})")
        return super().copy(src_bucket, src_key, dst_bucket, dst_key, metadata=metadata, content_type=content_type)


class SlowListings(Passthrough):
    """Listings that wait, as a remote store's do: a walk then lists directories ahead."""

    def __init__(self, inner: Storage) -> None:
        super().__init__(inner)
        self.listed: list[str] = []
        self._lock = threading.Lock()

    def iter_list(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        start_after: str | None = None,
        page_size: int = 1000,
    ) -> Iterator[ObjectInfo | CommonPrefix]:
        time.sleep(0.02)
        with self._lock:
            self.listed.append(prefix)
        return super().iter_list(
            bucket, prefix=prefix, delimiter=delimiter, start_after=start_after, page_size=page_size
        )


class CountingGets(Passthrough):
    """Counts ``get`` requests and the bytes they asked for (None: to the end).  Its readers
    cannot seek — like a network stream — so every repositioning the VFS needs shows as a
    request (the memory driver's own readers can seek within their snapshot)."""

    def __init__(self, inner: Storage) -> None:
        super().__init__(inner)
        self.gets: list[tuple[int, int | None]] = []

    def get(self, bucket: str, key: str, *, offset: int = 0, length: int | None = None) -> Reader:
        self.gets.append((offset, length))
        reader = super().get(bucket, key, offset=offset, length=length)
        return ObjectReader(reader.info, _Unseekable(reader), offset=offset, length=reader.length)  # type: ignore[attr-defined]


class _Unseekable:
    """Only ``read`` and ``close`` of a reader: a stream with no way back."""

    def __init__(self, inner: Reader) -> None:
        self._inner = inner

    def read(self, size: int = -1, /) -> bytes:
        return self._inner.read(size)

    def close(self) -> None:
        self._inner.close()
