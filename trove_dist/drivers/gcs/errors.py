"""GCS's failures, as trove's exceptions.

The SDK raises ``google.api_core`` exceptions for JSON API calls, ``InvalidResponse`` for media
transfers, ``requests``/``urllib3`` exceptions when the network fails, and ``google.auth``
exceptions when credentials are missing or refused.  ``is_transient`` decides what is retried
(the same set the SDK's own default retry uses); ``translate`` turns the rest into the condition
the caller catches.  A 404 does not say whether the bucket or the object is missing (the emulator
sends no body at all), so the caller passes what a 404 means for the operation at hand.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable

import requests
import urllib3.exceptions
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions
from google.cloud.storage.exceptions import InvalidResponse

from trove_dist.errors import (
    BackendUnavailable,
    InvalidRange,
    PermissionDenied,
    PreconditionFailed,
    TroveError,
)

BACKEND = "gcs"

_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    http.client.BadStatusLine,
    http.client.IncompleteRead,
    http.client.ResponseNotReady,
    urllib3.exceptions.PoolError,
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.TimeoutError,
)


class TransientHTTPError(TroveError):
    """A retryable HTTP status from a request the driver sends itself (media, resumable chunks).

    Carries no URL: a resumable session URL is a bearer capability and must not reach a message.
    """

    def __init__(self, status: int, what: str) -> None:
        super().__init__(f"{what}: HTTP {status}")
        self.status = status


def status_of(exc: BaseException) -> int | None:
    """The HTTP status behind ``exc``, if it came from an HTTP answer."""
    if isinstance(exc, api_exceptions.GoogleAPICallError):
        return int(exc.code) if exc.code is not None else None
    if isinstance(exc, InvalidResponse):
        return int(exc.response.status_code)
    if isinstance(exc, TransientHTTPError):
        return exc.status
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return int(exc.response.status_code)
    return None


def is_transient(exc: BaseException) -> bool:
    """Worth another attempt: the network failed, or the service said "later" (408/429/5xx)."""
    if isinstance(exc, _TRANSIENT_TYPES):
        return True
    if isinstance(exc, auth_exceptions.TransportError):
        # Fetching a token failed on the network; the cause says how.
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        return cause is None or is_transient(cause)
    status = status_of(exc)
    return status is not None and status in _TRANSIENT_STATUS


def translate(
    exc: BaseException,
    *,
    operation: str,
    not_found: Callable[[], TroveError],
    conflict: Callable[[], TroveError] | None = None,
) -> TroveError:
    """The trove exception for a native one (the caller raises it ``from exc``).

    ``not_found`` builds what a 404 means here (it may probe whether the bucket exists);
    ``conflict`` what a 409 means (bucket exists, bucket not empty).
    """
    if isinstance(exc, TroveError) and not isinstance(exc, TransientHTTPError):
        return exc
    if isinstance(exc, auth_exceptions.DefaultCredentialsError):
        return PermissionDenied(BACKEND, operation, "no credentials found: pass credentials=PATH or configure ADC")
    if isinstance(exc, auth_exceptions.RefreshError):
        return PermissionDenied(BACKEND, operation, "the credentials were refused when fetching a token")
    if is_transient(exc):
        return BackendUnavailable(f"{BACKEND}: {operation} failed: {_describe(exc)}")
    status = status_of(exc)
    if status == 404:
        return not_found()
    if status == 409 and conflict is not None:
        return conflict()
    if status == 412:
        return PreconditionFailed(f"{BACKEND}: {operation}: the object is not in the state the condition requires")
    if status in (401, 403):
        return PermissionDenied(BACKEND, operation, f"HTTP {status}")
    if status == 416:
        return InvalidRange(f"{BACKEND}: {operation}: the range is not satisfiable")
    if status is not None:
        return TroveError(f"{BACKEND}: {operation} was refused: {_describe(exc)}")
    return TroveError(f"{BACKEND}: {operation} failed: {_describe(exc)}")


def _describe(exc: BaseException) -> str:
    """A short description that never quotes a URL (session URLs are capabilities)."""
    status = status_of(exc)
    if isinstance(exc, api_exceptions.GoogleAPICallError):
        return f"HTTP {status}: {exc.message}"
    if status is not None:
        return f"HTTP {status}"
    return type(exc).__name__
