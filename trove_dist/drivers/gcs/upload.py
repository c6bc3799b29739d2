"""Streaming puts: one request for small bodies, a resumable upload for the rest.

The body is read into one ``chunk_size`` buffer at a time.  A body that ends within the first
buffer goes in a single multipart request (metadata and bytes together).  A longer one opens a
resumable session (``Blob.create_resumable_upload_session``: metadata, content type and the
generation precondition are fixed there) and sends each full buffer as one chunk.  The request
that *finalises* the object is sent only after the body iterator has ended — which is when
``MeteredChunks`` verifies an expected checksum — so a body that fails midway, or fails
verification, never becomes an object: the session is cancelled instead.  Memory is one buffer
plus the body's current chunk, whatever the object's size.

**Where the trove checksum goes.**  GCS takes an object's metadata when the upload *starts*, and
the checksum of a streamed body is known when it *ends*.  For a single-request put both are known
together.  For a resumable put the checksum is added by a metadata patch right after the upload
finalises, conditioned on the generation *and* metageneration the upload produced — so it can only
ever land on this upload's object, never on a newer one written in between.  Until that patch
(one round trip) ``head`` reports no checksum, never a wrong one.  The alternative — upload to a
hidden name, then compose into the key with the checksum in the destination metadata — is atomic
but costs a server-side copy of the whole object on emulators, turns every large object into a
composite one (no MD5) and pays early-deletion fees in Nearline/Coldline buckets; bodies without a
checksum (the common case) need no second request at all this way.

Chunks carry a running CRC32C: the final request sends it in ``X-Goog-Hash`` (GCS refuses to
finalise on a mismatch) and the object's CRC32C is checked against it once more on the answer.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import google_crc32c
import requests

from trove_dist.driver.body import MeteredChunks
from trove_dist.driver.models import ObjectInfo
from trove_dist.drivers.gcs.connection import Connection
from trove_dist.drivers.gcs.errors import BACKEND, TransientHTTPError, is_transient, status_of
from trove_dist.drivers.gcs.resources import encode_metadata, info_from_blob
from trove_dist.errors import ChecksumMismatch, PermissionDenied, PreconditionFailed, TroveError

logger = logging.getLogger(__name__)

#: Answers in a row that persist nothing of a chunk before the upload is given up.
_MAX_STALLS = 3


def fill_chunks(body: Iterator[bytes | memoryview], chunk_size: int) -> Iterator[tuple[memoryview, bool]]:
    """Yield the body as full ``chunk_size`` views of one reused buffer, each with whether it is
    the last.  A view is valid until the next one is requested: consumers copy or send it first.

    Knowing "last" needs one body chunk of look-ahead, so the final view is only yielded after
    the body iterator has stopped (and checked its checksum).
    """
    buffer = bytearray(chunk_size)
    whole = memoryview(buffer)
    filled = 0
    pending = memoryview(b"")
    while True:
        while filled < chunk_size:
            if not len(pending):
                try:
                    pending = memoryview(next(body)).cast("B")
                except StopIteration:
                    yield whole[:filled], True
                    return
            n = min(chunk_size - filled, len(pending))
            whole[filled : filled + n] = pending[:n]
            filled += n
            pending = pending[n:]
        if not len(pending):
            try:
                pending = memoryview(next(body)).cast("B")
            except StopIteration:
                yield whole, True
                return
        yield whole, False
        filled = 0


class ResourceView:
    """An object resource (the JSON GCS answers) with the attributes of a ``Blob``."""

    def __init__(self, resource: Mapping[str, Any]) -> None:
        self._resource = resource

    @property
    def name(self) -> str:
        return str(self._resource["name"])

    @property
    def size(self) -> int:
        return int(self._resource.get("size") or 0)

    @property
    def generation(self) -> int:
        return int(self._resource["generation"])

    @property
    def metageneration(self) -> int:
        return int(self._resource.get("metageneration") or 1)

    @property
    def updated(self) -> datetime | None:
        raw = self._resource.get("updated")
        return datetime.fromisoformat(raw) if isinstance(raw, str) else None

    @property
    def content_type(self) -> str | None:
        value = self._resource.get("contentType")
        return str(value) if value is not None else None

    @property
    def metadata(self) -> dict[str, str] | None:
        value = self._resource.get("metadata")
        return dict(value) if isinstance(value, dict) else None

    @property
    def storage_class(self) -> str | None:
        value = self._resource.get("storageClass")
        return str(value) if value is not None else None

    @property
    def crc32c(self) -> str | None:
        value = self._resource.get("crc32c")
        return str(value) if value is not None else None


class ResumableSession:
    """The chunk protocol of one resumable upload session.

    Each chunk is ``PUT`` with ``Content-Range: bytes a-b/*`` (``/TOTAL`` on the last); GCS answers
    308 with the range it has persisted, or 200/201 with the object once it is final.  After a
    failed request the next attempt first asks where the session stands (``bytes */*``) and
    resends only what GCS does not have — the current chunk is still in memory.  The session URL
    authorises uploads by itself, so no message or log line ever contains it.
    """

    def __init__(self, connection: Connection, url: str, what: str) -> None:
        self._connection = connection
        self._url = url
        self._what = what
        self.offset = 0  # bytes GCS has persisted
        self._stale = False  # a request failed: ask the session where it stands first
        self._final: dict[str, Any] | None = None

    def send(self, data: bytes, *, final: bool, crc32c: str | None = None) -> dict[str, Any] | None:
        """Send the next chunk (``data`` starts at ``self.offset``); return the object resource
        once the final chunk is in."""
        base = self.offset
        total = base + len(data) if final else None
        retry = self._connection.retry(f"upload {self._what}")
        stalled = 0
        while True:
            before = self.offset
            retry.run(lambda: self._attempt(data, base, total, crc32c))
            if self._final is not None:
                return self._final
            if not final and self.offset >= base + len(data):
                return None
            # GCS persisted only part of the chunk: send the rest, unless it keeps taking nothing.
            stalled = stalled + 1 if self.offset <= before else 0
            if stalled >= _MAX_STALLS:
                raise TroveError(f"{BACKEND}: the upload of {self._what} makes no progress")

    def _attempt(self, data: bytes, base: int, total: int | None, crc32c: str | None) -> None:
        if self._stale:
            self._query()
            if self._final is not None or (total is None and self.offset >= base + len(data)):
                return
        if self.offset < base:
            raise TroveError(f"{BACKEND}: the resumable session for {self._what} lost data it had acknowledged")
        piece = data if self.offset == base else data[self.offset - base :]
        headers = {"Content-Range": _content_range(self.offset, len(piece), total)}
        if total is not None and crc32c is not None:
            headers["X-Goog-Hash"] = f"crc32c={crc32c}"
        self._handle(self._request("PUT", piece, headers), total)

    def _query(self) -> None:
        self._handle(self._request("PUT", b"", {"Content-Range": "bytes */*"}), None)

    def _request(self, method: str, data: bytes, headers: dict[str, str]) -> requests.Response:
        try:
            return self._connection.http.request(
                method, self._url, data=data, headers=headers, timeout=self._connection.timeout
            )
        except requests.RequestException as exc:
            failure = type(exc).__name__
        self._stale = True
        # Raised outside the handler, so the original (whose message quotes the session URL) is
        # neither the cause nor the context of what the caller sees.
        raise ConnectionError(f"{self._what}: {failure}")

    def _handle(self, response: requests.Response, total: int | None) -> None:
        status = response.status_code
        if status in (200, 201):
            self._stale = False
            self._final = response.json()
            self.offset = total if total is not None else self.offset
            return
        if status == 308:
            self._stale = False
            persisted = response.headers.get("Range", "")
            self.offset = int(persisted.rpartition("-")[2]) + 1 if persisted.startswith("bytes=") else 0
            return
        self._stale = True
        if is_transient(TransientHTTPError(status, self._what)):
            raise TransientHTTPError(status, f"upload {self._what}")
        if status == 412:
            raise PreconditionFailed(f"{BACKEND}: {self._what} is not in the state the condition requires")
        if status in (401, 403):
            raise PermissionDenied(BACKEND, f"upload {self._what}", f"HTTP {status}")
        if status in (404, 410):
            raise TroveError(f"{BACKEND}: the upload session for {self._what} expired or was cancelled")
        raise TroveError(f"{BACKEND}: upload {self._what} was refused: HTTP {status}")

    def cancel(self) -> None:
        """End the session so GCS discards what it holds (best effort: it expires on its own)."""
        try:
            self._connection.http.delete(self._url, timeout=self._connection.timeout)
        except requests.RequestException as exc:
            logger.warning("gcs: could not cancel the upload session for %s (%s)", self._what, type(exc).__name__)


def _content_range(start: int, length: int, total: int | None) -> str:
    size = "*" if total is None else str(total)
    if length == 0:
        return f"bytes */{size}"
    return f"bytes {start}-{start + length - 1}/{size}"


class Uploader:
    """Puts a ``MeteredChunks`` body at a key, as one request or as a resumable upload."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def upload(
        self,
        bucket: str,
        key: str,
        body: MeteredChunks,
        *,
        content_type: str,
        metadata: Mapping[str, str],
        if_generation_match: int | None,
    ) -> ObjectInfo:
        what = f"{bucket}/{key}"
        chunks = fill_chunks(body, self._connection.settings.chunk_size)
        first, last = next(chunks)
        with self._connection.translated("put", bucket, key):
            if last:
                data = bytes(first)
                return self._single_request(bucket, key, data, body, content_type, metadata, if_generation_match)
            blob = self._connection.blob(bucket, key)
            blob.content_type = content_type
            blob.metadata = encode_metadata(metadata, None)
            url = blob.create_resumable_upload_session(
                content_type=content_type,
                checksum=None,
                if_generation_match=if_generation_match,
                timeout=self._connection.timeout,
                retry=self._connection.retry(f"start the upload of {what}"),
            )
        session = ResumableSession(self._connection, url, what)
        crc = google_crc32c.Checksum()  # type: ignore[no-untyped-call]
        digest = ""
        resource: dict[str, Any] | None = None
        try:
            view = first
            while True:
                data = bytes(view)  # the CRC32C extension takes immutable bytes only
                crc.update(data)  # type: ignore[no-untyped-call]
                if last:
                    digest = base64.b64encode(crc.digest()).decode("ascii")  # type: ignore[no-untyped-call]
                    resource = session.send(data, final=True, crc32c=digest)
                    break
                session.send(data, final=False)
                del data
                view, last = next(chunks)
        except BaseException:
            session.cancel()
            raise
        if resource is None:
            raise TroveError(f"{BACKEND}: the upload of {what} ended without an object")
        return self._finish(bucket, key, ResourceView(resource), body, metadata, digest)

    def _single_request(
        self,
        bucket: str,
        key: str,
        data: bytes,
        body: MeteredChunks,
        content_type: str,
        metadata: Mapping[str, str],
        if_generation_match: int | None,
    ) -> ObjectInfo:
        blob = self._connection.blob(bucket, key)
        # In the resource as well as on the media part: a multipart parser may drop parameters
        # such as "; charset=utf-8" from the part's header.
        blob.content_type = content_type
        blob.metadata = encode_metadata(metadata, body.checksum)
        blob.upload_from_string(
            data,
            content_type=content_type,
            if_generation_match=if_generation_match,
            timeout=self._connection.timeout,
            retry=self._connection.retry(f"put {bucket}/{key}"),
        )
        return info_from_blob(bucket, blob)

    def _finish(
        self,
        bucket: str,
        key: str,
        uploaded: ResourceView,
        body: MeteredChunks,
        metadata: Mapping[str, str],
        crc32c: str,
    ) -> ObjectInfo:
        """Check the object GCS made, then add the checksum the body produced (if any)."""
        if uploaded.crc32c is not None and uploaded.crc32c != crc32c:
            self._discard(bucket, key, uploaded.generation)
            raise ChecksumMismatch(f"{bucket}/{key} (in transit to GCS)", "crc32c", crc32c, uploaded.crc32c)
        checksum = body.checksum
        if checksum is None:
            return info_from_blob(bucket, uploaded)
        blob = self._connection.blob(bucket, key)
        blob.metadata = encode_metadata(metadata, checksum)
        with self._connection.translated("store the checksum of", bucket, key):
            try:
                blob.patch(
                    if_generation_match=uploaded.generation,
                    if_metageneration_match=uploaded.metageneration,
                    timeout=self._connection.timeout,
                    retry=self._connection.retry(f"store the checksum of {bucket}/{key}"),
                )
            except Exception as exc:
                if status_of(exc) not in (404, 412):
                    raise
                # Another writer replaced (or deleted) the object since: this put's object is
                # gone, and the newer one must not carry this body's checksum.
                return replace(info_from_blob(bucket, uploaded), checksum=checksum)
        return info_from_blob(bucket, blob)

    def _discard(self, bucket: str, key: str, generation: int) -> None:
        with self._connection.translated("discard a corrupt upload of", bucket, key):
            self._connection.blob(bucket, key).delete(
                if_generation_match=generation,
                timeout=self._connection.timeout,
                retry=self._connection.retry(f"discard a corrupt upload of {bucket}/{key}"),
            )

