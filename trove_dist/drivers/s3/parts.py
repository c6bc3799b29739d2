"""Part sizes that keep any upload within S3's rules: parts of 5 MiB to 5 GiB (the last may be
smaller) and at most 10,000 of them.

With the size known up front the part size is fixed: the configured one, or the smallest whole
MiB that fits the object in 10,000 parts.  A stream of unknown length cannot be planned, so its
part size doubles every 1,000 parts — 8 MiB parts reach 8 GB before the first doubling (memory
stays low for everyday streams), and ten tiers hold about 8 TiB, past S3's 5 TiB object limit.
"""

from __future__ import annotations

from trove_dist.drivers.s3.settings import MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE, MiB

#: Parts per size tier for streams of unknown length.
TIER_PARTS = 1_000


class TooManyParts(ValueError):
    """The stream is longer than 10,000 parts can carry (over S3's 5 TiB object limit)."""


class PartSizer:
    def __init__(self, part_size: int, expected_size: int | None) -> None:
        part_size = max(part_size, MIN_PART_SIZE)
        if expected_size is None:
            self.base = part_size
            self.planned_parts = 0
        else:
            needed = -(-expected_size // MAX_PARTS)
            self.base = min(MAX_PART_SIZE, max(part_size, -(-needed // MiB) * MiB))
            self.planned_parts = max(1, -(-expected_size // self.base))

    def size_of(self, part_number: int) -> int:
        """The size of part ``part_number`` (1-based); every part but the last is exactly this."""
        if not 1 <= part_number <= MAX_PARTS:
            raise TooManyParts(f"part {part_number}: S3 allows parts 1 to {MAX_PARTS} (the body is too large)")
        if part_number <= self.planned_parts:
            return self.base
        return min(MAX_PART_SIZE, self.base << ((part_number - 1) // TIER_PARTS))
