"""Grouping frames into destination parts.

Frames are produced out of order and their sizes are only known once transformed (compression
makes them small and uneven), while destinations impose part rules: S3 wants every part but the
last to be at least 5 MiB and at most 10,000 parts.  So parts are cut from the *contiguous run*
of recorded frames at the front of the stream: as soon as that run holds enough bytes for a part,
a part is cut; the final frame closes the last part whatever its size.  Cutting is a pure
function of the recorded sizes, applied atomically by a store, so every worker agrees on it.

To stay under ``max_parts`` for streams of unknown length, the minimum part size doubles after
each fifth of the allowance.
"""

from __future__ import annotations

from collections.abc import Mapping

from trove_dist.stream.records import Part


def part_minimum(part_number: int, part_min: int, max_parts: int) -> int:
    step = max(max_parts // 5, 1)
    return part_min << min((part_number - 1) // step, 16)


def plan_cuts(
    frames: Mapping[int, int],
    next_frame: int,
    next_part: int,
    total: int | None,
    part_min: int,
    max_parts: int,
    header_size: int = 0,
    cut_by: int = -1,
    now: float = 0.0,
) -> list[Part]:
    """The parts that can be cut now, given stored frame sizes by index, the first frame not yet
    in a part, the next part number and (if known) the number of frames."""
    parts: list[Part] = []
    start = next_frame
    number = next_part
    size = header_size if number == 1 else 0
    index = start
    while index in frames and (total is None or index < total):
        size += frames[index]
        final = total is not None and index == total - 1
        if size >= part_minimum(number, part_min, max_parts) or final:
            parts.append(Part(number, start, index, cut_by=cut_by, cut_at=now))
            number += 1
            start = index + 1
            size = 0
        index += 1
    if number - 1 > max_parts:
        raise ValueError(f"the stream needs more than {max_parts} parts")
    return parts
