"""How an object's plaintext is cut into the chunks that are deduplicated.

Fixed-size chunks are the cheapest and dedup identical or block-aligned content (VM images,
appended logs).  But one byte inserted near the start shifts every later boundary and nothing
after it dedups any more.  Content-defined chunking (FastCDC, through ``pyfastcdc``) puts
boundaries where a rolling hash of the content says so, so boundaries move with an insertion and
only the chunks around an edit change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

MiB = 1024 * 1024


class Chunker(Protocol):
    def split(self, chunks: Iterable[bytes]) -> Iterator[bytes | memoryview]:
        """The dedup chunks of the stream ``chunks``; a yielded view is valid until the next one."""


class FixedSizeChunker:
    def __init__(self, size: int = 1 * MiB) -> None:
        if size <= 0:
            raise ValueError("chunk size must be positive")
        self.size = size

    def split(self, chunks: Iterable[bytes]) -> Iterator[bytes | memoryview]:
        size = self.size
        carry = bytearray()
        for chunk in chunks:
            view = memoryview(chunk)
            if carry:
                taken = view[: size - len(carry)]
                carry += taken
                view = view[len(taken) :]
                if len(carry) < size:
                    continue
                yield bytes(carry)
                carry = bytearray()
            while len(view) >= size:  # views of the input: no copy for whole chunks
                yield view[:size]
                view = view[size:]
            carry += view
        if carry:
            yield bytes(carry)

    def __repr__(self) -> str:
        return f"FixedSizeChunker({self.size})"


class ContentDefinedChunker:
    """FastCDC 2020 (``pyfastcdc``, Cython).  Chunks average about ``avg_size + min_size`` bytes
    and never exceed ``max_size``."""

    def __init__(self, avg_size: int = 256 * 1024, *, min_size: int | None = None, max_size: int | None = None) -> None:
        try:
            from pyfastcdc import FastCDC
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise ImportError("content-defined chunking needs pyfastcdc: pip install 'trove_dist[cas]'") from exc
        self._cdc = FastCDC(avg_size, min_size=min_size, max_size=max_size)
        self.avg_size = avg_size

    def split(self, chunks: Iterable[bytes]) -> Iterator[bytes | memoryview]:
        for chunk in self._cdc.cut_stream(_IterableReader(chunks)):
            yield bytes(chunk.data)  # the chunker reuses its buffer for the next chunk

    def __repr__(self) -> str:
        return f"ContentDefinedChunker(avg={self.avg_size}, min={self._cdc.min_size}, max={self._cdc.max_size})"


class _IterableReader:
    """``readinto`` over an iterable of byte strings (what ``FastCDC.cut_stream`` reads)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readinto(self, buffer: memoryview) -> int:
        filled = 0
        while filled < len(buffer):
            if not self._pending:
                nxt = next(self._chunks, None)
                if nxt is None:
                    break
                self._pending = memoryview(nxt)
                continue
            n = min(len(buffer) - filled, len(self._pending))
            buffer[filled : filled + n] = self._pending[:n]
            self._pending = self._pending[n:]
            filled += n
        return filled
