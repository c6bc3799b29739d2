"""Reading a blob as a stream of ranged requests, a few ranges ahead of the reader.

The SDK's own streaming (``StorageStreamDownloader.read``) fetches one range at a time, on the
reader's thread, so the network idles while the caller processes each range.  Here a small
pool keeps up to ``depth`` ranges in flight; every range after the first is conditional on the
etag the read opened (If-Match), so a reader never mixes two versions of an object: if it is
replaced meanwhile, the read fails with ``PreconditionFailed`` (or ``ObjectNotFound`` once
deleted) — Azure keeps no old version to finish from.

Memory: the SDK assembles each answer with ``b"".join(list(stream))``, and ``list`` sizes
itself from the stream's length, briefly taking 8 bytes of pointers per body byte.  With ranges
of ``chunk`` bytes the transient peak is about ``depth * 10 * chunk``, which is why ranges are
small (see ``driver.READ_CHUNK_LIMIT``).
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

from azure.core import MatchConditions
from azure.storage.blob import BlobClient

from trove_dist.drivers.azure.errors import azure_errors
from trove_dist.drivers.azure.metadata import quote_etag
from trove_dist.errors import BackendUnavailable


class RangedReader:
    """``read(n)`` over bytes ``[start, end)`` of a blob, ``first`` already fetched."""

    def __init__(
        self,
        blob: BlobClient,
        *,
        bucket: str,
        key: str,
        etag: str,
        first: bytes,
        start: int,
        end: int,
        chunk: int,
        depth: int,
    ) -> None:
        self._blob = blob
        self._bucket = bucket
        self._key = key
        self._etag = quote_etag(etag)
        self._buffer = memoryview(first)
        self._next_offset = start + len(first)
        self._end = end
        self._chunk = chunk
        self._depth = depth
        self._pending: deque[Future[bytes]] = deque()
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def read(self, size: int = -1, /) -> bytes:
        if not self._buffer:
            self._schedule()
            if not self._pending:
                return b""
            self._buffer = memoryview(self._pending.popleft().result())
            self._schedule()
        if size < 0 or size >= len(self._buffer):
            out, self._buffer = bytes(self._buffer), memoryview(b"")
            return out
        out = bytes(self._buffer[:size])
        self._buffer = self._buffer[size:]
        return out

    def _schedule(self) -> None:
        """Keep ``depth`` ranges in flight while any remain."""
        with self._lock:
            if self._closed:
                raise ValueError("read from a closed Azure download")
            while len(self._pending) < self._depth and self._next_offset < self._end:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=self._depth, thread_name_prefix="trove-azure-get")
                length = min(self._chunk, self._end - self._next_offset)
                self._pending.append(self._pool.submit(self._fetch, self._next_offset, length))
                self._next_offset += length

    def _fetch(self, offset: int, length: int) -> bytes:
        # If-Match: 412 (replaced) is PreconditionFailed, 404 (deleted) ObjectNotFound.
        with azure_errors("get", bucket=self._bucket, key=self._key):
            download = self._blob.download_blob(
                offset=offset,
                length=length,
                etag=self._etag,
                match_condition=MatchConditions.IfNotModified,
                max_concurrency=1,
            )
            data = download.readall()
        if len(data) != length:
            raise BackendUnavailable(f"azure: a range of {length} bytes came back with {len(data)}")
        return data

    def close(self) -> None:
        """Stop fetching and wait for ranges in flight: no thread outlives the reader."""
        with self._lock:
            self._closed = True
            pending, self._pending = self._pending, deque()
            pool, self._pool = self._pool, None
        for future in pending:
            future.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._buffer = memoryview(b"")
