"""A reader that checks the stored checksum as the bytes go by."""

from __future__ import annotations

import io

from trove_dist.checksum import Checksum, new_hasher
from trove_dist.driver.models import ObjectInfo
from trove_dist.driver.reader import ObjectReader
from trove_dist.errors import ChecksumMismatch


class VerifyingReader(io.RawIOBase):
    """Wraps a whole-object ``ObjectReader``; raises ``ChecksumMismatch`` from the read that
    reaches the end if the content does not hash to ``expected``.  A caller that stops early
    has verified nothing, and is told nothing."""

    def __init__(self, inner: ObjectReader, expected: Checksum) -> None:
        super().__init__()
        self._inner = inner
        self._expected = expected
        self._hasher = new_hasher(expected.algorithm)
        self._remaining = inner.length
        self.info: ObjectInfo = inner.info
        self.offset = inner.offset
        self.length = inner.length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = self._inner.readinto(buffer)
        if n:
            self._hasher.update(memoryview(buffer)[:n])
            self._remaining -= n
        if (not n and len(buffer)) or self._remaining == 0:
            self._check()
        return n

    def read(self, size: int | None = -1) -> bytes:
        data = self._inner.read(size)
        self._hasher.update(data)
        self._remaining -= len(data)
        if (not data and size != 0) or self._remaining == 0:
            self._check()
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def _check(self) -> None:
        actual = Checksum(self._expected.algorithm, self._hasher.hexdigest())
        if not self._expected.matches(actual):
            raise ChecksumMismatch(
                f"{self.info.bucket}/{self.info.key}", actual.algorithm, self._expected.value, actual.value
            )

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
        super().close()
