"""The Azure Blob Storage driver: containers are buckets, block blobs are objects.

Capabilities and why:

* multipart — block lists (``multipart``); range — ranged Get Blob; server copy — Copy Blob;
  conditional writes — If-Match / If-None-Match on Put Blob and Put Block List; presigned URLs
  — service SAS signed with the account key.
* No versioning: Azure turns blob versioning on per *account* through the management plane,
  so a per-bucket ``set_versioning`` cannot be honoured through the data plane (and Azurite,
  the emulator the tests use, has no versioning).  No lifecycle (also a management-plane
  policy) and no notifications (Event Grid, outside the storage API).

Writes are atomic: a body that fits one block goes up as one Put Blob; a larger one is staged
as blocks (``upload``) and becomes visible only when its block list is committed, together
with its metadata and the checksum computed on the way.
"""

from __future__ import annotations

import importlib
import io
import time
import weakref
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Self, cast

import requests
from azure.core import MatchConditions
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import AzureError, HttpResponseError
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import (
    BlobBlock,
    BlobClient,
    BlobProperties,
    BlobSasPermissions,
    BlobServiceClient,
    BlockState,
    ContainerClient,
    ContentSettings,
    generate_blob_sas,
)

from trove_dist.driver.base import Driver, PutOptions, check_range, guess_content_type
from trove_dist.driver.body import MeteredChunks, PutBody
from trove_dist.driver.capabilities import MultipartUpload, PartInfo
from trove_dist.driver.dsn import DSN
from trove_dist.driver.models import BucketInfo, ListPage, ObjectInfo, normalize_metadata
from trove_dist.driver.names import validate_bucket, validate_key, validate_prefix
from trove_dist.driver.reader import ObjectReader
from trove_dist.drivers.azure import multipart
from trove_dist.drivers.azure.blocks import BlockSizer, Manifest, new_token
from trove_dist.drivers.azure.config import MAX_SINGLE_PUT_BYTES, AzureConfig, MiB
from trove_dist.drivers.azure.download import RangedReader
from trove_dist.drivers.azure.errors import AzureRequestFailed, azure_errors, error_code, translate
from trove_dist.drivers.azure.listing import assemble_page, azure_order
from trove_dist.drivers.azure.metadata import (
    aware,
    from_azure,
    info_from_properties,
    quote_etag,
    to_azure,
    unquote_etag,
)
from trove_dist.drivers.azure.names import validate_container
from trove_dist.drivers.azure.retry import TroveRetry
from trove_dist.drivers.azure.upload import fill_first_block, stage_stream
from trove_dist.errors import (
    BucketAlreadyExists,
    BucketNotFound,
    InvalidDSN,
    InvalidRange,
    ObjectNotFound,
    UnsupportedCapability,
)

#: How far back a SAS's validity starts, for clocks that run behind the service's.
SAS_CLOCK_SKEW = timedelta(minutes=5)
#: Polling of a pending server-side copy: first wait, and the longest between two polls.
COPY_POLL_FIRST = 0.05
COPY_POLL_MAX = 2.0
#: The largest range one read request asks for, and how many a reader keeps in flight
#: (see ``download`` for why both are small).
READ_CHUNK_LIMIT = 2 * MiB
READ_DEPTH_LIMIT = 2


class AzureDriver(Driver):
    schemes = ("azure",)

    def __init__(self, config: AzureConfig) -> None:
        self._config = config
        self._service = _service_client(config)
        self._account = str(self._service.account_name)
        self._account_key = config.account_key or _shared_key_of(self._service)
        self._read_chunk = min(config.block_size, READ_CHUNK_LIMIT)
        self._read_depth = min(config.concurrency, READ_DEPTH_LIMIT)
        #: Readers still open, closed with the driver so that none keeps a thread.
        self._open_reads: weakref.WeakSet[RangedReader] = weakref.WeakSet()

    @classmethod
    def from_dsn(cls, dsn: DSN) -> Self:
        return cls(AzureConfig.from_dsn(dsn))

    def __repr__(self) -> str:
        return f"<AzureDriver account={self._account} endpoint={self._service.url}>"

    def _close(self) -> None:
        for reader in list(self._open_reads):
            reader.close()
        self._service.close()

    # ---- addressing ---------------------------------------------------------------------

    def _container(self, bucket: str) -> ContainerClient:
        return self._service.get_container_client(validate_container(bucket))

    def _blob(self, bucket: str, key: str) -> BlobClient:
        return self._container(bucket).get_blob_client(key)

    def _ping(self) -> None:
        with azure_errors("ping"):
            next(iter(self._service.list_containers(results_per_page=1).by_page()), None)

    # ---- buckets ------------------------------------------------------------------------

    def _create_bucket(self, bucket: str, *, exist_ok: bool) -> None:
        container = self._container(bucket)

        def create() -> None:
            container.create_container()

        def being_deleted(exc: BaseException) -> bool:
            # Azure frees a deleted container's name some seconds later: wait for it.
            return isinstance(exc, HttpResponseError) and error_code(exc) == "ContainerBeingDeleted"

        try:
            self._config.retry.call(create, transient=being_deleted, backend="azure", what=f"create {bucket}")
        except AzureError as exc:
            error = translate(exc, "create bucket", bucket=bucket)
            if isinstance(error, BucketAlreadyExists) and exist_ok:
                return
            raise error from exc

    def _delete_bucket(self, bucket: str) -> None:
        with azure_errors("delete bucket", bucket=bucket):
            self._container(bucket).delete_container()

    def _list_buckets(self) -> list[BucketInfo]:
        with azure_errors("list buckets"):
            return [BucketInfo(str(c.name), aware(c.last_modified)) for c in self._service.list_containers()]

    def _bucket_exists(self, bucket: str) -> bool:
        with azure_errors("bucket exists", bucket=bucket):
            return bool(self._container(bucket).exists())

    def _bucket_is_empty(self, bucket: str) -> bool:
        with azure_errors("list", bucket=bucket):
            first = next(iter(self._container(bucket).list_blobs(results_per_page=1).by_page()), None)
            return not list(first or [])

    # ---- objects ------------------------------------------------------------------------

    def _put(self, bucket: str, key: str, body: MeteredChunks, options: PutOptions) -> ObjectInfo:
        blob = self._blob(bucket, key)
        conditions = write_conditions(options.if_match, options.if_none_match)
        settings = ContentSettings(content_type=options.content_type)
        single_put_limit = min(self._config.block_size, MAX_SINGLE_PUT_BYTES)
        first, exhausted = fill_first_block(body, single_put_limit)
        if exhausted:
            with azure_errors("put", bucket=bucket, key=key, conditional=bool(conditions)):
                result = blob.upload_blob(
                    bytes(first),
                    length=len(first),
                    overwrite=True,
                    content_settings=settings,
                    metadata=to_azure(options.metadata, body.checksum),
                    **conditions,
                )
        else:
            chunks = _prepend(first, body)  # the bytes already read come first
            del first  # owned by ``chunks`` now, and released once consumed
            block_ids = stage_stream(
                blob,
                bucket=bucket,
                key=key,
                token=new_token(),
                chunks=chunks,
                sizer=BlockSizer(self._config.block_size, options.size_hint),
                concurrency=self._config.concurrency,
            )
            # The body is exhausted: its checksum is known (or its mismatch has been raised).
            with azure_errors("put", bucket=bucket, key=key, conditional=bool(conditions)):
                result = blob.commit_block_list(
                    [BlobBlock(block_id, BlockState.UNCOMMITTED) for block_id in block_ids],
                    content_settings=settings,
                    metadata=to_azure(options.metadata, body.checksum),
                    **conditions,
                )
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=body.size,
            etag=unquote_etag(cast(str, result.get("etag"))),
            last_modified=aware(cast(datetime, result.get("last_modified"))),
            content_type=options.content_type,
            metadata=MappingProxyType(dict(options.metadata)),
            checksum=body.checksum,
        )

    def _get(self, bucket: str, key: str, offset: int, length: int | None) -> ObjectReader:
        what = f"{bucket}/{key}"
        if length == 0:
            info = self._head(bucket, key)
            check_range(info.size, offset, 0, what)
            return ObjectReader(info, io.BytesIO(b""), offset=offset, length=0)
        blob = self._blob(bucket, key)
        chunk = self._read_chunk
        try:
            with azure_errors("get", bucket=bucket, key=key):
                opening = blob.download_blob(
                    offset=offset, length=chunk if length is None else min(length, chunk), max_concurrency=1
                )
                first = opening.readall()
        except InvalidRange:
            # Azure refuses any range on an empty blob; a read at offset 0 of one is empty.
            info = self._head(bucket, key)
            check_range(info.size, offset, length, what)
            return ObjectReader(info, io.BytesIO(b""), offset=offset, length=0)
        props = opening.properties
        info = replace(info_from_properties(bucket, key, props), size=_object_size(props))
        count = check_range(info.size, offset, length, what)
        source = RangedReader(
            blob,
            bucket=bucket,
            key=key,
            etag=info.etag,
            first=first[:count],
            start=offset,
            end=offset + count,
            chunk=chunk,
            depth=self._read_depth,
        )
        self._open_reads.add(source)
        return ObjectReader(info, source, offset=offset, length=count)

    def get_range(self, bucket: str, key: str, offset: int, length: int | None) -> ObjectReader:
        """Ranged Get Blob: only the requested bytes travel."""
        return self.get(bucket, key, offset=offset, length=length)

    def _head(self, bucket: str, key: str) -> ObjectInfo:
        with azure_errors("head", bucket=bucket, key=key):
            props = self._blob(bucket, key).get_blob_properties()
        return info_from_properties(bucket, key, props)

    def _delete(self, bucket: str, key: str) -> None:
        try:
            self._blob(bucket, key).delete_blob(delete_snapshots="include")
        except AzureError as exc:
            if isinstance(exc, HttpResponseError) and error_code(exc) == "BlobNotFound":
                return  # deleting an absent key is not an error
            raise translate(exc, "delete", bucket=bucket, key=key) from exc

    def _list(
        self,
        bucket: str,
        prefix: str,
        delimiter: str | None,
        start_after: str | None,
        max_keys: int,
        cursor: str | None,
    ) -> ListPage:
        container = self._container(bucket)

        def fetch(marker: str | None) -> tuple[list[Any], str | None]:
            options: dict[str, Any] = {
                "name_starts_with": prefix or None,
                "include": ["metadata"],
                "results_per_page": max_keys,
            }
            if marker is None and start_after:
                # Where the service supports it, skip ahead; names before are filtered anyway.
                options["start_from"] = start_after
            pager: Any
            with azure_errors("list", bucket=bucket):
                if delimiter:
                    pager = container.walk_blobs(delimiter=delimiter, **options)
                else:
                    pager = container.list_blobs(**options)
                pages = pager.by_page(continuation_token=marker)
                entries = list(next(pages))
            return entries, pages.continuation_token

        def holds_key_after(rolled: str, after: str) -> bool:
            with azure_errors("list", bucket=bucket):
                names = container.list_blobs(name_starts_with=rolled, start_from=after, results_per_page=max_keys)
                return any(azure_order(str(blob.name)) > azure_order(after) for blob in names)

        return assemble_page(
            bucket=bucket,
            prefix=prefix,
            delimiter=delimiter,
            start_after=start_after,
            cursor=cursor,
            max_keys=max_keys,
            fetch=fetch,
            to_info=lambda props: info_from_properties(bucket, str(props.name), props),
            holds_key_after=holds_key_after,
        )

    # ---- ConditionalDriver --------------------------------------------------------------

    def delete_if_match(self, bucket: str, key: str, etag: str) -> None:
        self._check_open()
        validate_bucket(bucket)
        validate_key(key)
        with azure_errors("delete_if_match", bucket=bucket, key=key, conditional=True):
            self._blob(bucket, key).delete_blob(
                delete_snapshots="include", etag=quote_etag(etag), match_condition=MatchConditions.IfNotModified
            )

    # ---- ServerCopyDriver ---------------------------------------------------------------

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
        """Copy Blob inside the account, waiting for it to finish.

        Copy Blob takes the destination's metadata in the same request (or copies the
        source's when given none) and always copies the source's content settings.  So two
        cases need a follow-up request, each conditional on the copy's etag so that a write
        made meanwhile is never overwritten: an explicitly empty metadata for a source that
        has some, and a new content type.  Between the copy and that follow-up the destination
        briefly shows the source's metadata or content type.
        """
        self._check_open()
        for bucket in (src_bucket, dst_bucket):
            validate_container(validate_bucket(bucket))
        validate_key(src_key)
        validate_key(dst_key)
        source = self._blob(src_bucket, src_key)
        with azure_errors("server copy", bucket=src_bucket, key=src_key):
            src_props = source.get_blob_properties()
        src_metadata, src_checksum = from_azure(src_props.metadata)
        wanted = to_azure(normalize_metadata(metadata) if metadata is not None else src_metadata, src_checksum)
        target = self._blob(dst_bucket, dst_key)
        try:
            result = target.start_copy_from_url(source.url, metadata=wanted)
            etag = self._await_copy(target, str(result.get("copy_status")), dst_bucket, dst_key, result.get("etag"))
            if not wanted and src_props.metadata:
                cleared = target.set_blob_metadata({}, etag=etag, match_condition=MatchConditions.IfNotModified)
                etag = str(cleared["etag"])
            old = src_props.content_settings
            if content_type is not None and content_type != old.content_type:
                replaced = ContentSettings(
                    content_type=content_type,
                    content_encoding=old.content_encoding,
                    content_language=old.content_language,
                    content_disposition=old.content_disposition,
                    cache_control=old.cache_control,
                    content_md5=old.content_md5,
                )
                target.set_http_headers(replaced, etag=etag, match_condition=MatchConditions.IfNotModified)
        except AzureError as exc:
            code = error_code(exc) if isinstance(exc, HttpResponseError) else None
            if code == "ContainerNotFound":
                raise BucketNotFound(dst_bucket) from exc
            if code in ("BlobNotFound", "CannotVerifyCopySource"):
                raise ObjectNotFound(src_bucket, src_key) from exc
            raise translate(exc, "server copy", bucket=dst_bucket, key=dst_key) from exc
        return self._head(dst_bucket, dst_key)

    def _await_copy(self, target: BlobClient, status: str, bucket: str, key: str, etag: Any) -> str:
        """The destination's etag once the copy succeeded (same-account copies usually finish
        within the request; others are polled with growing pauses)."""
        pause = COPY_POLL_FIRST
        while status == "pending":
            time.sleep(pause)
            pause = min(pause * 2, COPY_POLL_MAX)
            props = target.get_blob_properties()
            status, etag = str(props.copy.status), props.etag
        if status != "success":
            raise AzureRequestFailed(f"server copy to {bucket}/{key} ended as {status}", None, None)
        return str(etag)

    # ---- PresignDriver ------------------------------------------------------------------

    def presign_get(self, bucket: str, key: str, expires: timedelta) -> str:
        """A URL that reads the object until ``expires`` from now (a read-only service SAS)."""
        return self._presign(bucket, key, expires, BlobSasPermissions(read=True))

    def presign_put(self, bucket: str, key: str, expires: timedelta, content_type: str | None = None) -> str:
        """A URL that writes the object (a create/write service SAS).

        The PUT must carry ``x-ms-blob-type: BlockBlob`` — Azure's Put Blob requires it.  A SAS
        cannot fix request headers, so ``content_type`` is not enforced as S3 enforces it: it
        is the type the uploader is expected to send as ``Content-Type`` (Azure stores that).
        """
        if content_type is not None and any(c in content_type for c in "\r\n\x00"):
            raise ValueError("content_type must not contain CR, LF or NUL")
        return self._presign(bucket, key, expires, BlobSasPermissions(create=True, write=True))

    def _presign(self, bucket: str, key: str, expires: timedelta, permission: BlobSasPermissions) -> str:
        self._check_open()
        validate_container(validate_bucket(bucket))
        validate_key(key)
        if expires <= timedelta(0):
            raise ValueError("expires must be a positive duration")
        if self._account_key is None:
            raise UnsupportedCapability("azure", "presigned URLs without the account key (give it in the DSN)")
        now = datetime.now(UTC)
        blob = self._blob(bucket, key)
        sas = generate_blob_sas(
            self._account,
            bucket,
            key,
            account_key=self._account_key,
            permission=permission,
            start=now - SAS_CLOCK_SKEW,
            expiry=now + expires,
        )
        return f"{blob.url}?{sas}"

    # ---- MultipartDriver ----------------------------------------------------------------

    def initiate_multipart(
        self, bucket: str, key: str, *, content_type: str | None = None, metadata: dict[str, str] | None = None
    ) -> str:
        self._check_open()
        blob = self._checked_blob(bucket, key)
        manifest = Manifest(content_type or guess_content_type(key), normalize_metadata(metadata))
        return multipart.initiate(blob, bucket, key, manifest)

    def upload_part(self, bucket: str, key: str, upload_id: str, part_number: int, data: PutBody) -> PartInfo:
        self._check_open()
        blob = self._checked_blob(bucket, key)
        return multipart.upload_part(blob, bucket, key, upload_id, part_number, data, self._config.block_size)

    def complete_multipart(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: list[PartInfo] | tuple[PartInfo, ...],
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> ObjectInfo:
        self._check_open()
        blob = self._checked_blob(bucket, key)
        if if_none_match is not None and if_none_match != "*":
            raise ValueError('if_none_match only accepts "*" (write only if the key is absent)')
        conditions = write_conditions(if_match, if_none_match)
        return multipart.complete(blob, bucket, key, upload_id, parts, conditions)

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        self._check_open()
        multipart.abort(self._checked_blob(bucket, key), bucket, key, upload_id)

    def list_multipart_uploads(self, bucket: str, prefix: str = "") -> list[MultipartUpload]:
        """Uploads in progress to keys that hold no object yet — Azure cannot enumerate the
        uncommitted blocks of an existing blob (see ``multipart``)."""
        self._check_open()
        container = self._container(validate_bucket(bucket))
        validate_prefix(prefix)
        return multipart.list_uploads(container, bucket, prefix)

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo]:
        self._check_open()
        return multipart.list_parts(self._checked_blob(bucket, key), bucket, key, upload_id)

    def _checked_blob(self, bucket: str, key: str) -> BlobClient:
        validate_bucket(bucket)
        validate_key(key)
        return self._blob(bucket, key)


def write_conditions(if_match: str | None, if_none_match: str | None) -> dict[str, Any]:
    """SDK keywords for a conditional write (the base has validated the combination)."""
    if if_none_match == "*":
        return {"match_condition": MatchConditions.IfMissing}
    if if_match is not None:
        return {"etag": quote_etag(if_match), "match_condition": MatchConditions.IfNotModified}
    return {}


def _prepend(first: bytearray, rest: Iterator[bytes | memoryview]) -> Iterator[bytes | bytearray | memoryview]:
    """``first``, then ``rest`` — without keeping ``first`` alive once it has been consumed
    (``itertools.chain`` holds its arguments until it is itself released)."""
    held = [first]
    del first
    yield held.pop()
    yield from rest


def _object_size(props: BlobProperties) -> int:
    """The whole blob's size: a ranged answer's Content-Range ends in ``/TOTAL``."""
    content_range = getattr(props, "content_range", None)
    if content_range and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        if total.isdigit():
            return int(total)
    return int(props.size or 0)


def _service_client(config: AzureConfig) -> BlobServiceClient:
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=max(10, 2 * config.concurrency))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    read_chunk = min(config.block_size, READ_CHUNK_LIMIT)  # see ``download``
    options: dict[str, Any] = {
        "retry_policy": TroveRetry(config.retry),
        "transport": RequestsTransport(session=session, session_owner=True),
        "max_single_put_size": min(config.block_size, MAX_SINGLE_PUT_BYTES),
        "max_block_size": config.block_size,
        "max_single_get_size": read_chunk,
        "max_chunk_get_size": read_chunk,
    }
    if config.connection_string is not None:
        return BlobServiceClient.from_connection_string(config.connection_string, **options)
    assert config.endpoint is not None
    assert config.account is not None
    credential: Any
    if config.account_key is not None:
        credential = AzureNamedKeyCredential(config.account, config.account_key)
    else:
        credential = _default_credential()
    return BlobServiceClient(config.endpoint, credential=credential, **options)


def _default_credential() -> Any:
    """``DefaultAzureCredential`` — the SDK's standard chain (environment, managed identity,
    Azure CLI …) — from the optional ``azure-identity`` package."""
    try:
        identity = importlib.import_module("azure.identity")
    except ImportError:
        raise InvalidDSN(
            "no account key in the DSN and azure-identity is not installed: give the key "
            "(azure://ACCOUNT:KEY@…), use connection_string_env=VAR, or install azure-identity"
        ) from None
    return identity.DefaultAzureCredential()


def _shared_key_of(service: BlobServiceClient) -> str | None:
    """The account key a connection string carried, for signing SAS URLs."""
    key = getattr(service.credential, "account_key", None)
    return key if isinstance(key, str) else None
