"""A large object is streamed in and out: memory stays bounded whatever the object's size.

The body comes from a generator and is verified with a running hash, so the test itself never
holds the object.  ``tracemalloc`` measures what the driver allocates on the way; an in-memory
driver may keep the object itself, but nothing more than a bounded buffer on top of it.
"""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from trove_dist.driver.base import Driver
from trove_dist.errors import BucketNotFound
from trove_dist.testing.harness import BucketFactory, ConformanceBase, MiB, payload

T = TypeVar("T")
CHUNK = 1 * MiB


def _chunks(size: int, seen: Callable[[bytes], object] | None = None) -> Iterator[bytes]:
    """``size`` bytes in 1 MiB chunks, each unique (its index is stamped at the front)."""
    block = payload(CHUNK, "large")
    for index, start in enumerate(range(0, size, CHUNK)):
        chunk = (index.to_bytes(8, "big") + block[8:])[: min(CHUNK, size - start)]
        if seen is not None:
            seen(chunk)
        yield chunk


def _measure(action: Callable[[], T]) -> tuple[T, int, int]:
    """Run ``action``; return its result, the bytes it left allocated, and its allocation peak."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        result = action()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return result, current - base, peak - base


class LargeObjectTests(ConformanceBase):
    #: The size of the large object; a slow remote backend may lower it explicitly.
    large_object_size = 256 * MiB
    #: What a streamed put or get may allocate beyond the object a driver keeps in memory.
    large_object_memory_limit = 64 * MiB

    def test_large_object_is_streamed_in_with_bounded_memory(self, driver: Driver, bucket: str) -> None:
        size = self.large_object_size
        sent = hashlib.sha256()
        info, retained, peak = _measure(lambda: driver.put(bucket, "large", _chunks(size, sent.update)))
        assert info.size == size
        assert driver.head(bucket, "large").size == size
        # A driver holding objects in memory keeps `retained` bytes; anything above it is buffering.
        assert peak - retained < self.large_object_memory_limit, (
            f"put of a {size >> 20} MiB stream peaked at {peak >> 20} MiB of allocations "
            f"({retained >> 20} MiB kept as the stored object): the body is not streamed"
        )
        assert _read_digest(driver, bucket, "large") == (size, sent.hexdigest())

    def test_large_object_is_streamed_out_with_bounded_memory(self, driver: Driver, bucket: str) -> None:
        size = self.large_object_size
        sent = hashlib.sha256()
        driver.put(bucket, "large", _chunks(size, sent.update))

        (count, digest), _, peak = _measure(lambda: _read_digest(driver, bucket, "large"))
        assert count == size
        assert digest == sent.hexdigest(), "the large object came back with different content"
        assert peak < self.large_object_memory_limit, (
            f"streaming a {size >> 20} MiB object back peaked at {peak >> 20} MiB of allocations"
        )

        def read_tail() -> bytes:
            with driver.get(bucket, "large", offset=size - 1000) as reader:
                return reader.read()

        tail, _, tail_peak = _measure(read_tail)
        assert tail == _last_bytes(size, 1000)
        assert tail_peak < self.large_object_memory_limit, (
            f"reading the last 1000 bytes of a {size >> 20} MiB object allocated {tail_peak >> 20} MiB"
        )

    def test_streamed_put_into_a_missing_bucket(self, driver: Driver, new_bucket: BucketFactory) -> None:
        missing = new_bucket.name("missing")
        with pytest.raises(BucketNotFound):
            driver.put(missing, "large", _chunks(8 * MiB))
        assert not driver.bucket_exists(missing)


def _read_digest(driver: Driver, bucket: str, key: str) -> tuple[int, str]:
    """Stream an object back in 1 MiB reads: its size and SHA-256, without holding it."""
    received = hashlib.sha256()
    count = 0
    with driver.get(bucket, key) as reader:
        while chunk := reader.read(CHUNK):
            received.update(chunk)
            count += len(chunk)
    return count, received.hexdigest()


def _last_bytes(size: int, count: int) -> bytes:
    tail = b""
    for chunk in _chunks(size):
        tail = (tail + chunk)[-count:]
    return tail
