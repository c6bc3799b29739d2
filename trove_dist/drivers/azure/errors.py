"""Azure SDK failures translated into trove's exception hierarchy.

Every request the driver makes runs inside ``azure_errors(...)``, so callers catch conditions
(``ObjectNotFound``, ``PreconditionFailed``) rather than ``azure.core`` types.  Messages name the
operation, the HTTP status and Azure's error code — never the request URL's query or a header,
so neither a SAS token nor a key can leak into an error message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from trove_dist.errors import (
    BackendUnavailable,
    BucketAlreadyExists,
    BucketNotFound,
    InvalidRange,
    ObjectNotFound,
    PermissionDenied,
    PreconditionFailed,
    TroveError,
    UploadNotFound,
)

BACKEND = "azure"


class AzureRequestFailed(TroveError):
    """An Azure error that no class of the common hierarchy describes (a malformed request, a
    feature the account lacks); the status and Azure error code are in the message."""

    def __init__(self, operation: str, status: int | None, code: str | None) -> None:
        super().__init__(f"{BACKEND}: {operation} failed with HTTP {status} ({code or 'no error code'})")
        self.status = status
        self.code = code


class BlocksDiscarded(PreconditionFailed):
    """A block-list commit named blocks Azure no longer holds.

    Azure keeps one list of uncommitted blocks per blob, and *any* write that commits the blob
    (a put, a completed upload) discards every uncommitted block — including those of other
    uploads still in progress for the same key.  The upload that committed first wins; this one
    never becomes visible, and is never mixed with the winner's blocks.  It is a
    ``PreconditionFailed`` because the implicit condition of a commit — "nobody committed this
    key since my blocks were staged" — did not hold.
    """


def error_code(exc: HttpResponseError) -> str | None:
    """Azure's error code: the storage SDK sets ``error_code`` from the body or, for answers
    without one (HEAD), from the ``x-ms-error-code`` header."""
    code: object = getattr(exc, "error_code", None)
    if code is None and exc.response is not None:
        code = getattr(exc.response, "headers", {}).get("x-ms-error-code")
    if code is None:
        return None
    return str(getattr(code, "value", code))


def translate(
    exc: AzureError,
    operation: str,
    *,
    bucket: str | None = None,
    key: str | None = None,
    upload_id: str | None = None,
    conditional: bool = False,
) -> TroveError:
    """The trove error for an Azure failure of ``operation`` on ``bucket``/``key``.

    ``conditional`` marks a request carrying If-Match / If-None-Match: Azure answers a failed
    If-None-Match:* with 409 BlobAlreadyExists and a missing blob under If-Match with 404, and
    both mean the precondition did not hold.
    """
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return BackendUnavailable(f"{BACKEND}: {operation} could not reach the service: {type(exc).__name__}")
    if not isinstance(exc, HttpResponseError):
        return BackendUnavailable(f"{BACKEND}: {operation} failed: {type(exc).__name__}")
    status = exc.status_code
    code = error_code(exc)
    if code == "ContainerNotFound" and bucket is not None:
        return BucketNotFound(bucket)
    if status == 404 and upload_id is not None and bucket is not None and key is not None:
        return UploadNotFound(bucket, key, upload_id)
    if conditional and (status == 412 or code in ("BlobAlreadyExists", "BlobNotFound") or status == 404):
        return PreconditionFailed(f"{bucket}/{key}: the condition on {operation} did not hold ({code})")
    if status == 404:
        if key is not None and bucket is not None:
            return ObjectNotFound(bucket, key)
        if bucket is not None:
            return BucketNotFound(bucket)
    if code == "ContainerAlreadyExists" and bucket is not None:
        return BucketAlreadyExists(bucket)
    if code == "InvalidBlockList":
        return BlocksDiscarded(
            f"{bucket}/{key}: {operation} named blocks Azure no longer holds — another write committed this key "
            "first and discarded them"
        )
    if status == 412:
        return PreconditionFailed(f"{bucket}/{key}: {operation} precondition failed ({code})")
    if status == 416:
        return InvalidRange(f"{bucket}/{key}: the range is outside the object ({code})")
    if status in (401, 403):
        return PermissionDenied(BACKEND, operation, code or "")
    if status is not None and status >= 500 and status not in (501, 505):
        return BackendUnavailable(f"{BACKEND}: {operation} failed after retries with HTTP {status} ({code})")
    return AzureRequestFailed(operation, status, code)


@contextlib.contextmanager
def azure_errors(
    operation: str,
    *,
    bucket: str | None = None,
    key: str | None = None,
    upload_id: str | None = None,
    conditional: bool = False,
) -> Iterator[None]:
    try:
        yield
    except AzureError as exc:
        raise translate(exc, operation, bucket=bucket, key=key, upload_id=upload_id, conditional=conditional) from exc
