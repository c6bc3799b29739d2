"""Transfer progress and the hooks a stream calls."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from trove_dist.driver.models import ObjectInfo


@dataclass(frozen=True, slots=True)
class Progress:
    bytes_done: int
    bytes_total: int | None
    chunks_done: int
    chunks_total: int | None
    speed: float  # bytes per second, smoothed

    @property
    def percent(self) -> float | None:
        if self.bytes_total:
            return 100.0 * self.bytes_done / self.bytes_total
        if self.chunks_total:
            return 100.0 * self.chunks_done / self.chunks_total
        return None


@dataclass
class Hooks:
    on_progress: Callable[[Progress], None] | None = None
    on_chunk: Callable[[int], None] | None = None  # a chunk reached the destination
    on_complete: Callable[[ObjectInfo], None] | None = None
    on_error: Callable[[BaseException], None] | None = None


@dataclass
class SpeedMeter:
    """An exponentially weighted moving average of throughput."""

    alpha: float = 0.3
    speed: float = 0.0
    _last_bytes: int = 0
    _last_time: float = field(default_factory=time.monotonic)

    def update(self, total_bytes: int) -> float:
        now = time.monotonic()
        elapsed = now - self._last_time
        if elapsed > 0:
            instant = (total_bytes - self._last_bytes) / elapsed
            self.speed = instant if self.speed == 0 else self.alpha * instant + (1 - self.alpha) * self.speed
            self._last_bytes = total_bytes
            self._last_time = now
        return self.speed
