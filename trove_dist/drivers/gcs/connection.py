"""One GCS endpoint as the driver's parts share it: the SDK client, the HTTP session under it,
the retry policy, and the translation of failures into trove's exceptions.

The driver owns one ``requests`` session (an ``AuthorizedSession`` that adds the OAuth token) and
hands it to ``storage.Client``; its own media requests (streamed downloads, resumable chunks) use
the same session, so there is one connection pool to size and to close.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import requests
from google.api_core import exceptions as api_exceptions
from google.auth.credentials import AnonymousCredentials, Credentials
from google.auth.transport.requests import AuthorizedSession
from google.cloud.storage import Client as StorageClient

from trove_dist.drivers.gcs.config import GCSSettings
from trove_dist.drivers.gcs.errors import translate
from trove_dist.drivers.gcs.retry import PolicyRetry
from trove_dist.errors import BucketNotFound, ObjectNotFound, TroveError

#: Connections kept per host: enough for the parallel callers the conformance suite runs.
POOL_SIZE = 16


class Connection:
    """What every operation of the driver needs to talk to GCS."""

    def __init__(
        self,
        settings: GCSSettings,
        credentials: Credentials,
        project: str | None,
        http: requests.Session | None = None,
    ) -> None:
        self.settings = settings
        self._owns_http = http is None
        if http is None:
            http = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
            adapter = requests.adapters.HTTPAdapter(pool_connections=POOL_SIZE, pool_maxsize=POOL_SIZE)
            http.mount("https://", adapter)
            http.mount("http://", adapter)
        self.http: requests.Session = http
        # No project: an anonymous client has none ("<none>"); otherwise the SDK finds it.
        project_argument: dict[str, str | None] = {}
        if project:
            project_argument["project"] = project
        elif isinstance(credentials, AnonymousCredentials):
            project_argument["project"] = None
        try:
            self.client: Any = StorageClient(
                credentials=credentials,
                _http=self.http,
                client_options={"api_endpoint": settings.endpoint},
                **project_argument,
            )
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the session the driver made (a session handed in belongs to the caller)."""
        if self._owns_http:
            self.http.close()

    # ---- handles (no I/O) ------------------------------------------------------------------

    def bucket(self, name: str) -> Any:
        return self.client.bucket(name)

    def blob(self, bucket: str, key: str, generation: int | None = None) -> Any:
        return self.client.bucket(bucket).blob(key, generation=generation)

    def media_url(self, bucket: str, key: str) -> str:
        """The JSON API download URL of an object (``alt=media`` and any generation go in params)."""
        return f"{self.settings.endpoint}/download/storage/v1/b/{quote(bucket, safe='')}/o/{quote(key, safe='')}"

    def retry(self, operation: str) -> PolicyRetry:
        return PolicyRetry(self.settings.retry, operation)

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.settings.timeout, self.settings.timeout)

    # ---- failures ---------------------------------------------------------------------------

    def bucket_exists(self, bucket: str) -> bool:
        """Whether ``bucket`` exists (raises a trove error when GCS cannot say)."""
        try:
            self.bucket(bucket).reload(retry=self.retry("bucket exists"), timeout=self.timeout, projection="noAcl")
        except api_exceptions.NotFound:
            return False
        except Exception as exc:
            raise translate(exc, operation="bucket exists", not_found=lambda: BucketNotFound(bucket)) from exc
        return True

    def missing(self, bucket: str, key: str | None, otherwise: Callable[[], TroveError] | None = None) -> TroveError:
        """What a 404 means: the bucket is missing, or else the object (or ``otherwise()``)."""
        if not self.bucket_exists(bucket):
            return BucketNotFound(bucket)
        if otherwise is not None:
            return otherwise()
        return ObjectNotFound(bucket, key) if key is not None else BucketNotFound(bucket)

    def error(
        self,
        exc: BaseException,
        operation: str,
        bucket: str,
        key: str | None = None,
        *,
        not_found: Callable[[], TroveError] | None = None,
        conflict: Callable[[], TroveError] | None = None,
    ) -> TroveError:
        return translate(
            exc,
            operation=operation,
            not_found=lambda: self.missing(bucket, key, not_found),
            conflict=conflict,
        )

    @contextlib.contextmanager
    def translated(
        self,
        operation: str,
        bucket: str,
        key: str | None = None,
        *,
        not_found: Callable[[], TroveError] | None = None,
        conflict: Callable[[], TroveError] | None = None,
    ) -> Iterator[None]:
        """Raise trove's exception for any native failure inside the block."""
        try:
            yield
        except Exception as exc:
            error = self.error(exc, operation, bucket, key, not_found=not_found, conflict=conflict)
            if error is exc:
                raise
            raise error from exc
