"""``S3Driver``: Amazon S3 and S3-compatible stores, through boto3.

Every capability S3 has is implemented: multipart uploads with durable ids, presigned URLs,
versioning, ranged reads, server-side copy (multipart above the copy threshold), conditional
writes (on PutObject, CompleteMultipartUpload and DeleteObject) and lifecycle rules.  S3 has
event notifications, but only pushed to queues and functions it is configured with; there is
nothing a client can watch, so ``NotificationDriver`` is absent.

How a body is written, and where its checksum is stored, is explained in ``upload``; requests,
retries and error translation in ``api`` and ``errors``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Self

from trove_dist.driver.base import Driver, PutOptions, check_range, guess_content_type
from trove_dist.driver.body import MeteredChunks, PutBody, iter_chunks, known_size
from trove_dist.driver.capabilities import LifecycleRule, MultipartUpload, PartInfo
from trove_dist.driver.dsn import DSN
from trove_dist.driver.models import BucketInfo, ListPage, ObjectInfo, normalize_metadata
from trove_dist.driver.names import validate_bucket, validate_key, validate_prefix
from trove_dist.driver.reader import ObjectReader
from trove_dist.driver.retry import RetryPolicy
from trove_dist.drivers.s3 import lifecycle, listing, multipart
from trove_dist.drivers.s3.api import Response, S3Api, make_client
from trove_dist.drivers.s3.copy import Copier, Source
from trove_dist.drivers.s3.errors import ConfigurationNotFound, Target, error_code
from trove_dist.drivers.s3.metadata import encode_metadata, info_from_response, quote_etag, response_date
from trove_dist.drivers.s3.reading import ResumingBody
from trove_dist.drivers.s3.settings import MAX_PART_SIZE, MIN_PART_SIZE, Addressing, S3Settings
from trove_dist.drivers.s3.upload import Uploader
from trove_dist.drivers.s3.workers import Workers
from trove_dist.errors import (
    BucketAlreadyExists,
    BucketNotFound,
    InvalidRange,
    ObjectNotFound,
    PreconditionFailed,
    TroveError,
    VersionNotFound,
)

_DEFAULTS = S3Settings()
#: SigV4 presigned URLs live at most a week.
MAX_PRESIGN_EXPIRY = timedelta(days=7)


class S3Driver(Driver):
    schemes = ("s3",)
    #: Every part of a multipart upload but the last must be at least this big; the stream
    #: engine groups small (compressed) frames into parts of at least this size.
    min_part_size = MIN_PART_SIZE

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        session_token: str | None = None,
        addressing: Addressing = _DEFAULTS.addressing,
        multipart_threshold: int = _DEFAULTS.multipart_threshold,
        part_size: int = _DEFAULTS.part_size,
        concurrency: int = _DEFAULTS.concurrency,
        copy_threshold: int = _DEFAULTS.copy_threshold,
        connect_timeout: float = _DEFAULTS.connect_timeout,
        read_timeout: float = _DEFAULTS.read_timeout,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Open a driver for AWS (no ``endpoint_url``) or an S3-compatible endpoint.

        ``copy_threshold`` is where server-side copies switch from CopyObject to UploadPartCopy
        (S3's limit for CopyObject is 5 GiB, the default).
        """
        self.settings = S3Settings(
            endpoint_url=endpoint_url,
            region=region,
            access_key=access_key,
            secret_key=secret_key,
            session_token=session_token,
            addressing=addressing,
            multipart_threshold=multipart_threshold,
            part_size=part_size,
            concurrency=concurrency,
            copy_threshold=copy_threshold,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retry=retry or RetryPolicy(),
        )
        self._api = S3Api(make_client(self.settings), self.settings.retry)
        self._region: str = self._api.client.meta.region_name
        self._workers = Workers(concurrency, "s3")
        self._copier = Copier(self._api, self._workers, copy_threshold, part_size, concurrency)
        self._uploader = Uploader(self._api, self._workers, self._copier, multipart_threshold, part_size, concurrency)

    @classmethod
    def from_dsn(cls, dsn: DSN) -> Self:
        s = S3Settings.from_dsn(dsn)
        return cls(
            endpoint_url=s.endpoint_url,
            region=s.region,
            access_key=s.access_key,
            secret_key=s.secret_key,
            session_token=s.session_token,
            addressing=s.addressing,
            multipart_threshold=s.multipart_threshold,
            part_size=s.part_size,
            concurrency=s.concurrency,
            copy_threshold=s.copy_threshold,
            connect_timeout=s.connect_timeout,
            read_timeout=s.read_timeout,
            retry=s.retry,
        )

    @property
    def client(self) -> Any:
        """The boto3 S3 client underneath, for what the driver does not cover (bucket policies,
        tagging …).  Its requests bypass the driver's retries and error translation."""
        return self._api.client

    def __repr__(self) -> str:
        return f"<S3Driver {self.settings.endpoint_url or 'aws'} region={self._region}>"

    def _close(self) -> None:
        self._workers.close()
        self._api.close()

    def _ping(self) -> None:
        self._api.call("list_buckets", Target(), MaxBuckets=1)

    # ---- buckets ------------------------------------------------------------------------

    def _create_bucket(self, bucket: str, *, exist_ok: bool) -> None:
        # Elsewhere S3 refuses to re-create a bucket one owns (BucketAlreadyOwnedByYou), which
        # makes creation exclusive; us-east-1 answers 200 instead, so there the driver asks
        # first — exclusive against anything but a create racing in between.
        if not exist_ok and self._region == "us-east-1" and self._bucket_exists(bucket):
            raise BucketAlreadyExists(bucket)
        params: dict[str, Any] = {"Bucket": bucket}
        if self._region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
        try:
            self._api.call("create_bucket", Target(bucket), **params)
        except BucketAlreadyExists as exc:
            if exist_ok and error_code(exc.__cause__ or exc) == "BucketAlreadyOwnedByYou":
                return
            raise

    def _delete_bucket(self, bucket: str) -> None:
        self._api.call("delete_bucket", Target(bucket), Bucket=bucket)

    def _list_buckets(self) -> list[BucketInfo]:
        buckets: list[BucketInfo] = []
        params: dict[str, Any] = {}
        while True:
            response = self._api.call("list_buckets", Target(), **params)
            buckets += [BucketInfo(str(b["Name"]), b.get("CreationDate")) for b in response.get("Buckets", [])]
            token = response.get("ContinuationToken")
            if not token:
                return buckets
            params["ContinuationToken"] = token

    def _bucket_exists(self, bucket: str) -> bool:
        try:
            self._api.call("head_bucket", Target(bucket), Bucket=bucket)
        except BucketNotFound:
            return False
        return True

    # ---- objects ------------------------------------------------------------------------

    def _put(self, bucket: str, key: str, body: MeteredChunks, options: PutOptions) -> ObjectInfo:
        return self._uploader.put(bucket, key, body, options)

    def _get(self, bucket: str, key: str, offset: int, length: int | None) -> ObjectReader:
        return self._open(bucket, key, offset, length, version_id=None)

    def _open(self, bucket: str, key: str, offset: int, length: int | None, version_id: str | None) -> ObjectReader:
        """Stream bytes ``offset..offset+length`` of an object (or of one version), asking S3
        for that range only."""
        target = Target(bucket, key, version_id=version_id)
        base: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id is not None:
            base["VersionId"] = version_id
        if length == 0:  # no byte range can say "nothing": look the object up instead
            info = self._head_info(target, base)
            check_range(info.size, offset, 0, f"{bucket}/{key}")
            return ObjectReader(info, io.BytesIO(b""), offset=offset, length=0)
        params = dict(base)
        if offset or length is not None:
            params["Range"] = f"bytes={offset}-" + ("" if length is None else str(offset + length - 1))
        try:
            response = self._api.call("get_object", target, **params)
        except InvalidRange:
            if offset:
                raise
            info = self._head_info(target, base)  # S3 refuses any range of an empty object
            if info.size:
                raise
            return ObjectReader(info, io.BytesIO(b""), offset=0, length=0)
        if "Range" in params and not response.get("ContentRange"):
            response["Body"].close()
            raise TroveError(f"s3: the endpoint ignored the Range of a GET of {bucket}/{key}: it cannot serve ranges")
        count = int(response["ContentLength"])
        info = info_from_response(bucket, key, response, _total_size(response))

        def reopen(position: int) -> Any:
            again = self._api.client.get_object(
                **base, Range=f"bytes={position}-{offset + count - 1}", IfMatch=quote_etag(info.etag)
            )
            return again["Body"]

        body = ResumingBody(self._api, target, response["Body"], offset, offset + count, reopen)
        return ObjectReader(info, body, offset=offset, length=count)

    def _head(self, bucket: str, key: str) -> ObjectInfo:
        return self._head_info(Target(bucket, key), {"Bucket": bucket, "Key": key})

    def _head_info(self, target: Target, params: dict[str, Any]) -> ObjectInfo:
        try:
            response = self._api.call("head_object", target, **params)
        except (ObjectNotFound, VersionNotFound):
            # HEAD answers carry no error code: a 404 may mean the bucket is missing
            if target.bucket is not None and not self._bucket_exists(target.bucket):
                raise BucketNotFound(target.bucket) from None
            raise
        return info_from_response(str(target.bucket), str(target.key), response, int(response["ContentLength"]))

    def _delete(self, bucket: str, key: str) -> None:
        self._api.call("delete_object", Target(bucket, key), Bucket=bucket, Key=key)

    def _list(
        self,
        bucket: str,
        prefix: str,
        delimiter: str | None,
        start_after: str | None,
        max_keys: int,
        cursor: str | None,
    ) -> ListPage:
        return listing.list_page(self._api, bucket, prefix, delimiter, start_after, max_keys, cursor)

    # ---- RangeDriver ----------------------------------------------------------------------

    def get_range(self, bucket: str, key: str, offset: int, length: int | None) -> ObjectReader:
        """Only the range travels: the request carries a ``Range`` header."""
        return self.get(bucket, key, offset=offset, length=length)

    # ---- ConditionalDriver ----------------------------------------------------------------

    def delete_if_match(self, bucket: str, key: str, etag: str) -> None:
        self._ready(bucket, key)
        try:
            self._api.call("delete_object", Target(bucket, key), Bucket=bucket, Key=key, IfMatch=quote_etag(etag))
        except ObjectNotFound as exc:
            raise PreconditionFailed(f"s3: {bucket}/{key} does not exist (if_match={etag})") from exc

    # ---- ServerCopyDriver -----------------------------------------------------------------

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
        """Copy inside S3 (CopyObject, or UploadPartCopy above the copy threshold).

        The source is looked up first: its metadata and checksum are re-sent when anything is
        replaced, and the copy is pinned to the version and etag that lookup saw.
        """
        self._ready(src_bucket, src_key)
        self._ready(dst_bucket, dst_key)
        new_metadata = normalize_metadata(metadata) if metadata is not None else None
        source = self._head(src_bucket, src_key)
        onto_itself = (src_bucket, src_key) == (dst_bucket, dst_key)
        user_metadata = dict(source.metadata) if new_metadata is None else new_metadata
        try:
            written = self._copier.copy(
                Source(src_bucket, src_key, source.etag, source.size, source.version_id),
                dst_bucket,
                dst_key,
                content_type=content_type or source.content_type,
                metadata=encode_metadata(user_metadata, source.checksum),
                # S3 refuses to copy an object onto itself without changing something
                keep_source_headers=new_metadata is None and content_type is None and not onto_itself,
            )
        except BucketNotFound as exc:  # the source was just found, so the destination is missing
            raise BucketNotFound(dst_bucket) from exc
        return replace(
            source,
            bucket=dst_bucket,
            key=dst_key,
            etag=written.etag,
            version_id=written.version_id,
            last_modified=_copy_time(written.response),
            content_type=content_type or source.content_type,
            metadata=MappingProxyType(user_metadata),
        )

    # ---- PresignDriver --------------------------------------------------------------------

    def presign_get(self, bucket: str, key: str, expires: timedelta) -> str:
        self._ready(bucket, key)
        return self._presign("get_object", {"Bucket": bucket, "Key": key}, expires)

    def presign_put(self, bucket: str, key: str, expires: timedelta, content_type: str | None = None) -> str:
        """A URL for one PUT of the object's bytes; with ``content_type``, the uploader must
        send exactly that ``Content-Type`` (it is part of the signature)."""
        self._ready(bucket, key)
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if content_type is not None:
            params["ContentType"] = content_type
        return self._presign("put_object", params, expires)

    def _presign(self, operation: str, params: dict[str, Any], expires: timedelta) -> str:
        if not timedelta(seconds=1) <= expires <= MAX_PRESIGN_EXPIRY:
            raise ValueError(f"a presigned URL expires after 1 second to 7 days, not {expires}")
        target = Target(params["Bucket"], params["Key"])
        url: str = self._api.run(
            f"presign {operation}",
            target,
            lambda: self._api.client.generate_presigned_url(
                operation, Params=params, ExpiresIn=int(expires.total_seconds())
            ),
        )
        return url

    # ---- VersioningDriver -----------------------------------------------------------------

    def set_versioning(self, bucket: str, enabled: bool) -> None:
        """Enable versioning, or suspend it (S3 never turns it back off: versions stay)."""
        self._ready(bucket)
        self._api.call(
            "put_bucket_versioning",
            Target(bucket),
            Bucket=bucket,
            VersioningConfiguration={"Status": "Enabled" if enabled else "Suspended"},
        )

    def get_versioning(self, bucket: str) -> bool:
        self._ready(bucket)
        return self._api.call("get_bucket_versioning", Target(bucket), Bucket=bucket).get("Status") == "Enabled"

    def list_versions(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every version and delete marker (``is_delete_marker``), keys in order, newest first."""
        self._ready(bucket)
        validate_prefix(prefix)
        return listing.iter_versions(self._api, bucket, prefix)

    def get_version(self, bucket: str, key: str, version_id: str) -> ObjectReader:
        self._ready(bucket, key)
        return self._open(bucket, key, 0, None, version_id=_version(version_id))

    def delete_version(self, bucket: str, key: str, version_id: str) -> None:
        """Remove one version for good (deleting a delete marker brings the object back)."""
        self._ready(bucket, key)
        self._api.call(
            "delete_object",
            Target(bucket, key, version_id=version_id),
            Bucket=bucket,
            Key=key,
            VersionId=_version(version_id),
        )

    def restore_version(self, bucket: str, key: str, version_id: str) -> ObjectInfo:
        """Make an earlier version current again by copying it over the key (a new version with
        its content, metadata and checksum); the history is kept."""
        self._ready(bucket, key)
        target = Target(bucket, key, version_id=_version(version_id))
        # a delete marker has nothing to restore: ObjectNotFound (delete_version it instead)
        old = self._head_info(target, {"Bucket": bucket, "Key": key, "VersionId": version_id})
        written = self._copier.copy(
            Source(bucket, key, old.etag, old.size, version_id),
            bucket,
            key,
            content_type=old.content_type,
            metadata=encode_metadata(old.metadata, old.checksum),
            keep_source_headers=True,
        )
        return replace(
            old, etag=written.etag, version_id=written.version_id, last_modified=_copy_time(written.response)
        )

    # ---- LifecycleDriver ------------------------------------------------------------------

    def get_lifecycle(self, bucket: str) -> list[LifecycleRule]:
        self._ready(bucket)
        try:
            response = self._api.call("get_bucket_lifecycle_configuration", Target(bucket), Bucket=bucket)
        except ConfigurationNotFound:
            return []
        return lifecycle.from_s3(response.get("Rules", []))

    def set_lifecycle(self, bucket: str, rules: Sequence[LifecycleRule]) -> None:
        """Replace the bucket's lifecycle configuration (an empty list removes it)."""
        self._ready(bucket)
        if not rules:
            self._api.call("delete_bucket_lifecycle", Target(bucket), Bucket=bucket)
            return
        self._api.call(
            "put_bucket_lifecycle_configuration",
            Target(bucket),
            Bucket=bucket,
            LifecycleConfiguration=lifecycle.to_s3(rules),
        )

    # ---- MultipartDriver ------------------------------------------------------------------

    def initiate_multipart(
        self, bucket: str, key: str, *, content_type: str | None = None, metadata: dict[str, str] | None = None
    ) -> str:
        """Start an upload; its id is S3's, usable from any process until completed or aborted."""
        self._ready(bucket, key)
        encoded = encode_metadata(normalize_metadata(metadata), None)
        return multipart.create(self._api, bucket, key, content_type or guess_content_type(key), encoded)

    def upload_part(self, bucket: str, key: str, upload_id: str, part_number: int, data: PutBody) -> PartInfo:
        """Send one part (5 MiB to 5 GiB; only the last part of an upload may be smaller).

        A regular file is streamed from its current position; anything else is read into memory
        first, since S3 needs the part's length before its bytes.
        """
        self._ready(bucket, key)
        multipart.check_part_number(part_number)
        size = known_size(data)
        if size is not None and not isinstance(data, (bytes, bytearray, memoryview, io.BytesIO)):
            file: Any = data
            return multipart.upload_part(self._api, bucket, key, upload_id, part_number, file, size)
        buffer = bytearray()
        for chunk in iter_chunks(data):
            buffer += chunk
            if len(buffer) > MAX_PART_SIZE:
                raise ValueError("a part is at most 5 GiB")
        return multipart.upload_part(self._api, bucket, key, upload_id, part_number, buffer, len(buffer))

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
        """Publish the upload atomically; ``if_match`` / ``if_none_match="*"`` make it a
        compare-and-swap, checked by S3 in the same step."""
        self._ready(bucket, key)
        if if_none_match is not None and if_none_match != "*":
            raise ValueError('if_none_match only accepts "*" (write only if the key is absent)')
        response = multipart.complete(
            self._api, bucket, key, upload_id, parts, if_match=if_match, if_none_match=if_none_match
        )
        return self._completed_info(bucket, key, response, parts)

    def _completed_info(self, bucket: str, key: str, response: Response, parts: Sequence[PartInfo]) -> ObjectInfo:
        """The completed object's info: looked up (content type and metadata were given at
        initiation), unless another writer replaced it already."""
        completed = str(response["ETag"]).strip('"')
        try:
            info: ObjectInfo | None = self._head(bucket, key)
        except ObjectNotFound:
            info = None
        if info is not None and info.etag == completed:
            return info
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=sum(p.size for p in parts),
            etag=completed,
            last_modified=response_date(response),
            version_id=response.get("VersionId"),
        )

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        self._ready(bucket, key)
        multipart.abort(self._api, bucket, key, upload_id)

    def list_multipart_uploads(self, bucket: str, prefix: str = "") -> list[MultipartUpload]:
        self._ready(bucket)
        validate_prefix(prefix)
        return multipart.list_uploads(self._api, bucket, prefix)

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo]:
        self._ready(bucket, key)
        return multipart.list_parts(self._api, bucket, key, upload_id)

    # ---- helpers --------------------------------------------------------------------------

    def _ready(self, bucket: str, key: str | None = None) -> None:
        """What the base class does before each hook, for the capability methods it does not
        front: refuse a closed driver and invalid names before any request."""
        self._check_open()
        validate_bucket(bucket)
        if key is not None:
            validate_key(key)


def _total_size(response: Response) -> int:
    """The whole object's size: after the slash of ``Content-Range`` when a range was asked."""
    content_range = response.get("ContentRange")
    if content_range and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        if total.isdigit():
            return int(total)
    return int(response["ContentLength"])


def _copy_time(response: Response) -> datetime:
    """When the copy was written: CopyObject says so; a multipart copy's completion does not."""
    written = (response.get("CopyObjectResult") or {}).get("LastModified")
    return written if isinstance(written, datetime) and written.tzinfo else response_date(response)


def _version(version_id: str) -> str:
    if not isinstance(version_id, str) or not version_id:
        raise ValueError(f"a version id is a non-empty string, not {version_id!r}")
    return version_id
