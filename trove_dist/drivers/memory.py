"""An in-process object store: fast, thread-safe, gone when the process exits.

``mem://NAME`` opens a store shared by every driver opened with the same name in this process
(handy for wiring tests together); ``mem://`` opens a private one.  Objects are immutable
``bytes`` snapshots, so nothing a caller does to its buffers after ``put`` — or to what ``get``
returned — can change what is stored.
"""

from __future__ import annotations

import bisect
import functools
import io
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Self

from trove_dist.checksum import new_hasher
from trove_dist.driver.base import Driver, PutOptions, check_range, guess_content_type
from trove_dist.driver.body import MeteredChunks, PutBody, iter_chunks
from trove_dist.driver.capabilities import MAX_PARTS, MultipartUpload, PartInfo
from trove_dist.driver.dsn import DSN
from trove_dist.driver.listing import Entry, Position, listing_scope, paginate, start_position
from trove_dist.driver.models import BucketInfo, ListPage, ObjectInfo, normalize_metadata
from trove_dist.driver.names import validate_bucket, validate_key
from trove_dist.driver.reader import ObjectReader
from trove_dist.errors import (
    BucketAlreadyExists,
    BucketNotEmpty,
    BucketNotFound,
    InvalidPart,
    ObjectNotFound,
    PreconditionFailed,
    UploadNotFound,
)
from trove_dist.ids import new_upload_id


@dataclass
class _Bucket:
    created: datetime
    objects: dict[str, tuple[bytes, ObjectInfo]] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)  # sorted, for listing


@dataclass
class _Upload:
    bucket: str
    key: str
    content_type: str
    metadata: dict[str, str]
    initiated: datetime
    parts: dict[int, tuple[bytes, PartInfo]] = field(default_factory=dict)


class _Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.buckets: dict[str, _Bucket] = {}
        self.uploads: dict[str, _Upload] = {}


_named_stores: dict[str, _Store] = {}
_named_lock = threading.Lock()


class MemoryDriver(Driver):
    schemes = ("mem", "memory")

    def __init__(self, name: str | None = None) -> None:
        if name:
            with _named_lock:
                self._store = _named_stores.setdefault(name, _Store())
        else:
            self._store = _Store()
        self._store_name = name

    @classmethod
    def from_dsn(cls, dsn: DSN) -> Self:
        return cls(dsn.host or None)

    def __repr__(self) -> str:
        return f"<MemoryDriver {self._store_name or 'private'}>"

    # ---- buckets ------------------------------------------------------------------------

    def _bucket(self, bucket: str) -> _Bucket:
        try:
            return self._store.buckets[bucket]
        except KeyError:
            raise BucketNotFound(bucket) from None

    def _create_bucket(self, bucket: str, *, exist_ok: bool) -> None:
        with self._store.lock:
            if bucket in self._store.buckets:
                if exist_ok:
                    return
                raise BucketAlreadyExists(bucket)
            self._store.buckets[bucket] = _Bucket(created=datetime.now(UTC))

    def _delete_bucket(self, bucket: str) -> None:
        with self._store.lock:
            if self._bucket(bucket).objects:
                raise BucketNotEmpty(bucket)
            del self._store.buckets[bucket]

    def _list_buckets(self) -> list[BucketInfo]:
        with self._store.lock:
            return [BucketInfo(name, b.created) for name, b in self._store.buckets.items()]

    def _bucket_exists(self, bucket: str) -> bool:
        with self._store.lock:
            return bucket in self._store.buckets

    # ---- objects ------------------------------------------------------------------------

    def _put(self, bucket: str, key: str, body: MeteredChunks, options: PutOptions) -> ObjectInfo:
        with self._store.lock:
            self._bucket(bucket)  # fail before reading a body we cannot store
        buffer = io.BytesIO()  # a snapshot: the caller may reuse its buffers after put returns
        etag = new_hasher("xxh3")
        for chunk in body:
            buffer.write(chunk)
            etag.update(chunk)
        data = buffer.getvalue()
        del buffer
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=len(data),
            etag=etag.hexdigest(),
            last_modified=datetime.now(UTC),
            content_type=options.content_type,
            metadata=dict(options.metadata),
            checksum=body.checksum,
        )
        with self._store.lock:
            b = self._bucket(bucket)
            current = b.objects.get(key)
            _check_preconditions(bucket, key, current[1] if current else None, options)
            if current is None:
                bisect.insort(b.keys, key)
            b.objects[key] = (data, info)
        return info

    def _lookup(self, bucket: str, key: str) -> tuple[bytes, ObjectInfo]:
        with self._store.lock:
            found = self._bucket(bucket).objects.get(key)
        if found is None:
            raise ObjectNotFound(bucket, key)
        return found

    def _get(self, bucket: str, key: str, offset: int, length: int | None) -> ObjectReader:
        data, info = self._lookup(bucket, key)
        count = check_range(info.size, offset, length, f"{bucket}/{key}")
        source = io.BytesIO(data)  # shares the immutable bytes until written to: no copy
        source.seek(offset)
        return ObjectReader(info, source, offset=offset, length=count)

    def get_range(self, bucket: str, key: str, offset: int, length: int | None) -> ObjectReader:
        return self.get(bucket, key, offset=offset, length=length)

    def _head(self, bucket: str, key: str) -> ObjectInfo:
        return self._lookup(bucket, key)[1]

    def _delete(self, bucket: str, key: str) -> None:
        with self._store.lock:
            b = self._bucket(bucket)
            if b.objects.pop(key, None) is not None:
                b.keys.pop(bisect.bisect_left(b.keys, key))

    # ---- multipart ----------------------------------------------------------------------

    def initiate_multipart(
        self, bucket: str, key: str, *, content_type: str | None = None, metadata: dict[str, str] | None = None
    ) -> str:
        self._guard(bucket, key)
        upload = _Upload(
            bucket, key, content_type or guess_content_type(key), normalize_metadata(metadata), datetime.now(UTC)
        )
        upload_id = new_upload_id()
        with self._store.lock:
            self._bucket(bucket)
            self._store.uploads[upload_id] = upload
        return upload_id

    def _upload(self, bucket: str, key: str, upload_id: str) -> _Upload:
        with self._store.lock:
            self._bucket(bucket)
            upload = self._store.uploads.get(upload_id)
        if upload is None or (upload.bucket, upload.key) != (bucket, key):
            raise UploadNotFound(bucket, key, upload_id)
        return upload

    def upload_part(self, bucket: str, key: str, upload_id: str, part_number: int, data: PutBody) -> PartInfo:
        self._guard(bucket, key)
        _check_part_number(part_number)
        upload = self._upload(bucket, key, upload_id)
        content = b"".join(bytes(c) for c in iter_chunks(data))
        part = PartInfo(part_number, _etag(content), len(content))
        with self._store.lock:
            self._upload(bucket, key, upload_id)  # still there: not aborted or completed meanwhile
            upload.parts[part_number] = (content, part)
        return part

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo]:
        self._guard(bucket, key)
        upload = self._upload(bucket, key, upload_id)
        with self._store.lock:
            return [part for _, part in sorted(upload.parts.values(), key=lambda item: item[1].part_number)]

    def complete_multipart(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[PartInfo],
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> ObjectInfo:
        self._guard(bucket, key)
        with self._store.lock:
            upload = self._upload(bucket, key, upload_id)
            data = b"".join(_chosen_parts(upload.parts, parts, bucket, key, upload_id))
            info = ObjectInfo(
                bucket=bucket,
                key=key,
                size=len(data),
                etag=f"{_etag(''.join(p.etag for p in parts).encode())}-{len(parts)}",
                last_modified=datetime.now(UTC),
                content_type=upload.content_type,
                metadata=upload.metadata,
            )
            b = self._bucket(bucket)
            current = b.objects.get(key)
            options = PutOptions(upload.content_type, upload.metadata, if_match, if_none_match, None)
            _check_preconditions(bucket, key, current[1] if current else None, options)
            if current is None:
                bisect.insort(b.keys, key)
            b.objects[key] = (data, info)
            del self._store.uploads[upload_id]
        return info

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        self._guard(bucket, key)
        with self._store.lock:
            self._upload(bucket, key, upload_id)
            del self._store.uploads[upload_id]

    def list_multipart_uploads(self, bucket: str, prefix: str = "") -> list[MultipartUpload]:
        self._guard(bucket)
        with self._store.lock:
            self._bucket(bucket)
            return sorted(
                (
                    MultipartUpload(u.bucket, u.key, upload_id, u.initiated)
                    for upload_id, u in self._store.uploads.items()
                    if u.bucket == bucket and u.key.startswith(prefix)
                ),
                key=lambda u: (u.key, u.upload_id),
            )

    def delete_if_match(self, bucket: str, key: str, etag: str) -> None:
        self._check_open()
        validate_bucket(bucket)
        validate_key(key)
        with self._store.lock:
            b = self._bucket(bucket)
            current = b.objects.get(key)
            if current is None or current[1].etag != etag:
                raise PreconditionFailed(f"{bucket}/{key} does not have etag {etag}")
            self._delete(bucket, key)

    def server_copy(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        metadata: dict[str, str] | None = None,
        content_type: str | None = None,
    ) -> ObjectInfo:
        self._check_open()
        for name in (src_bucket, dst_bucket):
            validate_bucket(name)
        for name in (src_key, dst_key):
            validate_key(name)
        with self._store.lock:
            data, info = self._lookup(src_bucket, src_key)
            dst = self._bucket(dst_bucket)
            new_info = replace(
                info,
                bucket=dst_bucket,
                key=dst_key,
                last_modified=datetime.now(UTC),
                metadata=info.metadata if metadata is None else normalize_metadata(metadata),
                content_type=content_type or info.content_type,
            )
            if dst_key not in dst.objects:
                bisect.insort(dst.keys, dst_key)
            dst.objects[dst_key] = (data, new_info)
            return new_info

    def _list(
        self,
        bucket: str,
        prefix: str,
        delimiter: str | None,
        start_after: str | None,
        max_keys: int,
        cursor: str | None,
    ) -> ListPage:
        scope = listing_scope(bucket, prefix, delimiter)
        position = start_position(start_after, cursor, scope)
        with self._store.lock:
            self._bucket(bucket)
        return paginate(
            self._entries(bucket, prefix, position),
            prefix=prefix,
            delimiter=delimiter,
            position=position,
            max_keys=max_keys,
            scope=scope,
        )

    def _entries(self, bucket: str, prefix: str, position: Position) -> Iterator[Entry]:
        """Walk the sorted key list lazily, re-finding the place under the lock at each step so
        that writers are never blocked for a whole page and never see a torn listing."""
        last: str | None = None
        while True:
            with self._store.lock:
                keys = self._bucket(bucket).keys
                if last is not None:
                    i = bisect.bisect_right(keys, last)
                elif position.after is not None and position.after >= prefix:
                    i = bisect.bisect_right(keys, position.after)
                else:
                    i = bisect.bisect_left(keys, prefix)
                if i >= len(keys):
                    return
                key = keys[i]
            if not key.startswith(prefix):
                return
            last = key
            if position.admits(key):
                yield Entry(key, functools.partial(self._info_or_none, bucket, key))

    def _info_or_none(self, bucket: str, key: str) -> ObjectInfo | None:
        with self._store.lock:
            found = self._bucket(bucket).objects.get(key)
        return found[1] if found else None


def _etag(data: bytes) -> str:
    hasher = new_hasher("xxh3")
    hasher.update(data)
    return hasher.hexdigest()


def _check_part_number(part_number: int) -> None:
    if not isinstance(part_number, int) or not 1 <= part_number <= MAX_PARTS:
        raise ValueError(f"part numbers run from 1 to {MAX_PARTS}")


def _chosen_parts(
    uploaded: dict[int, tuple[bytes, PartInfo]], chosen: Sequence[PartInfo], bucket: str, key: str, upload_id: str
) -> list[bytes]:
    """The parts named for completion, which must have been uploaded with those etags, in order."""
    if not chosen:
        raise ValueError("a multipart upload needs at least one part")
    numbers = [p.part_number for p in chosen]
    if numbers != sorted(set(numbers)):
        raise ValueError("parts must be listed in increasing part-number order, each once")
    out = []
    for part in chosen:
        stored = uploaded.get(part.part_number)
        if stored is None or stored[1].etag != part.etag:
            raise InvalidPart(f"part {part.part_number} of upload {upload_id} for {bucket}/{key} was not uploaded")
        out.append(stored[0])
    return out


def _check_preconditions(bucket: str, key: str, current: ObjectInfo | None, options: PutOptions) -> None:
    if options.if_none_match == "*" and current is not None:
        raise PreconditionFailed(f"{bucket}/{key} already exists (if_none_match='*')")
    if options.if_match is not None and (current is None or current.etag != options.if_match):
        raise PreconditionFailed(f"{bucket}/{key} does not have etag {options.if_match}")
