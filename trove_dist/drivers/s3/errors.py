"""botocore's failures, translated into trove's hierarchy.

S3 reports conditions through an error code in the response body (``NoSuchBucket``,
``PreconditionFailed`` …) and, for bodiless responses such as HEAD, only through the status.  The
code is preferred; the status is the fallback.  What counts as transient (retried, then reported
as ``BackendUnavailable``) is decided here too, so that the retry loop and the mapping agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from urllib3.exceptions import HTTPError as Urllib3HTTPError
from urllib3.exceptions import ProtocolError

from trove_dist.errors import (
    BackendUnavailable,
    BucketAlreadyExists,
    BucketNotEmpty,
    BucketNotFound,
    InvalidRange,
    NotFound,
    ObjectNotFound,
    PermissionDenied,
    PreconditionFailed,
    TroveError,
    UploadNotFound,
    VersionNotFound,
)

BACKEND = "s3"

#: Codes S3 (and S3-compatible stores) use for "try again later".
_TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "RequestTimeout",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "OperationAborted",
    }
)
_ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "AccountProblem",
    }
)
#: Errors below HTTP that a new attempt may cure: refused or dropped connections, timeouts.
_TRANSIENT_TRANSPORT = (
    EndpointConnectionError,
    ConnectionClosedError,
    HTTPClientError,  # includes connect/read timeouts and proxy errors
    IncompleteReadError,
    ResponseStreamingError,
    ReadTimeoutError,
    ProtocolError,
    Urllib3HTTPError,
    ConnectionError,
    TimeoutError,
)


#: Codes for a request S3 found malformed or outside its limits: the caller's mistake, not a
#: condition of the store.
_REFUSED_CODES = frozenset(
    {
        "InvalidArgument",
        "InvalidRequest",
        "InvalidPart",
        "InvalidPartOrder",
        "EntityTooSmall",
        "EntityTooLarge",
        "MetadataTooLarge",
        "KeyTooLongError",
        "MalformedXML",
        "InvalidBucketName",
    }
)


class S3RequestRefused(TroveError, ValueError):
    """S3 refused a request as malformed or beyond its limits (a part under 5 MiB, metadata over
    2 KB, an expired continuation token …); the message carries S3's code."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class ConfigurationNotFound(NotFound):
    """A bucket has no configuration of the kind asked for (``NoSuchLifecycleConfiguration`` …):
    the bucket exists, the setting is simply not set."""

    def __init__(self, bucket: str, code: str) -> None:
        super().__init__(f"{bucket} has no such configuration ({code})")
        self.bucket = bucket
        self.code = code


@dataclass(frozen=True, slots=True)
class Target:
    """What a request was about, so that an error can name it."""

    bucket: str | None = None
    key: str | None = None
    upload_id: str | None = None
    version_id: str | None = None

    def __str__(self) -> str:
        text = self.bucket or ""
        if self.key is not None:
            text += f"/{self.key}"
        if self.version_id is not None:
            text += f"@{self.version_id}"
        return text


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def http_status(exc: BaseException) -> int:
    if isinstance(exc, ClientError):
        status: Any = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return int(status or 0)
    return 0


def is_transient(exc: BaseException) -> bool:
    """Worth another attempt: 5xx, throttling, timeouts, refused or dropped connections."""
    if isinstance(exc, ClientError):
        return error_code(exc) in _TRANSIENT_CODES or http_status(exc) >= 500
    return isinstance(exc, _TRANSIENT_TRANSPORT)


def translate(exc: BaseException, operation: str, target: Target) -> Exception:
    """The trove error for a botocore failure of ``operation`` on ``target``.

    A condition the hierarchy does not name becomes a plain ``TroveError`` carrying S3's code
    and message (the botocore exception stays chained as its cause).
    """
    if not isinstance(exc, ClientError):
        return _translate_transport(exc, operation, target)
    code = error_code(exc)
    status = http_status(exc)
    message = str(exc.response.get("Error", {}).get("Message", "")) or code
    bucket = target.bucket or str(exc.response.get("Error", {}).get("BucketName", ""))
    key = target.key or ""
    if code == "NoSuchBucket":
        return BucketNotFound(str(exc.response.get("Error", {}).get("BucketName") or bucket))
    if code.startswith("NoSuch") and code.endswith("Configuration"):
        return ConfigurationNotFound(bucket, code)
    if code == "NoSuchUpload":
        return UploadNotFound(bucket, key, target.upload_id or "")
    if code == "NoSuchVersion" or (target.version_id is not None and code == "InvalidArgument"):
        return VersionNotFound(bucket, key, target.version_id or "")
    if code == "NoSuchKey":
        return ObjectNotFound(bucket, key)
    if code in ("PreconditionFailed", "ConditionalRequestConflict") or status == 412:
        return PreconditionFailed(f"{BACKEND}: {operation} on {target}: {message}")
    if code == "InvalidRange" or status == 416:
        return InvalidRange(f"{BACKEND}: {operation} on {target}: {message}")
    if code in ("BucketAlreadyExists", "BucketAlreadyOwnedByYou"):
        return BucketAlreadyExists(bucket)
    if code == "BucketNotEmpty":
        return BucketNotEmpty(bucket)
    if code in _ACCESS_CODES or status == 403:
        return PermissionDenied(BACKEND, operation, f"{target}: {code}")
    if status == 404:  # HEAD answers have no body, hence no code: the target says what is missing
        if target.version_id is not None:
            return VersionNotFound(bucket, key, target.version_id)
        return ObjectNotFound(bucket, key) if target.key is not None else BucketNotFound(bucket)
    if status == 405 and _names_delete_marker(exc):  # a version that is a delete marker has no content
        return ObjectNotFound(bucket, key)
    if code in _TRANSIENT_CODES or status >= 500:
        return BackendUnavailable(f"{BACKEND}: {operation} on {target}: {code}: {message}")
    if code in _REFUSED_CODES or status == 400:
        return S3RequestRefused(f"{BACKEND}: {operation} on {target} refused: {code}: {message}", code)
    return TroveError(f"{BACKEND}: {operation} on {target} failed: {code} (HTTP {status}): {message}")


def _names_delete_marker(exc: ClientError) -> bool:
    headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return str(headers.get("x-amz-delete-marker", "")).lower() == "true"


def _translate_transport(exc: BaseException, operation: str, target: Target) -> Exception:
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return PermissionDenied(BACKEND, operation, "no usable credentials (give them in the DSN or boto3's chain)")
    if isinstance(exc, _TRANSIENT_TRANSPORT):
        return BackendUnavailable(f"{BACKEND}: {operation} on {target}: {type(exc).__name__}: {exc}")
    if isinstance(exc, BotoCoreError):
        return TroveError(f"{BACKEND}: {operation} on {target} failed: {type(exc).__name__}: {exc}")
    return TroveError(f"{BACKEND}: {operation} on {target} failed: {type(exc).__name__}")
