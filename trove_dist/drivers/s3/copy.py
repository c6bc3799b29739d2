"""Copies inside S3: CopyObject up to the copy threshold, UploadPartCopy above it.

CopyObject stops at 5 GiB; beyond that the copy is a multipart upload whose parts are ranges of
the source copied by S3 itself (no byte passes through this process), a few at a time.  Every
part is pinned to the source's etag, so a source overwritten mid-copy fails the copy instead of
producing a mixture of two versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trove_dist.driver.capabilities import PartInfo
from trove_dist.drivers.s3 import multipart
from trove_dist.drivers.s3.api import Response, S3Api
from trove_dist.drivers.s3.errors import Target
from trove_dist.drivers.s3.metadata import quote_etag, unquote_etag
from trove_dist.drivers.s3.parts import PartSizer
from trove_dist.drivers.s3.workers import Window, Workers


@dataclass(frozen=True, slots=True)
class Source:
    """One version of one object, as a copy reads it."""

    bucket: str
    key: str
    etag: str
    size: int
    version_id: str | None = None

    def as_param(self) -> dict[str, str]:
        param = {"Bucket": self.bucket, "Key": self.key}
        if self.version_id is not None:
            param["VersionId"] = self.version_id
        return param


@dataclass(frozen=True, slots=True)
class Written:
    """What S3 says about the object a copy wrote."""

    etag: str
    version_id: str | None
    response: Response


@dataclass(frozen=True, slots=True)
class Copier:
    api: S3Api
    workers: Workers
    copy_threshold: int
    part_size: int
    concurrency: int

    def copy(
        self,
        source: Source,
        bucket: str,
        key: str,
        *,
        content_type: str,
        metadata: dict[str, str],
        keep_source_headers: bool = False,
        if_match: str | None = None,
    ) -> Written:
        """Copy ``source`` to ``bucket/key`` with ``content_type`` and (encoded) ``metadata``.

        ``keep_source_headers`` asks S3 to copy the source's headers as they are (the COPY
        directive: also Cache-Control, Content-Encoding …, which trove does not model); only a
        single CopyObject can, so above the threshold the given values are written instead —
        callers pass the source's own.  ``if_match`` makes the write conditional on the
        destination's current etag.
        """
        if source.size <= self.copy_threshold:
            keep = None if keep_source_headers else metadata
            return self._copy_object(source, bucket, key, content_type, keep, if_match)
        return self._copy_parts(source, bucket, key, content_type, metadata, if_match)

    def _copy_object(
        self,
        source: Source,
        bucket: str,
        key: str,
        content_type: str,
        metadata: dict[str, str] | None,
        if_match: str | None,
    ) -> Written:
        params: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "CopySource": source.as_param(),
            "CopySourceIfMatch": quote_etag(source.etag),
        }
        if metadata is None:
            params["MetadataDirective"] = "COPY"
        else:
            params.update(MetadataDirective="REPLACE", Metadata=metadata, ContentType=content_type)
        if if_match is not None:
            params["IfMatch"] = quote_etag(if_match)
        response = self.api.call("copy_object", Target(bucket, key), **params)
        return Written(unquote_etag(response["CopyObjectResult"]["ETag"]), response.get("VersionId"), response)

    def _copy_parts(
        self,
        source: Source,
        bucket: str,
        key: str,
        content_type: str,
        metadata: dict[str, str],
        if_match: str | None,
    ) -> Written:
        sizer = PartSizer(self.part_size, source.size)
        upload_id = multipart.create(self.api, bucket, key, content_type, metadata)
        window: Window[PartInfo] = Window(self.workers, self.concurrency)
        try:
            first, number = 0, 1
            while first < source.size:
                last = min(first + sizer.size_of(number), source.size) - 1

                def copy_one(number: int = number, first: int = first, last: int = last) -> PartInfo:
                    return multipart.copy_part(
                        self.api, bucket, key, upload_id, number, source.as_param(), source.etag, first, last
                    )

                window.submit(copy_one, weight=1)
                first, number = last + 1, number + 1
            parts = sorted(window.drain(), key=lambda p: p.part_number)
            response = multipart.complete(self.api, bucket, key, upload_id, parts, if_match=if_match)
        except BaseException as failure:
            window.cancel()
            multipart.abort_after_failure(self.api, bucket, key, upload_id, failure)
            raise
        return Written(unquote_etag(response["ETag"]), response.get("VersionId"), response)
