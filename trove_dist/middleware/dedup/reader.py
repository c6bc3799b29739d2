"""Reading a deduplicated object back: only the chunks a range needs, each verified."""

from __future__ import annotations

import io

from trove_dist.cas.cas import CAS
from trove_dist.middleware.dedup.manifest import Manifest


class ChunkReader(io.RawIOBase):
    """The bytes ``[offset, offset + length)`` of the object a manifest describes, fetching one
    chunk at a time from the CAS (which checks each chunk against its hash)."""

    def __init__(self, cas: CAS, manifest: Manifest, offset: int, length: int) -> None:
        super().__init__()
        self._cas = cas
        self._manifest = manifest
        self._indexes = iter(manifest.chunks_for(offset, length))
        self._position = offset
        self._end = offset + length
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        while not self._buffer:
            if self._position >= self._end or not self._next_chunk():
                return 0
        n = min(len(view), len(self._buffer))
        view[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def _next_chunk(self) -> bool:
        index = next(self._indexes, None)
        if index is None:
            return False
        data = self._cas.read(self._manifest.digests[index])
        start = self._manifest.offsets[index]
        lo = max(self._position - start, 0)
        hi = min(self._end - start, len(data))
        self._buffer = memoryview(data)[lo:hi]
        self._position = start + hi
        return True
