"""A pool of fixed-size chunk buffers, so a long transfer does not allocate one per chunk."""

from __future__ import annotations

import threading


class ChunkPool:
    """``get()`` hands out a ``bytearray`` of ``chunk_size`` bytes (reused when one is free);
    ``put()`` takes it back.  At most ``max_free`` idle buffers are kept."""

    def __init__(self, chunk_size: int, max_free: int = 8) -> None:
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        self.chunk_size = chunk_size
        self.max_free = max_free
        self._free: list[bytearray] = []
        self._lock = threading.Lock()
        self.allocated = 0

    def get(self) -> bytearray:
        with self._lock:
            if self._free:
                return self._free.pop()
            self.allocated += 1
        return bytearray(self.chunk_size)

    def put(self, buffer: bytearray) -> None:
        if len(buffer) != self.chunk_size:
            raise ValueError("a buffer of another size does not belong to this pool")
        with self._lock:
            if len(self._free) < self.max_free:
                self._free.append(buffer)
