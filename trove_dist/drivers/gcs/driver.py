"""``GCSDriver``: Google Cloud Storage through google-cloud-storage.

Capabilities, all of them GCS's own:

- **range** — a read is one ``alt=media`` GET with an end-inclusive ``Range``, pinned to the
  generation ``head`` saw (``download``);
- **server copy** — ``objects.rewrite``, looped over rewrite tokens, with the destination's
  content type and metadata in the request body;
- **conditional** — generation preconditions: the etag *is* the generation, ``if_match=etag`` is
  ``ifGenerationMatch=etag``, ``if_none_match="*"`` is ``ifGenerationMatch=0``, and
  ``delete_if_match`` is a delete with ``ifGenerationMatch`` (``resources``);
- **multipart** — parts as hidden objects, completed with ``compose`` in a tree of at most 32
  sources per call (``multipart``, ``compose``);
- **presign** — V4 signed URLs, signed locally with a service-account key (``presign``);
- **versioning** — generations: listed, read, deleted and restored by generation (``versions``).

Puts stream: small bodies in one request, larger ones as a resumable upload of ``chunk_size``
chunks, finalised only once the body has ended and verified (``upload``).  Listing uses GCS's
page tokens and ``startOffset`` and still pages correctly against servers that ignore them
(``listing``).  Transient failures are retried under the DSN's ``RetryPolicy`` by the SDK's own
retry hook (``retry``); everything else becomes trove's exceptions (``errors``).
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Self

import requests
from google.api_core import exceptions as api_exceptions

from trove_dist.driver.base import Driver, PutOptions, check_range, guess_content_type
from trove_dist.driver.body import MeteredChunks, PutBody, iter_chunks
from trove_dist.driver.capabilities import MultipartUpload, PartInfo
from trove_dist.driver.dsn import DSN
from trove_dist.driver.listing import listing_scope
from trove_dist.driver.models import BucketInfo, ListPage, ObjectInfo, normalize_metadata
from trove_dist.driver.names import validate_bucket, validate_key, validate_prefix
from trove_dist.driver.reader import ObjectReader
from trove_dist.drivers.gcs import hidden
from trove_dist.drivers.gcs.config import GCSSettings
from trove_dist.drivers.gcs.connection import Connection
from trove_dist.drivers.gcs.credentials import resolve
from trove_dist.drivers.gcs.download import GenerationGone, MediaStream
from trove_dist.drivers.gcs.errors import BACKEND
from trove_dist.drivers.gcs.listing import ListRequest, ServicePage, assemble_page, plan_request, start_state
from trove_dist.drivers.gcs.multipart import MAX_PARTS, CompositeUploads
from trove_dist.drivers.gcs.presign import signed_url
from trove_dist.drivers.gcs.resources import check_user_metadata, encode_metadata, info_from_blob, parse_generation
from trove_dist.drivers.gcs.upload import Uploader
from trove_dist.drivers.gcs.versions import versions_newest_first
from trove_dist.errors import (
    BackendUnavailable,
    BucketAlreadyExists,
    BucketNotEmpty,
    BucketNotFound,
    PreconditionFailed,
    TroveError,
    VersionNotFound,
)

#: How often a read looks again when the generation it found is replaced before its GET.
_READ_ATTEMPTS = 3


class GCSDriver(Driver):
    """Google Cloud Storage (or an emulator of it), opened from ``gcs://?…`` (see ``config``)."""

    schemes = ("gcs",)

    def __init__(self, settings: GCSSettings | None = None, *, http: requests.Session | None = None) -> None:
        """``http`` replaces the session the driver would build from the credentials (a proxy, a
        custom transport); it must then add any authentication itself."""
        self._settings = settings or GCSSettings()
        credentials = resolve(self._settings)
        self._signer = credentials.signer
        self._connection = Connection(self._settings, credentials.requests, credentials.project, http=http)
        self._uploader = Uploader(self._connection)
        self._uploads = CompositeUploads(self._connection, self._uploader)

    @classmethod
    def from_dsn(cls, dsn: DSN) -> Self:
        return cls(GCSSettings.from_dsn(dsn))

    def __repr__(self) -> str:
        return f"<GCSDriver {self._settings.endpoint} project={self._connection.client.project!r}>"

    def _close(self) -> None:
        self._connection.close()

    # ---- buckets ------------------------------------------------------------------------

    def _create_bucket(self, bucket: str, *, exist_ok: bool) -> None:
        def project_missing() -> TroveError:
            return TroveError(f"{BACKEND}: project {self._connection.client.project!r} not found")

        try:
            self._connection.client.create_bucket(
                bucket, timeout=self._connection.timeout, retry=self._connection.retry(f"create bucket {bucket}")
            )
        except api_exceptions.Conflict as exc:
            if exist_ok and self._connection.bucket_exists(bucket):
                return
            raise BucketAlreadyExists(bucket) from exc
        except api_exceptions.NotFound as exc:
            raise project_missing() from exc
        except TroveError:
            raise
        except Exception as exc:
            raise self._connection.error(exc, "create bucket", bucket, not_found=project_missing) from exc

    def _delete_bucket(self, bucket: str) -> None:
        for attempt in range(2):
            try:
                self._connection.bucket(bucket).delete(
                    timeout=self._connection.timeout, retry=self._connection.retry(f"delete bucket {bucket}")
                )
                return
            except api_exceptions.NotFound as exc:
                raise BucketNotFound(bucket) from exc
            except api_exceptions.Conflict as exc:
                # Only the driver's own leftovers (an abandoned multipart upload) may be in the
                # way: the base class has checked that no object of the caller's is.
                if attempt or not self._purge_hidden(bucket):
                    raise BucketNotEmpty(bucket) from exc
            except TroveError:
                raise
            except Exception as exc:
                raise self._connection.error(exc, "delete bucket", bucket) from exc

    def _purge_hidden(self, bucket: str) -> bool:
        """Delete every hidden object of ``bucket``; whether there were any."""
        with self._connection.translated("list", bucket):
            names = [
                blob.name
                for blob in self._connection.client.list_blobs(
                    bucket, prefix=hidden.ROOT, timeout=self._connection.timeout, retry=self._connection.retry("list")
                )
                if hidden.is_hidden(blob.name)
            ]
        for name in names:
            self._delete(bucket, name)
        return bool(names)

    def _list_buckets(self) -> list[BucketInfo]:
        with self._connection.translated("list buckets", ""):
            return [
                BucketInfo(b.name, b.time_created)
                for b in self._connection.client.list_buckets(
                    timeout=self._connection.timeout, retry=self._connection.retry("list buckets")
                )
            ]

    def _bucket_exists(self, bucket: str) -> bool:
        return self._connection.bucket_exists(bucket)

    # ---- objects ------------------------------------------------------------------------

    def _put(self, bucket: str, key: str, body: MeteredChunks, options: PutOptions) -> ObjectInfo:
        check_user_metadata(options.metadata)
        return self._uploader.upload(
            bucket,
            key,
            body,
            content_type=options.content_type,
            metadata=options.metadata,
            if_generation_match=self._write_condition(bucket, key, options.if_match, options.if_none_match),
        )

    def _write_condition(self, bucket: str, key: str, if_match: str | None, if_none_match: str | None) -> int | None:
        """The ``ifGenerationMatch`` a conditional write sends (0: "must not exist")."""
        if if_none_match is not None:
            return 0
        if if_match is None:
            return None
        generation = parse_generation(if_match)
        if generation is None:  # no object has this etag
            if not self._connection.bucket_exists(bucket):
                raise BucketNotFound(bucket)
            raise PreconditionFailed(f"{BACKEND}: {bucket}/{key} does not have etag {if_match!r}")
        return generation

    def _get(self, bucket: str, key: str, offset: int, length: int | None) -> ObjectReader:
        return self._open_reader(bucket, key, offset, length, generation=None)

    def _open_reader(
        self, bucket: str, key: str, offset: int, length: int | None, *, generation: int | None
    ) -> ObjectReader:
        for _ in range(_READ_ATTEMPTS):
            info = self._info(bucket, key, generation)
            count = check_range(info.size, offset, length, f"{bucket}/{key}")
            if count == 0:
                return ObjectReader(info, io.BytesIO(b""), offset=offset, length=0)
            try:
                stream = MediaStream(self._connection, bucket, key, int(info.etag), offset, count)
            except GenerationGone as exc:
                if generation is not None:
                    raise VersionNotFound(bucket, key, str(generation)) from exc
                continue  # replaced between head and GET: read the new generation
            return ObjectReader(info, stream, offset=offset, length=count)
        raise BackendUnavailable(f"{BACKEND}: {bucket}/{key} was replaced {_READ_ATTEMPTS} times while opening it")

    def get_range(self, bucket: str, key: str, offset: int, length: int | None) -> ObjectReader:
        """Fetches only the range (``Range: bytes=offset-end``, end inclusive on the wire)."""
        return self.get(bucket, key, offset=offset, length=length)

    def _head(self, bucket: str, key: str) -> ObjectInfo:
        return self._info(bucket, key, None)

    def _info(self, bucket: str, key: str, generation: int | None) -> ObjectInfo:
        blob = self._connection.blob(bucket, key, generation=generation)

        def version_missing() -> TroveError:
            return VersionNotFound(bucket, key, str(generation))

        with self._connection.translated(
            "head", bucket, key, not_found=version_missing if generation is not None else None
        ):
            blob.reload(timeout=self._connection.timeout, retry=self._connection.retry(f"head {bucket}/{key}"))
        if generation is not None and blob.generation != generation:
            # A server that ignores ``generation`` answers with the live object instead.
            raise version_missing()
        return info_from_blob(bucket, blob, is_latest=blob.time_deleted is None)

    def _delete(self, bucket: str, key: str) -> None:
        try:
            self._connection.blob(bucket, key).delete(
                timeout=self._connection.timeout, retry=self._connection.retry(f"delete {bucket}/{key}")
            )
        except api_exceptions.NotFound as exc:
            if not self._connection.bucket_exists(bucket):
                raise BucketNotFound(bucket) from exc
        except TroveError:
            raise
        except Exception as exc:
            raise self._connection.error(exc, "delete", bucket, key) from exc

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
        state = start_state(start_after, cursor, scope)
        while True:
            request = plan_request(prefix, delimiter, state, max_keys)
            result = assemble_page(
                self._service_page(bucket, request),
                request=request,
                state=state,
                max_keys=max_keys,
                scope=scope,
                has_keys_after=lambda under, after: self._has_keys_after(bucket, under, after),
            )
            if result.page is not None:
                return result.page
            assert result.continue_with is not None
            state = result.continue_with

    def _service_page(self, bucket: str, request: ListRequest) -> ServicePage:
        """One ``objects.list`` call: ``maxResults``, ``pageToken`` and ``startOffset`` as planned."""
        with self._connection.translated("list", bucket):
            iterator = self._connection.client.list_blobs(
                bucket,
                prefix=request.prefix or None,
                delimiter=request.delimiter,
                start_offset=request.start_offset,
                page_token=request.page_token,
                page_size=request.max_results,
                timeout=self._connection.timeout,
                retry=self._connection.retry(f"list {bucket}"),
            )
            page = next(iterator.pages)
            objects = [info_from_blob(bucket, blob) for blob in page]
            return ServicePage(objects, list(page.prefixes), iterator.next_page_token)

    def _has_keys_after(self, bucket: str, prefix: str, after: str) -> bool:
        """Whether a visible key under ``prefix`` sorts after ``after`` (see ``assemble_page``)."""
        with self._connection.translated("list", bucket):
            for blob in self._connection.client.list_blobs(
                bucket,
                prefix=prefix,
                start_offset=after,
                page_size=2,
                timeout=self._connection.timeout,
                retry=self._connection.retry(f"list {bucket}"),
            ):
                if blob.name > after and blob.name.startswith(prefix) and not hidden.is_hidden(blob.name):
                    return True
        return False

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
        """``objects.rewrite`` of the generation ``head`` saw, with the destination's content type
        and metadata sent explicitly (the source's, unless replaced); the checksum stays, since
        the bytes do."""
        self._check_open()
        self._validate(src_bucket, src_key)
        self._validate(dst_bucket, dst_key)
        replacement = normalize_metadata(metadata) if metadata is not None else None
        if replacement is not None:
            check_user_metadata(replacement)
        source = self._info(src_bucket, src_key, None)
        return self._rewrite(source, dst_bucket, dst_key, replacement, content_type)

    def _rewrite(
        self,
        source: ObjectInfo,
        dst_bucket: str,
        dst_key: str,
        metadata: Mapping[str, str] | None,
        content_type: str | None,
    ) -> ObjectInfo:
        destination = self._connection.blob(dst_bucket, dst_key)
        destination.content_type = content_type or source.content_type
        destination.metadata = encode_metadata(source.metadata if metadata is None else metadata, source.checksum)
        source_blob = self._connection.blob(source.bucket, source.key, generation=int(source.etag))

        def missing() -> TroveError:
            if not self._connection.bucket_exists(dst_bucket):
                return BucketNotFound(dst_bucket)
            return self._connection.missing(source.bucket, source.key)

        retry = self._connection.retry(f"copy {source.bucket}/{source.key} to {dst_bucket}/{dst_key}")
        token: str | None = None
        try:
            while True:
                token, _, _ = destination.rewrite(
                    source_blob, token=token, timeout=self._connection.timeout, retry=retry
                )
                if token is None:
                    break
        except TroveError:
            raise
        except Exception as exc:
            raise self._connection.error(exc, "copy", dst_bucket, dst_key, not_found=missing) from exc
        return info_from_blob(dst_bucket, destination)

    # ---- ConditionalDriver ----------------------------------------------------------------

    def delete_if_match(self, bucket: str, key: str, etag: str) -> None:
        """A delete with ``ifGenerationMatch=etag``: atomic at GCS."""
        self._check_open()
        self._validate(bucket, key)
        generation = parse_generation(etag)

        def absent() -> TroveError:
            return PreconditionFailed(f"{BACKEND}: {bucket}/{key} does not exist (delete_if_match={etag!r})")

        if generation is None:
            raise self._connection.missing(bucket, key, absent)
        with self._connection.translated("delete", bucket, key, not_found=absent):
            self._connection.blob(bucket, key).delete(
                if_generation_match=generation,
                timeout=self._connection.timeout,
                retry=self._connection.retry(f"delete {bucket}/{key}"),
            )

    # ---- PresignDriver --------------------------------------------------------------------

    def presign_get(self, bucket: str, key: str, expires: timedelta) -> str:
        self._check_open()
        self._validate(bucket, key)
        return signed_url(
            self._connection.blob(bucket, key), self._signer, self._settings.endpoint, method="GET", expires=expires
        )

    def presign_put(self, bucket: str, key: str, expires: timedelta, content_type: str | None = None) -> str:
        self._check_open()
        self._validate(bucket, key)
        return signed_url(
            self._connection.blob(bucket, key),
            self._signer,
            self._settings.endpoint,
            method="PUT",
            expires=expires,
            content_type=content_type,
        )

    # ---- VersioningDriver -----------------------------------------------------------------

    def set_versioning(self, bucket: str, enabled: bool) -> None:
        self._check_open()
        handle = self._connection.bucket(validate_bucket(bucket))
        handle.versioning_enabled = bool(enabled)
        with self._connection.translated("set versioning of", bucket):
            handle.patch(timeout=self._connection.timeout, retry=self._connection.retry(f"set versioning of {bucket}"))

    def get_versioning(self, bucket: str) -> bool:
        self._check_open()
        handle = self._connection.bucket(validate_bucket(bucket))
        with self._connection.translated("get versioning of", bucket):
            handle.reload(timeout=self._connection.timeout, retry=self._connection.retry(f"get versioning of {bucket}"))
        return bool(handle.versioning_enabled)

    def list_versions(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every generation under ``prefix``: by key, newest first (``versions``)."""
        self._check_open()
        validate_bucket(bucket)
        validate_prefix(prefix)
        return self._versions(bucket, prefix)

    def _versions(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        with self._connection.translated("list versions of", bucket):
            blobs = self._connection.client.list_blobs(
                bucket,
                prefix=prefix or None,
                versions=True,
                timeout=self._connection.timeout,
                retry=self._connection.retry(f"list versions of {bucket}"),
            )
            yield from versions_newest_first(bucket, blobs)

    def get_version(self, bucket: str, key: str, version_id: str) -> ObjectReader:
        self._check_open()
        self._validate(bucket, key)
        return self._open_reader(bucket, key, 0, None, generation=self._generation(bucket, key, version_id))

    def delete_version(self, bucket: str, key: str, version_id: str) -> None:
        """Delete one generation for good; deleting one that is already gone is not an error."""
        self._check_open()
        self._validate(bucket, key)
        generation = self._generation(bucket, key, version_id)
        try:
            self._connection.blob(bucket, key, generation=generation).delete(
                timeout=self._connection.timeout, retry=self._connection.retry(f"delete a version of {bucket}/{key}")
            )
        except api_exceptions.NotFound as exc:
            if not self._connection.bucket_exists(bucket):
                raise BucketNotFound(bucket) from exc
        except TroveError:
            raise
        except Exception as exc:
            raise self._connection.error(exc, "delete a version of", bucket, key) from exc

    def restore_version(self, bucket: str, key: str, version_id: str) -> ObjectInfo:
        """Make a copy of generation ``version_id`` the live object (a new generation)."""
        self._check_open()
        self._validate(bucket, key)
        source = self._info(bucket, key, self._generation(bucket, key, version_id))
        return self._rewrite(source, bucket, key, None, None)

    def _generation(self, bucket: str, key: str, version_id: str) -> int:
        generation = parse_generation(version_id)
        if generation is None:
            raise self._connection.missing(bucket, key, lambda: VersionNotFound(bucket, key, str(version_id)))
        return generation

    # ---- MultipartDriver ------------------------------------------------------------------

    def initiate_multipart(
        self, bucket: str, key: str, *, content_type: str | None = None, metadata: dict[str, str] | None = None
    ) -> str:
        self._check_open()
        self._validate(bucket, key)
        normalized = normalize_metadata(metadata)
        check_user_metadata(normalized)
        return self._uploads.initiate(bucket, key, content_type or guess_content_type(key), normalized)

    def upload_part(self, bucket: str, key: str, upload_id: str, part_number: int, data: PutBody) -> PartInfo:
        self._check_open()
        self._validate(bucket, key)
        if isinstance(part_number, bool) or not isinstance(part_number, int) or not 1 <= part_number <= MAX_PARTS:
            raise ValueError(f"part numbers run from 1 to {MAX_PARTS}, not {part_number!r}")
        body = MeteredChunks(iter_chunks(data))
        return self._uploads.upload_part(bucket, key, upload_id, part_number, body)

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
        self._check_open()
        self._validate(bucket, key)
        if if_none_match is not None and if_none_match != "*":
            raise ValueError('if_none_match only accepts "*" (write only if the key is absent)')
        condition = self._write_condition(bucket, key, if_match, if_none_match)
        return self._uploads.complete(bucket, key, upload_id, parts, condition)

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        self._check_open()
        self._validate(bucket, key)
        self._uploads.abort(bucket, key, upload_id)

    def list_multipart_uploads(self, bucket: str, prefix: str = "") -> list[MultipartUpload]:
        self._check_open()
        validate_bucket(bucket)
        validate_prefix(prefix)
        return self._uploads.list_uploads(bucket, prefix)

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo]:
        self._check_open()
        self._validate(bucket, key)
        return self._uploads.list_parts(bucket, key, upload_id)

    # ---- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _validate(bucket: str, key: str) -> None:
        validate_bucket(bucket)
        validate_key(key)

