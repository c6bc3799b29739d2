"""GetObject bodies that survive a dropped connection.

A long read can lose its connection half-way.  Instead of failing the whole read, the body asks
S3 again for the bytes not yet delivered — a ranged GET pinned to the object's etag, so the rest
can only come from the same version — under the driver's retry policy.  If the object was
replaced meanwhile the read fails with ``PreconditionFailed`` rather than splicing two versions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError
from urllib3.exceptions import HTTPError as Urllib3HTTPError

from trove_dist.drivers.s3.api import S3Api
from trove_dist.drivers.s3.errors import Target, is_transient, translate

#: Opens the object again from a byte position (inclusive); returns a fresh streaming body.
Reopen = Callable[[int], Any]


class ResumingBody:
    """A readable source for ``ObjectReader`` over bytes ``start .. end-1`` of one object."""

    def __init__(self, api: S3Api, target: Target, body: Any, start: int, end: int, reopen: Reopen) -> None:
        self._api = api
        self._target = target
        self._body = body
        self._position = start
        self._end = end
        self._reopen = reopen

    def read(self, size: int = -1, /) -> bytes:
        remaining = self._end - self._position
        if size < 0 or size > remaining:
            size = remaining
        if size == 0:
            return b""
        try:
            data: bytes = self._body.read(size)
        except (BotoCoreError, Urllib3HTTPError, OSError) as exc:
            if not is_transient(exc):
                raise translate(exc, "get_object (read)", self._target) from exc
            data = self._api.run("get_object (resume)", self._target, lambda: self._resume(size))
        self._position += len(data)
        return data

    def _resume(self, size: int) -> bytes:
        self._body.close()
        self._body = self._reopen(self._position)
        data: bytes = self._body.read(size)
        return data

    def close(self) -> None:
        self._body.close()
