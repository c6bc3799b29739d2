"""Multipart uploads on GCS, built from hidden part objects and ``compose``.

GCS's JSON API has no multipart upload of its own; what it has is ``compose``.  An upload is:

- a **manifest** object (``\\trove\\manifests\\<upload id>``, empty) whose metadata records the
  key, content type and user metadata given at initiation — so the upload id is durable, usable
  from any process, and ``list_multipart_uploads`` is one listing of manifests;
- one hidden object per **part** (``\\trove\\uploads\\<upload id>\\part-00001`` …), written by the
  same streaming put as any object; a part's etag is its generation;
- **completion**: the parts named by the caller (checked against what is stored, pinned to their
  generations) are composed into the key — through intermediate objects when there are more than
  32 (``compose_tree``) — with the manifest's metadata and the caller's precondition, in one final
  call; then the intermediates, parts and manifest are deleted.

The hidden names cannot be trove keys (see ``hidden``), and listings never show them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from google.api_core import exceptions as api_exceptions

from trove_dist.driver.body import MeteredChunks
from trove_dist.driver.capabilities import MultipartUpload, PartInfo
from trove_dist.driver.models import ObjectInfo
from trove_dist.drivers.gcs import hidden
from trove_dist.drivers.gcs.compose import Source, compose_tree
from trove_dist.drivers.gcs.connection import Connection
from trove_dist.drivers.gcs.errors import BACKEND
from trove_dist.drivers.gcs.resources import encode_metadata, info_from_blob
from trove_dist.drivers.gcs.upload import Uploader
from trove_dist.errors import TroveError, UploadNotFound
from trove_dist.ids import new_upload_id

logger = logging.getLogger(__name__)

MAX_PARTS = 10_000
_NEVER = datetime.min.replace(tzinfo=UTC)
#: The manifest's metadata entry that holds the upload's JSON description.
MANIFEST_ENTRY = "trove-upload"


class InvalidPart(TroveError, ValueError):
    """A part given to ``complete_multipart`` is not the part stored under that number."""


class CompositeUploads:
    """The ``MultipartDriver`` operations, already validated by the driver."""

    def __init__(self, connection: Connection, uploader: Uploader) -> None:
        self._connection = connection
        self._uploader = uploader

    def initiate(self, bucket: str, key: str, content_type: str, metadata: Mapping[str, str]) -> str:
        upload_id = new_upload_id()
        description = json.dumps({"key": key, "content_type": content_type, "metadata": dict(metadata)})
        manifest = self._connection.blob(bucket, hidden.manifest_name(upload_id))
        manifest.metadata = {MANIFEST_ENTRY: description}
        with self._connection.translated("initiate a multipart upload of", bucket, key):
            manifest.upload_from_string(
                b"",
                content_type="application/json",
                if_generation_match=0,
                timeout=self._connection.timeout,
                retry=self._connection.retry(f"initiate a multipart upload of {bucket}/{key}"),
            )
        return upload_id

    def upload_part(self, bucket: str, key: str, upload_id: str, part_number: int, body: MeteredChunks) -> PartInfo:
        self._manifest(bucket, key, upload_id)
        info = self._uploader.upload(
            bucket,
            hidden.part_name(upload_id, part_number),
            body,
            content_type="application/octet-stream",
            metadata={},
            if_generation_match=None,
        )
        return PartInfo(part_number, info.etag, info.size)

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo]:
        self._manifest(bucket, key, upload_id)
        return self._stored_parts(bucket, upload_id)

    def complete(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[PartInfo],
        if_generation_match: int | None,
    ) -> ObjectInfo:
        description = self._manifest(bucket, key, upload_id)
        numbers = [p.part_number for p in parts]
        if not numbers:
            raise ValueError("a multipart upload needs at least one part")
        if numbers != sorted(set(numbers)):
            raise ValueError("parts must be given in ascending part-number order, each once")
        stored = {p.part_number: p for p in self._stored_parts(bucket, upload_id)}
        for part in parts:
            if part.part_number not in stored or stored[part.part_number].etag != part.etag:
                raise InvalidPart(
                    f"{BACKEND}: part {part.part_number} of upload {upload_id} is not stored with etag {part.etag}"
                )
        destination = self._connection.blob(bucket, key)
        destination.content_type = description["content_type"]
        destination.metadata = encode_metadata(description["metadata"], None)
        intermediates: list[str] = []
        try:
            with self._connection.translated("complete the multipart upload of", bucket, key):
                compose_tree(
                    self._connection,
                    bucket,
                    [Source(hidden.part_name(upload_id, p.part_number), int(p.etag)) for p in parts],
                    destination,
                    intermediate_name=lambda level, index: hidden.composite_name(upload_id, level, index),
                    created=intermediates,
                    if_generation_match=if_generation_match,
                    operation=f"complete the multipart upload of {bucket}/{key}",
                )
        finally:
            self._delete_hidden(bucket, intermediates)
        self._delete_hidden(bucket, [hidden.manifest_name(upload_id)])
        self._delete_hidden(bucket, [name for name, _ in self._hidden_objects(bucket, hidden.upload_dir(upload_id))])
        return info_from_blob(bucket, destination)

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        self._manifest(bucket, key, upload_id)
        # The manifest first: from then on the upload is gone for every caller, whatever remains.
        self._delete_hidden(bucket, [hidden.manifest_name(upload_id)])
        self._delete_hidden(bucket, [name for name, _ in self._hidden_objects(bucket, hidden.upload_dir(upload_id))])

    def list_uploads(self, bucket: str, prefix: str) -> list[MultipartUpload]:
        uploads: list[MultipartUpload] = []
        for name, blob in self._hidden_objects(bucket, hidden.MANIFESTS):
            upload_id = hidden.upload_id_of_manifest(name)
            description = _description(blob)
            if upload_id is None or description is None or not description["key"].startswith(prefix):
                continue
            created: datetime | None = blob.time_created
            uploads.append(MultipartUpload(bucket, description["key"], upload_id, created))
        return sorted(uploads, key=lambda u: (u.key, u.initiated or _NEVER, u.upload_id))

    # ---- helpers ----------------------------------------------------------------------------

    def _manifest(self, bucket: str, key: str, upload_id: str) -> dict[str, Any]:
        """The upload's description; ``UploadNotFound`` unless it is an upload of ``key``."""
        if not hidden.valid_upload_id(upload_id):
            raise self._connection.missing(bucket, key, lambda: UploadNotFound(bucket, key, upload_id))
        manifest = self._connection.blob(bucket, hidden.manifest_name(upload_id))
        with self._connection.translated(
            "look up the multipart upload of", bucket, key, not_found=lambda: UploadNotFound(bucket, key, upload_id)
        ):
            manifest.reload(timeout=self._connection.timeout, retry=self._connection.retry("look up an upload"))
        description = _description(manifest)
        if description is None or description["key"] != key:
            raise UploadNotFound(bucket, key, upload_id)
        return description

    def _stored_parts(self, bucket: str, upload_id: str) -> list[PartInfo]:
        parts: list[PartInfo] = []
        for name, blob in self._hidden_objects(bucket, hidden.parts_prefix(upload_id)):
            number = hidden.part_number_of(upload_id, name)
            if number is not None:
                parts.append(PartInfo(number, str(blob.generation), int(blob.size or 0)))
        return sorted(parts, key=lambda p: p.part_number)

    def _hidden_objects(self, bucket: str, prefix: str) -> Iterator[tuple[str, Any]]:
        """Every object under a hidden prefix (all pages), as (name, blob)."""
        retry = self._connection.retry(f"list {bucket}")
        with self._connection.translated("list", bucket):
            blobs = list(
                self._connection.client.list_blobs(
                    bucket, prefix=prefix, timeout=self._connection.timeout, retry=retry
                )
            )
        for blob in blobs:
            if blob.name.startswith(prefix):  # a server that ignores the prefix is not trusted
                yield blob.name, blob

    def _delete_hidden(self, bucket: str, names: Sequence[str]) -> None:
        """Delete the driver's own objects; one that cannot be deleted is logged and left (it is
        invisible, and ``abort_multipart`` or a later completion's cleanup removes it)."""
        for name in names:
            try:
                self._connection.blob(bucket, name).delete(
                    timeout=self._connection.timeout, retry=self._connection.retry("delete a hidden object")
                )
            except api_exceptions.NotFound:
                continue
            except Exception as exc:  # noqa: BLE001 - logged: a leftover hidden object harms no one
                logger.warning("gcs: could not delete hidden object %r in %s (%s)", name, bucket, type(exc).__name__)


def _description(blob: Any) -> dict[str, Any] | None:
    raw = (blob.metadata or {}).get(MANIFEST_ENTRY)
    try:
        description = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    if (
        not isinstance(description, dict)
        or not isinstance(description.get("key"), str)
        or not isinstance(description.get("content_type"), str)
        or not isinstance(description.get("metadata"), dict)
    ):
        return None
    return description
