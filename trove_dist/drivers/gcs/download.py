"""Streamed reads of one object generation, resumed where they broke off.

A read is one ``alt=media`` GET pinned to the generation ``head`` saw, so every byte comes from
that one version even if the key is overwritten meanwhile (on a versioned bucket the old
generation stays readable; on another bucket the GET then answers 404, and the driver looks
again).  The ``Range`` header is end-inclusive; trove's ``offset``/``length`` are converted here.
If the connection drops mid-body, the stream reopens at the byte it reached, still pinned to the
generation, within the retry policy's attempts.  ``Accept-Encoding: gzip`` asks for the stored
bytes as they are, so sizes and ranges refer to what is stored (GCS would otherwise decompress
objects stored with ``Content-Encoding: gzip``).
"""

from __future__ import annotations

from typing import Any

import requests
import urllib3.exceptions

from trove_dist.drivers.gcs.connection import Connection
from trove_dist.drivers.gcs.errors import BACKEND, TransientHTTPError, is_transient
from trove_dist.errors import BackendUnavailable, InvalidRange, PermissionDenied, TroveError

#: Read failures of an open body that a reopened request can recover from.
_BROKEN_BODY = (
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.ReadTimeoutError,
    requests.ConnectionError,
    ConnectionError,
    TimeoutError,
)


class GenerationGone(TroveError):
    """The generation being read no longer exists (replaced on a non-versioned bucket, or deleted)."""


class MediaStream:
    """A raw, readable byte stream of ``length`` bytes of one object generation from ``start``."""

    def __init__(
        self, connection: Connection, bucket: str, key: str, generation: int, start: int, length: int
    ) -> None:
        self._connection = connection
        self._bucket = bucket
        self._key = key
        self._generation = generation
        self._position = start
        self._end = start + length  # exclusive
        self._response: requests.Response | None = None
        self._failures = 0
        self._open()

    # ---- the reader's interface ------------------------------------------------------------

    def read(self, size: int = -1, /) -> bytes:
        wanted = self._end - self._position if size is None or size < 0 else min(size, self._end - self._position)
        if wanted <= 0:
            return b""
        while True:
            try:
                data: bytes = self._raw().read(wanted, decode_content=False)
            except _BROKEN_BODY as exc:
                self._reopen(exc)
                continue
            if not data:
                self._reopen(ConnectionError("the body ended early"))
                continue
            self._position += len(data)
            return data

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None

    # ---- requests ---------------------------------------------------------------------------

    def _raw(self) -> Any:
        if self._response is None:
            self._open()
        assert self._response is not None
        return self._response.raw

    def _reopen(self, cause: BaseException) -> None:
        self.close()
        self._failures += 1
        policy = self._connection.settings.retry
        if self._failures >= policy.attempts:
            raise BackendUnavailable(
                f"{BACKEND}: reading {self._bucket}/{self._key} broke off {self._failures} times "
                f"({type(cause).__name__})"
            ) from None
        self._open()

    def _open(self) -> None:
        self._response = self._connection.retry(f"get {self._bucket}/{self._key}").run(self._request)

    def _request(self) -> requests.Response:
        last = self._end - 1
        headers = {"Accept-Encoding": "gzip", "Range": f"bytes={self._position}-{last}"}
        response = self._connection.http.get(
            self._connection.media_url(self._bucket, self._key),
            params={"alt": "media", "generation": str(self._generation)},
            headers=headers,
            stream=True,
            timeout=self._connection.timeout,
        )
        status = response.status_code
        if status == 206:
            return response
        response.close()
        if is_transient(TransientHTTPError(status, "get")):
            raise TransientHTTPError(status, f"get {self._bucket}/{self._key}")
        if status == 200:
            raise TroveError(f"{BACKEND}: the server ignored the range of a read of {self._bucket}/{self._key}")
        if status == 404:
            raise GenerationGone(f"{self._bucket}/{self._key} generation {self._generation} is gone")
        if status == 416:
            raise InvalidRange(f"{BACKEND}: bytes {self._position}-{last} of {self._bucket}/{self._key}")
        if status in (401, 403):
            raise PermissionDenied(BACKEND, f"get {self._bucket}/{self._key}", f"HTTP {status}")
        raise TroveError(f"{BACKEND}: reading {self._bucket}/{self._key} was refused: HTTP {status}")
