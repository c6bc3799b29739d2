"""Byte ranges: ``get(offset, length)`` and, where claimed, ``RangeDriver.get_range``."""

from __future__ import annotations

import pytest

from trove_dist.driver.base import Driver
from trove_dist.errors import InvalidRange, ObjectNotFound
from trove_dist.testing.harness import ConformanceBase, payload
from trove_dist.testing.requirements import need_range

SIZE = 10_000
DATA = payload(SIZE, "ranges")

#: (offset, length) -> the slice of DATA expected back
RANGES: dict[str, tuple[int, int | None]] = {
    "start": (0, 100),
    "middle": (4000, 1234),
    "end": (SIZE - 100, 100),
    "to-end-implicit": (SIZE - 100, None),
    "from-zero-implicit": (0, None),
    "last-byte": (SIZE - 1, 1),
    "length-past-end": (SIZE - 10, 1000),
    "huge-length": (5, 1 << 62),
    "zero-length": (500, 0),
}


class RangeTests(ConformanceBase):
    @pytest.mark.parametrize(("offset", "length"), RANGES.values(), ids=RANGES.keys())
    def test_get_range(self, driver: Driver, bucket: str, offset: int, length: int | None) -> None:
        driver.put(bucket, "obj", DATA)
        expected = DATA[offset:] if length is None else DATA[offset : offset + length]
        with driver.get(bucket, "obj", offset=offset, length=length) as reader:
            assert reader.read() == expected
            assert (reader.offset, reader.length) == (offset, len(expected))
            assert reader.info.size == SIZE, "info describes the whole object, not the range"

    def test_range_read_in_small_pieces(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "obj", DATA)
        with driver.get(bucket, "obj", offset=1000, length=3000) as reader:
            pieces = list(reader.iter_chunks(333))
        assert b"".join(pieces) == DATA[1000:4000]
        assert all(len(p) <= 333 for p in pieces)

    @pytest.mark.parametrize("offset", [SIZE, SIZE + 1, 1 << 40])
    def test_offset_at_or_past_the_end_raises_invalid_range(self, driver: Driver, bucket: str, offset: int) -> None:
        driver.put(bucket, "obj", DATA)
        with pytest.raises(InvalidRange):
            driver.get(bucket, "obj", offset=offset, length=1)
        with pytest.raises(InvalidRange):
            driver.get(bucket, "obj", offset=offset)

    def test_negative_range_raises_invalid_range(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "obj", DATA)
        with pytest.raises(InvalidRange):
            driver.get(bucket, "obj", offset=-1)
        with pytest.raises(InvalidRange):
            driver.get(bucket, "obj", offset=0, length=-1)

    def test_zero_byte_object_ranges(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "empty", b"")
        for length in (None, 0, 10):
            with driver.get(bucket, "empty", offset=0, length=length) as reader:
                assert reader.read() == b""
                assert reader.length == 0
        with pytest.raises(InvalidRange):
            driver.get(bucket, "empty", offset=1)

    def test_range_of_missing_object(self, driver: Driver, bucket: str) -> None:
        with pytest.raises(ObjectNotFound):
            driver.get(bucket, "missing", offset=10, length=10)

    # ---- RangeDriver ------------------------------------------------------------------

    @pytest.mark.parametrize(("offset", "length"), RANGES.values(), ids=RANGES.keys())
    def test_range_driver_get_range(self, driver: Driver, bucket: str, offset: int, length: int | None) -> None:
        ranged = need_range(driver)
        driver.put(bucket, "obj", DATA)
        expected = DATA[offset:] if length is None else DATA[offset : offset + length]
        with ranged.get_range(bucket, "obj", offset, length) as reader:
            assert reader.read() == expected
            assert reader.info.size == SIZE

    def test_range_driver_refuses_ranges_past_the_end(self, driver: Driver, bucket: str) -> None:
        ranged = need_range(driver)
        driver.put(bucket, "obj", DATA)
        with pytest.raises(InvalidRange):
            ranged.get_range(bucket, "obj", SIZE, 1)
        with pytest.raises(InvalidRange):
            ranged.get_range(bucket, "obj", -1, None)
        with pytest.raises(ObjectNotFound):
            ranged.get_range(bucket, "missing", 0, 1)
