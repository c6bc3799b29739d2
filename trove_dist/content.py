"""How an object's content passes through the middleware pipeline on its way to and from a driver.

Write: object middleware (scan, watermark) sees the plaintext in order and may adjust metadata;
the plaintext checksum is taken; then, if any chunk middleware applies, the content is framed
(``trove_dist.format``) with each chunk transformed in priority order.  The object's metadata
records that it is framed (``trove-format``) and, when known up front, its plaintext size
(``trove-size``); both names are reserved.  Read: a framed object is decoded by the transforms
its header names — secretless ones (zstd) need no configuration, encryption needs an ``Encrypt``
middleware in the resolved read pipeline — and a byte range fetches only the frames it needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType

from trove_dist.driver.base import Driver, check_range, guess_content_type
from trove_dist.driver.body import MeteredChunks, PutBody, iter_chunks, known_size
from trove_dist.driver.models import ObjectInfo, normalize_metadata
from trove_dist.driver.reader import ObjectReader
from trove_dist.errors import InvalidRange, MissingKey, ObjectNotFound, UnsupportedCapability
from trove_dist.format.codec import ChunkCodec
from trove_dist.format.header import Header
from trove_dist.format.reader import ByteSource, FramedReader, read_framed_range, read_index
from trove_dist.format.writer import FrameEncoder, framed_stream
from trove_dist.middleware.base import ChunkMiddleware, ObjectMiddleware
from trove_dist.middleware.compress import Compress
from trove_dist.middleware.context import Direction, Operation, current_context
from trove_dist.middleware.resolver import Pipeline, Resolver

FORMAT_KEY = "trove-format"
SIZE_KEY = "trove-size"
FRAMED_V1 = "framed-1"
RESERVED_PREFIX = "trove-"

#: Transforms a reader can always undo, with no key or setting from the caller.
_SECRETLESS: dict[str, ChunkMiddleware] = {Compress.transform: Compress()}


def is_framed(info: ObjectInfo) -> bool:
    return info.metadata.get(FORMAT_KEY) == FRAMED_V1


def user_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """Normalise caller metadata and refuse the names this layer reserves for itself."""
    normal = normalize_metadata(metadata)
    reserved = [name for name in normal if name.startswith(RESERVED_PREFIX)]
    if reserved:
        raise ValueError(f"metadata names starting with {RESERVED_PREFIX!r} are reserved: {', '.join(reserved)}")
    return normal


def logical_info(info: ObjectInfo, size: int | None = None) -> ObjectInfo:
    """What callers see of a stored object: plaintext size, reserved metadata hidden."""
    if not any(name.startswith(RESERVED_PREFIX) for name in info.metadata):
        return info
    visible = MappingProxyType({k: v for k, v in info.metadata.items() if not k.startswith(RESERVED_PREFIX)})
    if size is None:
        stored = info.metadata.get(SIZE_KEY)
        size = int(stored) if stored is not None and stored.isdigit() else info.size
    return replace(info, size=size, metadata=visible)


class ContentPipeline:
    def __init__(self, resolver: Resolver, chunk_size: int) -> None:
        self.resolver = resolver
        self.chunk_size = chunk_size

    def _pipeline(self, direction: Direction, bucket: str, key: str, content_type: str | None) -> Pipeline:
        return self.resolver.resolve(Operation(direction, bucket, key, content_type, current_context()))

    @property
    def active(self) -> bool:
        return bool(self.resolver.registrations)

    # ---- write ------------------------------------------------------------------------

    def put(
        self,
        driver: Driver,
        bucket: str,
        key: str,
        data: PutBody,
        *,
        content_type: str | None,
        metadata: Mapping[str, str] | None,
        if_match: str | None,
        if_none_match: str | None,
        checksum: str | None,
        size: int | None = None,
    ) -> ObjectInfo:
        content_type = content_type or guess_content_type(key)
        op = Operation(Direction.WRITE, bucket, key, content_type, current_context())
        pipeline = self.resolver.resolve(op)
        meta = user_metadata(metadata)
        if size is None:
            size = known_size(data)
        chunks: Iterator[bytes | memoryview] = iter_chunks(data, min(self.chunk_size, driver.io_chunk_size))
        logical: MeteredChunks | None = None
        for registration in pipeline:
            middleware = registration.middleware
            if isinstance(middleware, ObjectMiddleware):
                middleware.prepare_write(op, meta)
                if middleware.tracks_lifecycle and logical is None:
                    # It stores a form of its own (a dedup manifest): the checksum and size must
                    # describe what reads return, which is what enters it.
                    chunks = logical = MeteredChunks(chunks, algorithm=checksum)
                chunks = middleware.wrap_write(op, _as_bytes(chunks))
        plain = MeteredChunks(chunks, algorithm=None if logical else checksum)
        described = logical or plain
        rewrites = any(isinstance(r.middleware, ObjectMiddleware) for r in pipeline)  # sizes may change
        transforms = [
            r.middleware
            for r in pipeline
            if isinstance(r.middleware, ChunkMiddleware) and r.middleware.applies_to(op)
        ]
        body: Iterable[bytes | memoryview] = plain
        if transforms:
            encoder = start_framing(op, transforms, self.chunk_size)
            meta[FORMAT_KEY] = FRAMED_V1
            if size is not None and not rewrites:
                meta[SIZE_KEY] = str(size)
            body = framed_stream(encoder, plain)
        old = self.previous(driver, bucket, key)
        stored = driver.put(
            bucket,
            key,
            body,
            content_type=content_type,
            metadata=meta,
            if_match=if_match,
            if_none_match=if_none_match,
            checksum=described if checksum else None,
            size=None if transforms or rewrites else size,
        )
        self.release(old)
        return logical_info(stored, described.size)

    # ---- read -------------------------------------------------------------------------

    def head(self, driver: Driver, bucket: str, key: str) -> ObjectInfo:
        info = driver.head(bucket, key)
        claimant = self._claimant(Direction.READ, info)
        if claimant is not None:
            return logical_info(info, claimant.logical_size(info, lambda: self._decoded(driver, info)))
        if is_framed(info) and SIZE_KEY not in info.metadata:
            _, trailer, _ = read_index(_fetcher(driver, bucket, key), info.size)
            return logical_info(info, trailer.plain_size)
        return logical_info(info)

    def get(self, driver: Driver, bucket: str, key: str, offset: int, length: int | None) -> ObjectReader:
        """One request for a plain object; a framed one is then decoded (a range: by fetching
        its header, index and the frames that hold the range); an object stored in a
        middleware's own form (a dedup manifest) is handed to that middleware."""
        reader: ObjectReader | None
        try:
            reader = driver.get(bucket, key, offset=offset, length=length)
            info = reader.info
        except InvalidRange:
            # The offset is past the *stored* end; the plaintext may be longer than what is stored.
            reader, info = None, driver.head(bucket, key)
        claimant = self._claimant(Direction.READ, info)
        if claimant is not None:
            if reader is not None:
                reader.close()
            size = claimant.logical_size(info, lambda: self._decoded(driver, info))
            count = check_range(size, offset, length, f"{bucket}/{key}")
            op = Operation(Direction.READ, bucket, key, info.content_type, current_context())
            stream = claimant.open_read(op, info, self._decoded(driver, info), offset, length)
            return ObjectReader(logical_info(info, size), stream, offset=offset, length=count)
        if reader is None:
            if not is_framed(info):
                raise InvalidRange(f"range starts at byte {offset} but {bucket}/{key} is {info.size} bytes long")
            return self._framed_range(driver, info, offset, length)
        if not is_framed(info):
            return reader
        if offset == 0 and length is None:
            return self._decoded_whole(driver, info, reader)
        reader.close()  # it served to learn the object is framed; fetch only what the range needs
        return self._framed_range(driver, info, offset, length)

    def _decoded(self, driver: Driver, info: ObjectInfo) -> ObjectReader:
        """The whole stored content, with any framing undone."""
        reader = driver.get(info.bucket, info.key)
        return self._decoded_whole(driver, info, reader) if is_framed(info) else reader

    def _decoded_whole(self, driver: Driver, info: ObjectInfo, reader: ObjectReader) -> ObjectReader:
        codecs_for = self._codec_factory(info.bucket, info.key, info.content_type)
        size_text = info.metadata.get(SIZE_KEY)
        if size_text is not None and size_text.isdigit() and self._claimant(Direction.READ, info) is None:
            size = int(size_text)
        else:  # written from a stream of unknown length: the index knows
            size = read_index(_fetcher(driver, info.bucket, info.key), info.size)[1].plain_size
        return ObjectReader(logical_info(info, size), FramedReader(reader, codecs_for), length=size)

    def _claimant(self, direction: Direction, info: ObjectInfo) -> ObjectMiddleware | None:
        if not self.active:
            return None
        for registration in self._pipeline(direction, info.bucket, info.key, info.content_type):
            middleware = registration.middleware
            if isinstance(middleware, ObjectMiddleware) and middleware.claims(info):
                return middleware
        return None

    # ---- lifecycle ----------------------------------------------------------------------

    def _tracking(self, bucket: str, key: str) -> bool:
        return self.active and any(
            isinstance(r.middleware, ObjectMiddleware) and r.middleware.tracks_lifecycle
            for r in self._pipeline(Direction.WRITE, bucket, key, None)
        )

    def previous(self, driver: Driver, bucket: str, key: str) -> ObjectInfo | None:
        """The object about to be replaced or deleted, when a middleware must release it."""
        if not self._tracking(bucket, key):
            return None
        try:
            return driver.head(bucket, key)
        except ObjectNotFound:
            return None

    def release(self, old: ObjectInfo | None) -> None:
        if old is None:
            return
        claimant = self._claimant(Direction.WRITE, old)
        if claimant is not None:
            op = Operation(Direction.WRITE, old.bucket, old.key, old.content_type, current_context())
            claimant.released(op, old)

    def delete(self, driver: Driver, bucket: str, key: str) -> None:
        old = self.previous(driver, bucket, key)
        driver.delete(bucket, key)
        self.release(old)

    def _framed_range(self, driver: Driver, info: ObjectInfo, offset: int, length: int | None) -> ObjectReader:
        codecs_for = self._codec_factory(info.bucket, info.key, info.content_type)
        fetch = _fetcher(driver, info.bucket, info.key)
        stream, size, count = read_framed_range(fetch, info.size, codecs_for, offset, length)
        return ObjectReader(logical_info(info, size), stream, offset=offset, length=count)

    def _codec_factory(self, bucket: str, key: str, content_type: str | None) -> _CodecFactory:
        pipeline = self._pipeline(Direction.READ, bucket, key, content_type)
        available = {
            r.middleware.transform: r.middleware for r in pipeline if isinstance(r.middleware, ChunkMiddleware)
        }
        return _CodecFactory(available)


    def codecs_for_any(self, header: Header) -> Sequence[ChunkCodec]:
        """Codecs for a header from any registered chunk middleware with the right transform —
        what pipeline steps use: the chain was fixed when the stream was created."""
        available: dict[str, ChunkMiddleware] = {}
        for registration in self.resolver.registrations:
            if isinstance(registration.middleware, ChunkMiddleware):
                available.setdefault(registration.middleware.transform, registration.middleware)
        return _CodecFactory(available)(header)

    def stream_plan(
        self, bucket: str, key: str, content_type: str | None, metadata: Mapping[str, str] | None, size: int | None
    ) -> tuple[str, dict[str, str], Header | None]:
        """Content type, stored metadata and framed header (if any) for an object written by the
        chunk pipeline.  Object middleware needs the whole object in order, which a chunked
        stream does not have: it is refused rather than skipped."""
        content_type = content_type or guess_content_type(key)
        op = Operation(Direction.WRITE, bucket, key, content_type, current_context())
        pipeline = self.resolver.resolve(op)
        whole = [r.middleware for r in pipeline if isinstance(r.middleware, ObjectMiddleware)]
        if whole:
            names = ", ".join(type(m).__name__ for m in whole)
            raise UnsupportedCapability("chunk pipeline", f"object middleware ({names}) on streamed objects")
        meta = user_metadata(metadata)
        transforms = [
            r.middleware for r in pipeline if isinstance(r.middleware, ChunkMiddleware) and r.middleware.applies_to(op)
        ]
        if not transforms:
            return content_type, meta, None
        meta[FORMAT_KEY] = FRAMED_V1
        if size is not None:
            meta[SIZE_KEY] = str(size)
        return content_type, meta, start_framing(op, transforms, self.chunk_size).header


class _CodecFactory:
    def __init__(self, available: Mapping[str, ChunkMiddleware]) -> None:
        self._available = available

    def __call__(self, header: Header) -> Sequence[ChunkCodec]:
        codecs = []
        for spec in header.chain:
            middleware = self._available.get(spec.name) or _SECRETLESS.get(spec.name)
            if middleware is None:
                raise MissingKey(
                    f"this object was written with the {spec.name!r} transform and no middleware "
                    "able to read it is registered for this bucket and key"
                )
            codecs.append(middleware.start_read(spec.params, header))
        return codecs


def start_framing(op: Operation, transforms: Sequence[ChunkMiddleware], chunk_size: int) -> FrameEncoder:
    """A header and codecs for one new framed object (also used by the distributed pipeline)."""
    header = Header.new(chunk_size, [m.transform for m in transforms])
    started = [m.start_write(op, header) for m in transforms]
    return FrameEncoder(header.with_params([params for _, params in started]), [codec for codec, _ in started])


def _fetcher(driver: Driver, bucket: str, key: str) -> _RangeFetch:
    return _RangeFetch(driver, bucket, key)


class _RangeFetch:
    def __init__(self, driver: Driver, bucket: str, key: str) -> None:
        self._driver = driver
        self._bucket = bucket
        self._key = key

    def __call__(self, offset: int, length: int) -> ByteSource:
        return self._driver.get(self._bucket, self._key, offset=offset, length=length)


def _as_bytes(chunks: Iterator[bytes | memoryview]) -> Iterator[bytes]:
    for chunk in chunks:
        yield chunk if isinstance(chunk, bytes) else bytes(chunk)
