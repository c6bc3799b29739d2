"""The ``Driver`` contract every backend implements.

Public methods live here and do what must be identical on every backend — name validation,
body normalisation, checksums, conditional-write gating, listing arguments — then call the
``_``-prefixed hooks a driver implements.  A third-party driver therefore cannot forget to refuse
a traversal key: the base refuses it before the driver sees it.
"""

from __future__ import annotations

import builtins
import mimetypes
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar, Self

from trove_dist.checksum import Checksum, validate_algorithm
from trove_dist.driver.body import (
    ChecksumSource,
    MeteredChunks,
    PutBody,
    iter_chunks,
    known_size,
)
from trove_dist.driver.capabilities import ConditionalDriver, ServerCopyDriver
from trove_dist.driver.dsn import DSN
from trove_dist.driver.listing import iter_pages, validate_max_keys
from trove_dist.driver.models import BucketInfo, CommonPrefix, ListPage, ObjectInfo, normalize_metadata
from trove_dist.driver.names import validate_bucket, validate_key, validate_prefix
from trove_dist.driver.reader import ObjectReader
from trove_dist.errors import BucketNotEmpty, DriverClosed, InvalidRange, ObjectNotFound, UnsupportedCapability

DEFAULT_CONTENT_TYPE = "application/octet-stream"


class Limitation(Enum):
    """Behaviours of the common contract a backend cannot offer; the conformance suite skips
    the matching cases visibly instead of letting them pass."""

    #: ``a`` and ``a/b`` cannot both be objects (a filesystem path is a file or a directory).
    NO_OBJECT_AND_PREFIX_SAME_NAME = "an object and a key prefix with the same name"


@dataclass(frozen=True, slots=True)
class PutOptions:
    """Everything about a put except the body, already validated."""

    content_type: str
    metadata: dict[str, str]
    if_match: str | None
    if_none_match: str | None
    size_hint: int | None


class Driver(ABC):
    """A storage backend: buckets of objects addressed by key."""

    #: DSN scheme(s) this driver is registered under, e.g. ``("s3",)``.
    schemes: ClassVar[tuple[str, ...]] = ()
    #: Parts of the common contract this backend cannot honour.
    limitations: ClassVar[frozenset[Limitation]] = frozenset()
    #: How much of a file-like body ``put`` reads at a time (``chunk_size`` overrides it).  1 MiB
    #: keeps each piece in the CPU cache while it is hashed and written; bigger pieces were
    #: measured slower (bench/local_large).
    io_chunk_size: ClassVar[int] = 1024 * 1024
    #: The smallest part a multipart upload accepts, but for the last (S3: 5 MiB).  The stream
    #: engine groups frames into parts of at least this size.
    min_part_size: ClassVar[int] = 1

    _closed: bool = False

    # ---- lifecycle ---------------------------------------------------------------------

    @classmethod
    @abstractmethod
    def from_dsn(cls, dsn: DSN) -> Self:
        """Open the driver a DSN describes (``file:///srv/data``, ``mem://scratch`` …)."""

    @property
    def name(self) -> str:
        return self.schemes[0] if self.schemes else type(self).__name__

    def close(self) -> None:
        """Release connections and file descriptors; further calls raise ``DriverClosed``."""
        if not self._closed:
            self._closed = True
            self._close()

    def _close(self) -> None:  # noqa: B027 - optional hook, most drivers hold nothing to release
        """Release resources (override when the driver holds any)."""

    def ping(self) -> None:
        """Raise ``BackendUnavailable`` (or a permission error) unless the backend answers."""
        self._check_open()
        self._ping()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise DriverClosed(f"the {self.name} driver is closed")

    def _guard(self, bucket: str, *keys: str) -> None:
        """The checks every public method makes; capability methods call it themselves."""
        self._check_open()
        validate_bucket(bucket)
        for key in keys:
            validate_key(key)

    # ---- buckets -----------------------------------------------------------------------

    def create_bucket(self, bucket: str, *, exist_ok: bool = False) -> None:
        self._check_open()
        self._create_bucket(validate_bucket(bucket), exist_ok=exist_ok)

    def delete_bucket(self, bucket: str, *, force: bool = False) -> None:
        """Delete an empty bucket; with ``force``, delete its objects first."""
        self._check_open()
        validate_bucket(bucket)
        if force:
            for batch in _batches(self._iter_keys(bucket), 1000):
                for key in batch:
                    self._delete(bucket, key)
        elif not self._bucket_is_empty(bucket):
            raise BucketNotEmpty(bucket)
        self._delete_bucket(bucket)

    def list_buckets(self) -> list[BucketInfo]:
        self._check_open()
        return sorted(self._list_buckets(), key=lambda b: b.name)

    def bucket_exists(self, bucket: str) -> bool:
        self._check_open()
        return self._bucket_exists(validate_bucket(bucket))

    # ---- objects -----------------------------------------------------------------------

    def put(
        self,
        bucket: str,
        key: str,
        data: PutBody,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        checksum: str | Checksum | ChecksumSource | None = None,
        chunk_size: int | None = None,
        size: int | None = None,
    ) -> ObjectInfo:
        """Store ``data`` at ``bucket/key``, streaming it; replace what was there atomically.

        ``checksum`` is an algorithm name (compute and store it), a ``Checksum`` (verify the
        body against it; on mismatch nothing is written), or a ``ChecksumSource`` such as the
        ``MeteredChunks`` of the content this body encodes (store *its* checksum: for a framed
        object the checksum describes the plaintext, not the stored bytes).  ``if_none_match="*"`` writes only if
        the key is absent; ``if_match=etag`` only if the current etag is ``etag``.
        """
        self._check_open()
        validate_bucket(bucket)
        validate_key(key)
        if if_none_match is not None and if_none_match != "*":
            raise ValueError('if_none_match only accepts "*" (write only if the key is absent)')
        if (if_match is not None or if_none_match is not None) and not isinstance(self, ConditionalDriver):
            raise UnsupportedCapability(self.name, "conditional writes")
        options = PutOptions(
            content_type=content_type or guess_content_type(key),
            metadata=normalize_metadata(metadata),
            if_match=if_match,
            if_none_match=if_none_match,
            size_hint=size if size is not None else known_size(data),
        )
        read_size = chunk_size or self.io_chunk_size
        if isinstance(checksum, Checksum):
            body = MeteredChunks(iter_chunks(data, read_size), expected=checksum, what=f"{bucket}/{key}")
        elif checksum is None or isinstance(checksum, str):
            algorithm = validate_algorithm(checksum) if checksum else None
            body = MeteredChunks(iter_chunks(data, read_size), algorithm=algorithm)
        else:
            body = MeteredChunks(iter_chunks(data, read_size), checksum_of=checksum)
        return self._put(bucket, key, body, options)

    def get(self, bucket: str, key: str, *, offset: int = 0, length: int | None = None) -> ObjectReader:
        """Open ``bucket/key`` for streaming reads, optionally only ``length`` bytes at ``offset``.

        A range that starts past the end raises ``InvalidRange``; one that runs past the end is
        cut short, as HTTP range requests are.
        """
        self._check_open()
        validate_bucket(bucket)
        validate_key(key)
        if offset < 0 or (length is not None and length < 0):
            raise InvalidRange(f"negative range (offset={offset}, length={length})")
        return self._get(bucket, key, offset, length)

    def head(self, bucket: str, key: str) -> ObjectInfo:
        self._check_open()
        return self._head(validate_bucket(bucket), validate_key(key))

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.head(bucket, key)
        except ObjectNotFound:
            return False
        return True

    def delete(self, bucket: str, key: str) -> None:
        """Delete ``bucket/key``; deleting an absent key is not an error (as in S3)."""
        self._check_open()
        self._delete(validate_bucket(bucket), validate_key(key))

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
        """One page of keys in UTF-8 byte order; pass ``page.next_cursor`` back for the next."""
        self._check_open()
        validate_bucket(bucket)
        validate_prefix(prefix)
        if delimiter == "":
            delimiter = None
        return self._list(bucket, prefix, delimiter, start_after, validate_max_keys(max_keys), cursor)

    def iter_list(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        start_after: str | None = None,
        page_size: int = 1000,
    ) -> Iterator[ObjectInfo | CommonPrefix]:
        """Every object (and rolled-up prefix), fetched one page at a time."""
        return iter_pages(
            lambda cursor: self.list(
                bucket, prefix=prefix, delimiter=delimiter, start_after=start_after, max_keys=page_size, cursor=cursor
            )
        )

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
        """Copy an object; keeps its metadata and content type unless new ones are given.

        Server-side when the driver can; otherwise streamed through this process.  Copying an
        object onto itself is allowed (it rewrites metadata, as S3's copy-in-place does).
        """
        self._check_open()
        for b in (src_bucket, dst_bucket):
            validate_bucket(b)
        for k in (src_key, dst_key):
            validate_key(k)
        meta = normalize_metadata(metadata) if metadata is not None else None
        if isinstance(self, ServerCopyDriver):
            return self.server_copy(src_bucket, src_key, dst_bucket, dst_key, metadata=meta, content_type=content_type)
        with self.get(src_bucket, src_key) as reader:
            return self.put(
                dst_bucket,
                dst_key,
                reader,
                metadata=meta if meta is not None else reader.info.metadata,
                content_type=content_type or reader.info.content_type,
            )

    # ---- hooks a driver implements ----------------------------------------------------

    def _ping(self) -> None:
        self._list_buckets()

    @abstractmethod
    def _create_bucket(self, bucket: str, *, exist_ok: bool) -> None: ...

    @abstractmethod
    def _delete_bucket(self, bucket: str) -> None:
        """Delete an empty bucket; raise ``BucketNotFound`` if absent."""

    @abstractmethod
    def _list_buckets(self) -> builtins.list[BucketInfo]: ...

    @abstractmethod
    def _bucket_exists(self, bucket: str) -> bool: ...

    @abstractmethod
    def _put(self, bucket: str, key: str, body: MeteredChunks, options: PutOptions) -> ObjectInfo:
        """Write ``body`` to a temporary place and make it visible only once it is complete;
        ``body.checksum`` (if any) is known after the body is exhausted and must be stored."""

    @abstractmethod
    def _get(self, bucket: str, key: str, offset: int, length: int | None) -> ObjectReader: ...

    @abstractmethod
    def _head(self, bucket: str, key: str) -> ObjectInfo: ...

    @abstractmethod
    def _delete(self, bucket: str, key: str) -> None: ...

    @abstractmethod
    def _list(
        self,
        bucket: str,
        prefix: str,
        delimiter: str | None,
        start_after: str | None,
        max_keys: int,
        cursor: str | None,
    ) -> ListPage: ...

    def _bucket_is_empty(self, bucket: str) -> bool:
        return not self._list(bucket, "", None, None, 1, None).objects

    def _iter_keys(self, bucket: str) -> Iterator[str]:
        cursor: str | None = None
        while True:
            page = self._list(bucket, "", None, None, 1000, cursor)
            yield from (o.key for o in page.objects)
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def guess_content_type(key: str) -> str:
    guessed, _ = mimetypes.guess_type(key, strict=False)
    return guessed or DEFAULT_CONTENT_TYPE


def check_range(size: int, offset: int, length: int | None, what: str) -> int:
    """Validate a range against an object's size; return the number of bytes it covers."""
    if offset > 0 and offset >= size:
        raise InvalidRange(f"range starts at byte {offset} but {what} is {size} bytes long")
    available = size - offset
    return available if length is None else min(length, available)


def _batches(items: Iterator[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
