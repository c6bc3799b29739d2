"""Streaming put: one PutObject for a small body, a multipart upload for anything larger.

**Small bodies** (up to ``multipart_threshold``) are buffered whole, so that their checksum is
known before the single PutObject that stores content, metadata and checksum together.

**Larger bodies** stream as parts, a bounded number of bytes in flight (``concurrency`` parts of
the base size), through the driver's pool.  Nothing is visible until CompleteMultipartUpload,
which carries the caller's ``If-Match`` / ``If-None-Match`` so that the compare-and-swap is the
same atomic step that publishes the object.  Any failure before that — the body raising, a
checksum mismatch raised by the body at its end, a part refused, a failed precondition — aborts
the upload, leaving neither a visible object nor billed parts.

**Where the checksum of a multipart body goes.**  S3 takes metadata only at
CreateMultipartUpload, before the first byte — but trove's checksum (sha256, blake3 or xxh3; S3
computes none of them) is known only after the last one.  The options, weighed:

- *Spool to local disk, hash, then upload*: atomic and one write, but needs free disk the size
  of the object on every writer and delays the upload until the source is read; a 5 TiB
  migration worker cannot promise that.
- *Pre-hash a seekable source*: reads the source twice, and is impossible for the streams this
  layer receives (the body arrives as an iterator).
- *Object tagging*: a separate, non-atomic request; tags are not returned by HEAD or GET (one
  more request per read) nor by listings, and are limited to 10 per object.
- *Copy in place with REPLACE metadata after completion* (chosen): S3 rewrites the object's
  metadata server-side — no byte passes through this process — as a CopyObject (UploadPartCopy
  above ``copy_threshold``).  It is made safe against concurrent writers by conditions on both
  ends: the copy reads the source only if it still has the etag our completion produced
  (``CopySourceIfMatch``) and replaces the destination only if it still has it (``If-Match``),
  so a writer who replaced the object in between is never stamped with our checksum (we then
  report the checksum in our result, as it describes what we wrote, but it is stored nowhere).

The costs of the choice, accepted: for the moment between completion and the copy the object
is readable without a stored checksum (complete and correct content; ``checksum=None`` means
"unknown", which verifying readers skip rather than fail); in a versioned bucket the put leaves
two versions with the same content, the first without the checksum; and S3 copies the object
once more internally.  A put with no checksum requested, or any body up to the threshold, pays
none of this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from trove_dist.driver.base import PutOptions
from trove_dist.driver.body import MeteredChunks
from trove_dist.driver.capabilities import PartInfo
from trove_dist.driver.models import ObjectInfo
from trove_dist.drivers.s3 import multipart
from trove_dist.drivers.s3.api import S3Api
from trove_dist.drivers.s3.copy import Copier, Source
from trove_dist.drivers.s3.errors import Target
from trove_dist.drivers.s3.metadata import encode_metadata, quote_etag, response_date, unquote_etag
from trove_dist.drivers.s3.parts import PartSizer
from trove_dist.drivers.s3.workers import BufferPool, Window, Workers
from trove_dist.errors import ObjectNotFound, PreconditionFailed


@dataclass(frozen=True, slots=True)
class Uploader:
    api: S3Api
    workers: Workers
    copier: Copier
    multipart_threshold: int
    part_size: int
    concurrency: int

    def put(self, bucket: str, key: str, body: MeteredChunks, options: PutOptions) -> ObjectInfo:
        encode_metadata(options.metadata, None)  # refuse a reserved name before reading the body
        sizer = PartSizer(self.part_size, options.size_hint)
        # parts in flight, one being filled, and enough to look past the threshold
        buffers = BufferPool(max(self.concurrency, -(-(self.multipart_threshold + 1) // sizer.base)) + 1)
        parts = _assemble(body, sizer, buffers.take)
        # Cut the body into parts from the start, looking ahead only until it is known to be
        # over the threshold: the buffers read ahead are the first parts, never copied again.
        ahead: list[tuple[int, bytearray]] = []
        buffered = 0
        for part in parts:
            ahead.append(part)
            buffered += len(part[1])
            if buffered > self.multipart_threshold:
                return self._put_parts(bucket, key, _replay(ahead, parts), buffers, sizer, body, options)
        whole = ahead[0][1] if len(ahead) == 1 else bytearray().join(p for _, p in ahead)
        return self._put_object(bucket, key, whole, body, options)

    def _put_object(
        self, bucket: str, key: str, data: bytearray, body: MeteredChunks, options: PutOptions
    ) -> ObjectInfo:
        params: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "Body": data,
            "ContentLength": len(data),
            "ContentType": options.content_type,
            "Metadata": encode_metadata(options.metadata, body.checksum),
        }
        if options.if_match is not None:
            params["IfMatch"] = quote_etag(options.if_match)
        if options.if_none_match is not None:
            params["IfNoneMatch"] = options.if_none_match
        try:
            response = self.api.call("put_object", Target(bucket, key), **params)
        except ObjectNotFound as exc:  # S3 answers If-Match on a missing key with 404
            raise PreconditionFailed(f"s3: {bucket}/{key} does not exist (if_match={options.if_match})") from exc
        return self._info(bucket, key, len(data), response, options, body)

    def _put_parts(
        self,
        bucket: str,
        key: str,
        parts: Iterator[tuple[int, bytearray]],
        buffers: BufferPool,
        sizer: PartSizer,
        body: MeteredChunks,
        options: PutOptions,
    ) -> ObjectInfo:
        metadata = encode_metadata(options.metadata, None)
        upload_id = multipart.create(self.api, bucket, key, options.content_type, metadata, part_checksums=True)
        window: Window[PartInfo] = Window(self.workers, budget=self.concurrency * sizer.base)
        try:
            for number, part in parts:

                def send(number: int = number, part: bytearray = part) -> PartInfo:
                    try:
                        return multipart.upload_part(
                            self.api, bucket, key, upload_id, number, part, len(part), checksum=True
                        )
                    finally:
                        buffers.give(part)

                window.submit(send, weight=len(part))
            sent = sorted(window.drain(), key=lambda p: p.part_number)
            response = multipart.complete(
                self.api,
                bucket,
                key,
                upload_id,
                sent,
                if_match=options.if_match,
                if_none_match=options.if_none_match,
            )
        except BaseException as failure:
            window.cancel()
            multipart.abort_after_failure(self.api, bucket, key, upload_id, failure)
            raise
        info = self._info(bucket, key, body.size, response, options, body)
        return info if info.checksum is None else self._stamp(info)

    def _stamp(self, info: ObjectInfo) -> ObjectInfo:
        """Store the checksum on the object just completed (see the module docstring)."""
        source = Source(info.bucket, info.key, info.etag, info.size)
        try:
            written = self.copier.copy(
                source,
                info.bucket,
                info.key,
                content_type=info.content_type,
                metadata=encode_metadata(info.metadata, info.checksum),
                if_match=info.etag,
            )
        except (PreconditionFailed, ObjectNotFound):
            return info  # replaced or deleted by another writer meanwhile: theirs stays untouched
        return replace(
            info,
            etag=written.etag,
            version_id=written.version_id or info.version_id,
            last_modified=response_date(written.response),
        )

    @staticmethod
    def _info(
        bucket: str, key: str, size: int, response: dict[str, Any], options: PutOptions, body: MeteredChunks
    ) -> ObjectInfo:
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=size,
            etag=unquote_etag(response["ETag"]),
            last_modified=response_date(response),
            content_type=options.content_type,
            metadata=MappingProxyType(dict(options.metadata)),
            version_id=response.get("VersionId"),
            storage_class="STANDARD",
            checksum=body.checksum,
        )


def _replay(
    ahead: list[tuple[int, bytearray]], rest: Iterator[tuple[int, bytearray]]
) -> Iterator[tuple[int, bytearray]]:
    """The parts read ahead, then the rest; each part is let go of as soon as it is handed on."""
    while ahead:
        yield ahead.pop(0)
    yield from rest


def _assemble(
    pieces: Iterable[bytes | bytearray | memoryview], sizer: PartSizer, take: Callable[[int], bytearray]
) -> Iterator[tuple[int, bytearray]]:
    """Cut a stream of pieces of any size into numbered parts of the sizes ``sizer`` plans.

    Each part is a buffer from ``take`` (the pieces may be views of the caller's memory, which
    must not be held on to), filled by one copy; a buffer is taken only once a byte for it
    has arrived, so a body ending on a part boundary takes none in vain.
    """
    number = 1
    part: bytearray | None = None
    filled = 0
    for piece in pieces:
        view = memoryview(piece)
        offset = 0
        while offset < len(view):
            if part is None:
                part = take(sizer.size_of(number))
                filled = 0
            n = min(len(part) - filled, len(view) - offset)
            part[filled : filled + n] = view[offset : offset + n]
            filled += n
            offset += n
            if filled == len(part):
                yield number, part
                number += 1
                part = None
        del view
    if part is not None:
        del part[filled:]
        yield number, part
