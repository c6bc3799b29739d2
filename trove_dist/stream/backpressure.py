"""What a producer does when the pipeline cannot keep up.  No strategy loses data.

The *window* is the number of chunks sent into the pipeline and not yet stored at the
destination.  When it is full:

* ``Block``: the producer waits (the default; memory stays bounded by the window);
* ``Drop``: the new chunk is dropped from the window — held back, not lost — and sent again once
  there is room; the producer keeps going until ``max_held`` chunks are held back, then waits;
* ``Buffer``: the new chunk spills to an overflow file on local disk (at most ``max_bytes``) and
  is sent from there as room frees; beyond the bound the producer waits;
* ``Adaptive``: like ``Block``, but the window follows measured throughput — enough chunks to
  cover ``target_latency`` seconds of transfer, between ``min_window`` and ``max_window``.
"""

from __future__ import annotations

import os
import tempfile
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

#: (index, data) of a chunk the producer has ready.
Send = Callable[[int, bytes], None]
InFlight = Callable[[], int]


class Backpressure(ABC):
    poll_interval: float = 0.02

    def __init__(self, window: int = 8) -> None:
        if window < 1:
            raise ValueError("the window must hold at least one chunk")
        self.window = window

    @abstractmethod
    def offer(self, index: int, data: bytes, send: Send, in_flight: InFlight) -> None:
        """Send chunk ``index`` now, or keep it to send later, or wait for room."""

    def drain(self, send: Send, in_flight: InFlight) -> None:
        """Send everything still held back (called before the stream is closed)."""
        return None

    @property
    def held(self) -> int:
        """Chunks held back right now."""
        return 0

    def _wait_for_room(self, in_flight: InFlight, limit: int) -> None:
        while in_flight() >= limit:
            time.sleep(self.poll_interval)


class Block(Backpressure):
    def offer(self, index: int, data: bytes, send: Send, in_flight: InFlight) -> None:
        self._wait_for_room(in_flight, self.window)
        send(index, data)


class Drop(Backpressure):
    def __init__(self, window: int = 8, max_held: int = 16) -> None:
        super().__init__(window)
        self.max_held = max_held
        self._held: deque[tuple[int, bytes]] = deque()
        self.dropped = 0  # how many times a chunk was held back (for metrics and tests)

    @property
    def held(self) -> int:
        return len(self._held)

    def offer(self, index: int, data: bytes, send: Send, in_flight: InFlight) -> None:
        self._resend(send, in_flight)
        if in_flight() < self.window and not self._held:
            send(index, data)
            return
        self._held.append((index, data))
        self.dropped += 1
        while len(self._held) > self.max_held:
            self._wait_for_room(in_flight, self.window)
            self._resend(send, in_flight)

    def _resend(self, send: Send, in_flight: InFlight) -> None:
        while self._held and in_flight() < self.window:
            send(*self._held.popleft())

    def drain(self, send: Send, in_flight: InFlight) -> None:
        while self._held:
            self._wait_for_room(in_flight, self.window)
            self._resend(send, in_flight)


@dataclass
class _Spilled:
    index: int
    offset: int
    length: int


class Buffer(Backpressure):
    def __init__(self, window: int = 8, max_bytes: int = 1024 * 1024 * 1024, directory: str | None = None) -> None:
        super().__init__(window)
        self.max_bytes = max_bytes
        self._directory = directory
        self._file: tempfile._TemporaryFileWrapper[bytes] | None = None
        self._spilled: deque[_Spilled] = deque()
        self._spilled_bytes = 0
        self._end = 0
        self.spills = 0

    @property
    def held(self) -> int:
        return len(self._spilled)

    def offer(self, index: int, data: bytes, send: Send, in_flight: InFlight) -> None:
        self._unspill(send, in_flight)
        if in_flight() < self.window and not self._spilled:
            send(index, data)
            return
        while self._spilled_bytes + len(data) > self.max_bytes and self._spilled:
            self._wait_for_room(in_flight, self.window)
            self._unspill(send, in_flight)
        if in_flight() < self.window and not self._spilled:
            send(index, data)
            return
        self._spill(index, data)

    def _spill(self, index: int, data: bytes) -> None:
        if self._file is None:
            self._file = tempfile.NamedTemporaryFile(prefix="trove-spill-", dir=self._directory)  # noqa: SIM115
        os.pwrite(self._file.fileno(), data, self._end)
        self._spilled.append(_Spilled(index, self._end, len(data)))
        self._end += len(data)
        self._spilled_bytes += len(data)
        self.spills += 1

    def _unspill(self, send: Send, in_flight: InFlight) -> None:
        while self._spilled and in_flight() < self.window:
            item = self._spilled.popleft()
            assert self._file is not None
            data = os.pread(self._file.fileno(), item.length, item.offset)
            self._spilled_bytes -= item.length
            send(item.index, data)
        if not self._spilled and self._file is not None:
            self._file.close()  # deletes the overflow file
            self._file = None
            self._end = 0

    def drain(self, send: Send, in_flight: InFlight) -> None:
        while self._spilled:
            self._wait_for_room(in_flight, self.window)
            self._unspill(send, in_flight)


class Adaptive(Backpressure):
    def __init__(self, min_window: int = 2, max_window: int = 64, target_latency: float = 2.0) -> None:
        super().__init__(min_window)
        if max_window < min_window:
            raise ValueError("max_window must be at least min_window")
        self.min_window = min_window
        self.max_window = max_window
        self.target_latency = target_latency
        self._started = time.monotonic()

    def observe(self, chunks_stored: int) -> None:
        """Resize the window from the stored-chunk rate measured since the stream began."""
        elapsed = time.monotonic() - self._started
        if elapsed <= 0 or chunks_stored <= 0:
            return
        rate = chunks_stored / elapsed  # chunks per second
        self.window = max(self.min_window, min(self.max_window, round(rate * self.target_latency) + 1))

    def offer(self, index: int, data: bytes, send: Send, in_flight: InFlight) -> None:
        self._wait_for_room(in_flight, self.window)
        send(index, data)
