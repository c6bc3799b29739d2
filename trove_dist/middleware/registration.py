"""Binding a middleware to a scope, a direction and a priority."""

from __future__ import annotations

from dataclasses import dataclass, field

from trove_dist.middleware.base import Middleware
from trove_dist.middleware.context import Direction
from trove_dist.middleware.scope import Global, Scope


@dataclass(frozen=True, eq=False)
class Registration:
    """``priority``: lower runs first on writes (and last on reads).  ``direction`` narrows a
    two-way middleware to reads or writes only; it cannot widen what the middleware does."""

    middleware: Middleware
    scope: Scope = field(default_factory=Global)
    direction: Direction | None = None
    priority: int = 0

    def __post_init__(self) -> None:
        if self.direction is not None and (self.direction & ~self.middleware.direction):
            raise ValueError(
                f"{self.middleware!r} works in {self.middleware.direction}, "
                f"it cannot be registered for {self.direction}"
            )

    @property
    def effective_direction(self) -> Direction:
        return self.direction if self.direction is not None else self.middleware.direction
