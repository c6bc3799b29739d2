"""The stream state machine.

    idle -> active <-> paused -> ... ; active -> completing -> completed
    idle | active | paused | completing -> failed | cancelled

Completed, failed and cancelled are terminal: no transition leaves them.  Stores apply a
transition as a compare-and-set on the current state, so two processes racing to move one stream
cannot both succeed.
"""

from __future__ import annotations

from enum import StrEnum

from trove_dist.errors import TroveError


class StreamState(StrEnum):
    IDLE = "idle"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETING = "completing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({StreamState.COMPLETED, StreamState.FAILED, StreamState.CANCELLED})

TRANSITIONS: dict[StreamState, frozenset[StreamState]] = {
    StreamState.IDLE: frozenset({StreamState.ACTIVE, StreamState.FAILED, StreamState.CANCELLED}),
    StreamState.ACTIVE: frozenset(
        {StreamState.PAUSED, StreamState.COMPLETING, StreamState.FAILED, StreamState.CANCELLED}
    ),
    StreamState.PAUSED: frozenset({StreamState.ACTIVE, StreamState.FAILED, StreamState.CANCELLED}),
    StreamState.COMPLETING: frozenset({StreamState.COMPLETED, StreamState.FAILED, StreamState.CANCELLED}),
    StreamState.COMPLETED: frozenset(),
    StreamState.FAILED: frozenset(),
    StreamState.CANCELLED: frozenset(),
}


class InvalidTransition(TroveError):
    def __init__(self, stream_id: str, current: StreamState, wanted: StreamState) -> None:
        super().__init__(f"stream {stream_id} cannot go from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


def allowed(current: StreamState, wanted: StreamState) -> bool:
    return wanted in TRANSITIONS[current]
