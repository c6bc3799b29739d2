"""Multipart uploads as Azure block lists: parts are staged blocks, completion is one commit.

An upload exists only in the service, as uncommitted blocks of the target blob named by the
scheme in ``blocks``: its manifest (content type, metadata, start time), its parts, and an
abort marker once aborted.  The upload id is the random token those block ids share, so any
process holding it can add parts, list them, complete or abort — nothing is kept locally.

What Azure imposes, and what follows:

* Uncommitted blocks cannot be deleted.  ``abort_multipart`` stages a marker block that makes
  the upload invisible (``list_parts``, ``upload_part`` and ``complete_multipart`` then raise
  ``UploadNotFound``, and ``list_multipart_uploads`` leaves it out); Azure discards the blocks
  at the key's next commit, or after seven days.
* A commit to a key — any put, any completed upload — discards *every* uncommitted block of
  that blob, so other uploads in progress for the same key are lost (their completion raises
  ``UploadNotFound``).  Uploads never mix: each commits only its own token's blocks.
* Azure can enumerate blobs that have *only* uncommitted blocks, not uncommitted blocks of a
  blob that already exists.  So ``list_multipart_uploads`` finds every upload to a key that
  holds no object, and none to a key that does — those still expire on their own (see above).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any, cast

from azure.core.exceptions import AzureError, HttpResponseError
from azure.storage.blob import BlobBlock, BlobClient, BlockState, ContainerClient, ContentSettings

from trove_dist.driver.body import PutBody, iter_chunks
from trove_dist.driver.capabilities import MultipartUpload, PartInfo
from trove_dist.driver.models import ObjectInfo
from trove_dist.drivers.azure.blocks import (
    ABORTED,
    MAX_PART_NUMBER,
    Manifest,
    UploadState,
    block_id,
    data_block_id,
    is_upload_id,
    new_token,
    uploads_in,
)
from trove_dist.drivers.azure.config import MAX_BLOCK_BYTES
from trove_dist.drivers.azure.errors import azure_errors, error_code, translate
from trove_dist.drivers.azure.listing import azure_order
from trove_dist.drivers.azure.metadata import aware, to_azure, unquote_etag
from trove_dist.errors import UploadNotFound

#: The data of a manifest or abort-marker block; only its id matters.
MARKER_DATA = b"\x00"


def initiate(blob: BlobClient, bucket: str, key: str, manifest: Manifest) -> str:
    token = new_token()
    with azure_errors("initiate multipart upload", bucket=bucket, key=key):
        for raw_id in manifest.block_ids(token):
            blob.stage_block(raw_id, MARKER_DATA, length=len(MARKER_DATA))
    return token


def live_upload(blob: BlobClient, bucket: str, key: str, upload_id: str) -> UploadState:
    """The upload's state from the service; ``UploadNotFound`` unless initiated and not
    aborted (nor discarded by a commit to the key)."""
    if not is_upload_id(upload_id):
        raise UploadNotFound(bucket, key, upload_id)
    with azure_errors("read multipart upload", bucket=bucket, key=key, upload_id=upload_id):
        _, uncommitted = blob.get_block_list("uncommitted")
    state = uploads_in([(str(b.id), int(b.size)) for b in uncommitted]).get(upload_id)
    if state is None or not state.is_live:
        raise UploadNotFound(bucket, key, upload_id)
    return state


def upload_part(
    blob: BlobClient,
    bucket: str,
    key: str,
    upload_id: str,
    part_number: int,
    data: PutBody,
    spool_limit: int,
) -> PartInfo:
    """Stage one part.  The body is spooled (in memory up to ``spool_limit``, then on disk)
    because a block is sent with its length; re-uploading a part number replaces the part."""
    if isinstance(part_number, bool) or not isinstance(part_number, int) or not 1 <= part_number <= MAX_PART_NUMBER:
        raise ValueError(f"part_number must be from 1 to {MAX_PART_NUMBER} (Azure's block limit)")
    live_upload(blob, bucket, key, upload_id)
    raw_id = data_block_id(upload_id, part_number)
    with tempfile.SpooledTemporaryFile(max_size=spool_limit) as spool:
        size = 0
        for chunk in iter_chunks(data):
            size += spool.write(chunk)
            if size > MAX_BLOCK_BYTES:
                raise ValueError(f"a part may hold at most {MAX_BLOCK_BYTES} bytes (Azure's block limit)")
        spool.seek(0)
        with azure_errors("upload part", bucket=bucket, key=key, upload_id=upload_id):
            blob.stage_block(raw_id, spool, length=size)
    return PartInfo(part_number=part_number, etag=raw_id, size=size)


def list_parts(blob: BlobClient, bucket: str, key: str, upload_id: str) -> list[PartInfo]:
    state = live_upload(blob, bucket, key, upload_id)
    return [_part_info(upload_id, n, state) for n in sorted(state.parts)]


def _part_info(upload_id: str, number: int, state: UploadState) -> PartInfo:
    return PartInfo(part_number=number, etag=data_block_id(upload_id, number), size=state.parts[number].size)


def complete(
    blob: BlobClient,
    bucket: str,
    key: str,
    upload_id: str,
    parts: Sequence[PartInfo],
    conditions: dict[str, Any],
) -> ObjectInfo:
    """Commit exactly the named parts, in order, with the manifest's type and metadata."""
    state = live_upload(blob, bucket, key, upload_id)
    assert state.manifest is not None  # a live upload has one
    if not parts:
        raise ValueError("complete_multipart needs at least one part")
    numbers = [p.part_number for p in parts]
    if numbers != sorted(set(numbers)):
        raise ValueError("parts must be listed in ascending part-number order, each once")
    for part in parts:
        if part.part_number not in state.parts or part != _part_info(upload_id, part.part_number, state):
            raise ValueError(
                f"part {part.part_number} of upload {upload_id} does not match what was uploaded "
                "(missing, or re-uploaded with another size)"
            )
    manifest = state.manifest
    blocks = [BlobBlock(data_block_id(upload_id, n), BlockState.UNCOMMITTED) for n in numbers]
    with azure_errors("complete multipart upload", bucket=bucket, key=key, conditional=bool(conditions)):
        result = blob.commit_block_list(
            blocks,
            content_settings=ContentSettings(content_type=manifest.content_type),
            metadata=to_azure(manifest.metadata),
            **conditions,
        )
    return ObjectInfo(
        bucket=bucket,
        key=key,
        size=sum(p.size for p in parts),
        etag=unquote_etag(cast(str, result.get("etag"))),
        last_modified=aware(cast(datetime, result.get("last_modified"))),
        content_type=manifest.content_type,
        metadata=MappingProxyType(dict(manifest.metadata)),
    )


def abort(blob: BlobClient, bucket: str, key: str, upload_id: str) -> None:
    live_upload(blob, bucket, key, upload_id)
    with azure_errors("abort multipart upload", bucket=bucket, key=key, upload_id=upload_id):
        blob.stage_block(block_id(upload_id, ABORTED, 0), MARKER_DATA, length=len(MARKER_DATA))


def list_uploads(container: ContainerClient, bucket: str, prefix: str) -> list[MultipartUpload]:
    """Live uploads to keys under ``prefix`` that hold no object (see the module docstring)."""
    uploads: list[MultipartUpload] = []
    for key in _uncommitted_only(container, bucket, prefix):
        blob = container.get_blob_client(key)
        try:
            _, uncommitted = blob.get_block_list("uncommitted")
        except AzureError as exc:
            if isinstance(exc, HttpResponseError) and error_code(exc) == "BlobNotFound":
                continue  # committed, or its blocks discarded, since it was listed
            raise translate(exc, "list multipart uploads", bucket=bucket, key=key) from exc
        for token, state in uploads_in([(str(b.id), int(b.size)) for b in uncommitted]).items():
            if state.is_live and state.manifest is not None:
                uploads.append(MultipartUpload(bucket, key, token, state.manifest.initiated))
    return sorted(uploads, key=lambda u: (azure_order(u.key), u.initiated or aware(None), u.upload_id))


def _uncommitted_only(container: ContainerClient, bucket: str, prefix: str) -> Iterator[str]:
    """Names listed with ``uncommittedblobs`` but not without: one pass over two listings in
    the same (service) order, so memory stays constant however large the container."""
    with azure_errors("list multipart uploads", bucket=bucket):
        everything = iter(container.list_blobs(name_starts_with=prefix or None, include=["uncommittedblobs"]))
        committed = iter(container.list_blobs(name_starts_with=prefix or None))
        current = next(committed, None)
        for blob in everything:
            name = str(blob.name)
            while current is not None and azure_order(str(current.name)) < azure_order(name):
                current = next(committed, None)
            if current is not None and current.name == name:
                continue
            yield name
