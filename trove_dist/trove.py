"""``Trove``: one object-storage API over any number of routed backends.

    with Trove.open("file:///srv/data", backends={"archive": "s3://?endpoint=…"},
                    routes=[("*.log", "archive")]) as trove:
        trove.put("photos", "2024/cat.jpg", open("cat.jpg", "rb"))
        with trove.get("photos", "2024/cat.jpg") as reader:
            data = reader.read()

Every put computes a checksum (BLAKE3 unless configured otherwise) that the backend stores with
the object; ``get(..., verify=True)`` checks it on the way out.  ``Trove`` owns the drivers it is
given: ``close()`` closes them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Literal, Self, overload

from trove_dist.checksum import Algorithm, validate_algorithm
from trove_dist.content import ContentPipeline, is_framed, logical_info, user_metadata
from trove_dist.driver.base import Driver
from trove_dist.driver.body import DEFAULT_CHUNK_SIZE, PutBody
from trove_dist.driver.listing import iter_pages, validate_max_keys
from trove_dist.driver.models import BucketInfo, CommonPrefix, ListPage, ObjectInfo
from trove_dist.driver.reader import ObjectReader
from trove_dist.driver.registry import open_driver
from trove_dist.errors import BackendNotFound, InvalidBucket
from trove_dist.ids import new_stream_id
from trove_dist.merged_listing import merged_page
from trove_dist.middleware.base import Middleware
from trove_dist.middleware.context import Direction
from trove_dist.middleware.registration import Registration
from trove_dist.middleware.resolver import Resolver
from trove_dist.middleware.scope import Global, Scope
from trove_dist.router import DEFAULT_BACKEND, RouteFunc, Router
from trove_dist.stream import (
    Backpressure,
    DownloadStream,
    Hooks,
    ObjectRef,
    Progress,
    StreamEngine,
    StreamSpec,
    ThreadDispatcher,
    UploadStream,
)
from trove_dist.stream.engine import Runtime, encode_header
from trove_dist.stream.staging import MemoryStaging
from trove_dist.stream.store import MemoryStreamStore
from trove_dist.verifying_reader import VerifyingReader
from trove_dist.vfs import VFS, for_trove

DriverSpec = Driver | str


class Trove:
    def __init__(
        self,
        driver: DriverSpec,
        *,
        backends: Mapping[str, DriverSpec] | None = None,
        routes: Iterable[tuple[str, str]] = (),
        route_funcs: Iterable[RouteFunc] = (),
        default_bucket: str | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        checksum: Algorithm | None = "blake3",
        verify: bool = False,
    ) -> None:
        """``driver`` is the default backend (a ``Driver`` or a DSN); ``backends`` adds named
        ones; ``routes`` are ``(glob, backend)`` pairs and ``route_funcs`` functions of
        ``(bucket, key)`` returning a backend name or ``None``.  ``verify=True`` makes every
        whole-object ``get`` check the stored checksum."""
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        if backends and DEFAULT_BACKEND in backends:
            raise ValueError(f"{DEFAULT_BACKEND!r} names the default backend; pick another name")
        self._drivers: dict[str, Driver] = {}
        try:
            self._drivers[DEFAULT_BACKEND] = _open(driver)
            for name, spec in (backends or {}).items():
                self._drivers[name] = _open(spec)
        except BaseException:
            self._close_drivers()
            raise
        self.router = Router(self._drivers, DEFAULT_BACKEND)
        for pattern, backend in routes:
            self.router.add_route(pattern, backend)
        for function in route_funcs:
            self.router.add_route_func(function)
        self.default_bucket = default_bucket
        self.chunk_size = chunk_size
        self.checksum = validate_algorithm(checksum) if checksum else None
        self.verify = verify
        self.content = ContentPipeline(Resolver(), chunk_size)
        self._stream_engine: StreamEngine | None = None
        self._engine_owner: Trove = self
        self._closed = False

    @classmethod
    def open(cls, dsn: str, **options: object) -> Self:
        """``Trove.open("file:///srv/data", default_bucket="photos")``."""
        return cls(dsn, **options)  # type: ignore[arg-type]

    # ---- structure ----------------------------------------------------------------------

    @property
    def driver(self) -> Driver:
        """The default backend's driver (for capability checks: ``isinstance(t.driver, …)``)."""
        return self._drivers[DEFAULT_BACKEND]

    @property
    def backends(self) -> dict[str, Driver]:
        return dict(self._drivers)

    def backend(self, name: str) -> Trove:
        """A ``Trove`` pinned to one backend, bypassing routing; it shares the driver (closing
        it does not close the driver — the parent owns it)."""
        try:
            driver = self._drivers[name]
        except KeyError:
            raise BackendNotFound(name) from None
        pinned = Trove.__new__(Trove)
        pinned._drivers = {DEFAULT_BACKEND: driver}
        pinned.router = Router([DEFAULT_BACKEND])
        pinned.default_bucket = self.default_bucket
        pinned.chunk_size = self.chunk_size
        pinned.checksum = self.checksum
        pinned.verify = self.verify
        pinned.content = self.content  # the same middleware: a pinned view reads what the parent wrote
        pinned._stream_engine = None
        pinned._engine_owner = self
        pinned._closed = True  # close() on a pinned view is a no-op
        return pinned

    # ---- middleware -------------------------------------------------------------------

    def use(
        self,
        middleware: Middleware | Registration,
        *,
        scope: Scope | None = None,
        direction: Direction | None = None,
        priority: int = 0,
    ) -> Registration:
        """Register a middleware (or a ready ``Registration``); returns the registration, which
        ``remove`` takes back.  Lower priorities run first on writes and last on reads."""
        if isinstance(middleware, Registration):
            return self.content.resolver.add(middleware)
        return self.content.resolver.add(Registration(middleware, scope or Global(), direction, priority))

    def remove(self, target: Registration | Middleware) -> int:
        """Unregister a registration, or every registration of a middleware."""
        return self.content.resolver.remove(target)

    def add_route(self, pattern: str, backend: str) -> None:
        self.router.add_route(pattern, backend)

    def add_route_func(self, function: RouteFunc) -> None:
        self.router.add_route_func(function)

    def resolve(self, bucket: str | None, key: str) -> tuple[str, Driver]:
        """The backend name and driver that ``bucket/key`` routes to."""
        name = self.router.resolve(self._bucket(bucket), key)
        return name, self._drivers[name]

    def _bucket(self, bucket: str | None) -> str:
        if bucket:
            return bucket
        if self.default_bucket:
            return self.default_bucket
        raise InvalidBucket("", "no bucket given and no default_bucket configured")

    def _driver_for(self, bucket: str, key: str) -> Driver:
        return self._drivers[self.router.resolve(bucket, key)]

    # ---- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        """Close every driver and stop the embedded stream executor's threads."""
        if not self._closed:
            self._closed = True
            if self._stream_engine is not None:
                self._stream_engine.close()
            self._close_drivers()

    def _close_drivers(self) -> None:
        errors: list[BaseException] = []
        for driver in self._drivers.values():
            try:
                driver.close()
            except Exception as exc:  # noqa: BLE001 - close every driver, then report the first failure
                errors.append(exc)
        if errors:
            raise errors[0]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- buckets ------------------------------------------------------------------------

    def create_bucket(self, bucket: str, *, exist_ok: bool = False) -> None:
        """Create the bucket on every backend (routes are per key, so any backend may need it)."""
        self.driver.create_bucket(bucket, exist_ok=exist_ok)
        for name, driver in self._drivers.items():
            if name != DEFAULT_BACKEND:
                driver.create_bucket(bucket, exist_ok=True)

    def delete_bucket(self, bucket: str, *, force: bool = False) -> None:
        for name, driver in self._drivers.items():
            if name == DEFAULT_BACKEND or driver.bucket_exists(bucket):
                driver.delete_bucket(bucket, force=force)

    def list_buckets(self) -> list[BucketInfo]:
        seen: dict[str, BucketInfo] = {}
        for driver in self._drivers.values():
            for info in driver.list_buckets():
                seen.setdefault(info.name, info)
        return sorted(seen.values(), key=lambda b: b.name)

    def bucket_exists(self, bucket: str) -> bool:
        return self.driver.bucket_exists(bucket)

    # ---- objects ------------------------------------------------------------------------

    def put(
        self,
        bucket: str | None,
        key: str,
        data: PutBody,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        size: int | None = None,
    ) -> ObjectInfo:
        """Store ``data`` (bytes, a binary file object or an iterable of chunks) through the
        middleware pipeline on the backend the key routes to.  ``size`` is the body's length
        when the body itself cannot tell (a wrapped stream)."""
        bucket = self._bucket(bucket)
        return self.content.put(
            self._driver_for(bucket, key),
            bucket,
            key,
            data,
            content_type=content_type,
            metadata=metadata,
            if_match=if_match,
            if_none_match=if_none_match,
            checksum=self.checksum,
            size=size,
        )

    def get(
        self,
        bucket: str | None,
        key: str,
        *,
        offset: int = 0,
        length: int | None = None,
        verify: bool | None = None,
    ) -> ObjectReader | VerifyingReader:
        """Open an object for reading.  With ``verify`` (default: the instance's setting) a
        whole-object read raises ``ChecksumMismatch`` at the end if the bytes are not the ones
        that were put.  A range cannot be checked against a whole-object checksum: an explicit
        ``verify=True`` with a range is refused, the instance-wide setting skips ranges."""
        bucket = self._bucket(bucket)
        partial = offset > 0 or length is not None
        if verify and partial:
            raise ValueError("verify=True needs a whole-object read (a range cannot be checked against the checksum)")
        if verify is None:
            verify = self.verify
        reader = self.content.get(self._driver_for(bucket, key), bucket, key, offset, length)
        if verify and not partial and reader.info.checksum is not None:
            return VerifyingReader(reader, reader.info.checksum)
        return reader

    def head(self, bucket: str | None, key: str) -> ObjectInfo:
        bucket = self._bucket(bucket)
        return self.content.head(self._driver_for(bucket, key), bucket, key)

    def exists(self, bucket: str | None, key: str) -> bool:
        bucket = self._bucket(bucket)
        return self._driver_for(bucket, key).exists(bucket, key)

    def delete(self, bucket: str | None, key: str) -> None:
        bucket = self._bucket(bucket)
        self.content.delete(self._driver_for(bucket, key), bucket, key)

    def list(
        self,
        bucket: str | None = None,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        start_after: str | None = None,
        max_keys: int = 1000,
        cursor: str | None = None,
    ) -> ListPage:
        """One page of the bucket's keys across every backend routes can send keys to."""
        bucket = self._bucket(bucket)
        if len(self._drivers) == 1:
            page = self.driver.list(
                bucket, prefix=prefix, delimiter=delimiter, start_after=start_after, max_keys=max_keys, cursor=cursor
            )
        else:
            page = merged_page(
                self._drivers,
                self.router.resolve,
                bucket,
                prefix=prefix,
                delimiter=delimiter or None,
                start_after=start_after,
                max_keys=validate_max_keys(max_keys),
                cursor=cursor,
            )
        return ListPage([logical_info(o) for o in page.objects], page.common_prefixes, page.next_cursor)

    def iter_list(
        self,
        bucket: str | None = None,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        start_after: str | None = None,
        page_size: int = 1000,
    ) -> Iterator[ObjectInfo | CommonPrefix]:
        """Every object (and rolled-up prefix) across the routed backends, a page at a time."""
        return iter_pages(
            lambda cursor: self.list(
                bucket, prefix=prefix, delimiter=delimiter, start_after=start_after, max_keys=page_size, cursor=cursor
            )
        )

    def copy(
        self,
        src_bucket: str | None,
        src_key: str,
        dst_bucket: str | None,
        dst_key: str,
        *,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> ObjectInfo:
        """Copy an object, server-side when both ends are the same backend and it can;
        otherwise streamed from one driver into the other (never held whole in memory)."""
        src_bucket = self._bucket(src_bucket)
        dst_bucket = self._bucket(dst_bucket)
        source = self._driver_for(src_bucket, src_key)
        target = self._driver_for(dst_bucket, dst_key)
        if source is target and not self.content.active:
            return source.copy(src_bucket, src_key, dst_bucket, dst_key, metadata=metadata, content_type=content_type)
        if source is target:
            # Framed bytes stay valid under any key (their header names everything needed to decode
            # them), so a server-side copy is still right — unless new metadata must be merged in.
            info = source.head(src_bucket, src_key)
            if metadata is None or not is_framed(info):
                copied = source.copy(
                    src_bucket,
                    src_key,
                    dst_bucket,
                    dst_key,
                    metadata=None if metadata is None else user_metadata(metadata),
                    content_type=content_type,
                )
                return self.content.head(source, dst_bucket, dst_key) if is_framed(copied) else copied
        with self.get(src_bucket, src_key) as reader:
            if not self.content.active and reader.info.checksum is not None:
                return target.put(
                    dst_bucket,
                    dst_key,
                    reader,
                    metadata=reader.info.metadata if metadata is None else metadata,
                    content_type=content_type or reader.info.content_type,
                    checksum=reader.info.checksum,  # verified end to end while streaming
                )
            return self.put(
                dst_bucket,
                dst_key,
                reader,
                metadata=reader.info.metadata if metadata is None else metadata,
                content_type=content_type or reader.info.content_type,
            )

    # ---- filesystem view ------------------------------------------------------------

    def vfs(self, bucket: str | None = None) -> VFS:
        """A hierarchical filesystem view of ``bucket`` through this Trove (routing, middleware)."""
        return for_trove(self, self._bucket(bucket))

    # ---- streams ------------------------------------------------------------------------

    def set_stream_engine(self, engine: StreamEngine) -> None:
        """Run streams on ``engine`` (e.g. Celery workers and Redis, from ``trove_dist.dist``)
        instead of the embedded thread executor; ``close()`` then closes it."""
        self._engine_owner._stream_engine = engine

    def stream_engine(self) -> StreamEngine:
        owner = self._engine_owner
        if owner._stream_engine is None:
            runtime = Runtime(
                store=MemoryStreamStore(),
                staging=MemoryStaging(),
                backends=owner._drivers.__getitem__,
                codecs_for=owner.content.codecs_for_any,
                describe=lambda ref: owner.content.head(owner._drivers[ref.backend], ref.bucket, ref.key),
            )
            owner._stream_engine = StreamEngine(runtime, ThreadDispatcher(runtime))
        return owner._stream_engine

    @overload
    def stream(
        self,
        bucket: str | None,
        key: str,
        direction: Literal["upload"] = "upload",
        *,
        resumable: bool = False,
        backpressure: Backpressure | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        on_chunk: Callable[[int], None] | None = None,
        on_complete: Callable[[ObjectInfo], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        size: int | None = None,
        stream_id: str | None = None,
        window: int = 4,
    ) -> UploadStream: ...

    @overload
    def stream(
        self,
        bucket: str | None,
        key: str,
        direction: Literal["download"],
        *,
        resumable: bool = False,
        backpressure: Backpressure | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        on_chunk: Callable[[int], None] | None = None,
        on_complete: Callable[[ObjectInfo], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        size: int | None = None,
        stream_id: str | None = None,
        window: int = 4,
    ) -> DownloadStream: ...

    def stream(
        self,
        bucket: str | None,
        key: str,
        direction: Literal["upload", "download"] = "upload",
        *,
        resumable: bool = False,
        backpressure: Backpressure | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        on_chunk: Callable[[int], None] | None = None,
        on_complete: Callable[[ObjectInfo], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        size: int | None = None,
        stream_id: str | None = None,
        window: int = 4,
    ) -> UploadStream | DownloadStream:
        """A managed, chunked transfer of ``bucket/key``.

        Upload: ``write()`` bytes, then ``close()`` (or leave the ``with`` block) to wait for
        the stored object; chunks are transformed and stored in parallel by the stream engine.
        ``stream_id`` resumes a stream another producer began (``missing()`` lists what to send).
        Download: iterate the returned stream for the object's chunks, or ``download_to(path)``.
        """
        bucket = self._bucket(bucket)
        hooks = Hooks(on_progress, on_chunk, on_complete, on_error)
        if direction == "download":
            info = self.head(bucket, key)
            return DownloadStream(
                info, self._range_reader(bucket, key), chunk_size=self.chunk_size, window=window, hooks=hooks
            )
        if direction != "upload":
            raise ValueError("direction is 'upload' or 'download'")
        engine = self.stream_engine()
        if stream_id is not None:
            return UploadStream.resume(
                engine.runtime, engine.dispatcher, stream_id, backpressure=backpressure, hooks=hooks
            )
        backend, _ = self.resolve(bucket, key)
        content_type, stored_metadata, header = self.content.stream_plan(bucket, key, content_type, metadata, size)
        spec = StreamSpec(
            stream_id=new_stream_id(),
            destination=ObjectRef(backend, bucket, key),
            chunk_size=self.chunk_size,
            content_type=content_type,
            metadata=stored_metadata,
            header=encode_header(header) if header is not None else None,
            part_min=self._drivers[backend].min_part_size,
        )
        return UploadStream.open(
            engine.runtime, engine.dispatcher, spec, backpressure=backpressure, hooks=hooks, resumable=resumable
        )

    def _range_reader(self, bucket: str, key: str) -> Callable[[int, int], bytes]:
        def read(offset: int, length: int) -> bytes:
            with self.get(bucket, key, offset=offset, length=length) as reader:
                return reader.read()

        return read

    def __repr__(self) -> str:
        names = ", ".join(f"{n}={d!r}" for n, d in self._drivers.items())
        return f"<Trove {names}>"


def _open(spec: DriverSpec) -> Driver:
    if isinstance(spec, Driver):
        return spec
    if isinstance(spec, str):
        return open_driver(spec)
    raise TypeError(f"expected a Driver or a DSN string, got {type(spec).__name__}")
