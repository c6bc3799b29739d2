"""Bounded retries with exponential backoff and full jitter, for transient backend failures.

Remote drivers wrap each request in ``RetryPolicy.call``; what counts as transient (5xx,
timeouts, dropped connections) is the driver's decision, passed as a predicate.  After the last
attempt the error surfaces as ``BackendUnavailable`` naming the backend and operation, with the
last cause chained, so callers see one clear failure instead of an SDK-specific one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from trove_dist.driver.dsn import DSN
from trove_dist.errors import BackendUnavailable, InvalidDSN

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.1
    max_delay: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("retry delays must not be negative")

    @classmethod
    def from_dsn(cls, dsn: DSN) -> RetryPolicy:
        """``?retries=N&retry_base=SECONDS&retry_max=SECONDS`` (``retries`` counts attempts)."""
        default = cls()
        try:
            return cls(
                attempts=int(dsn.param("retries") or default.attempts),
                base_delay=float(dsn.param("retry_base") or default.base_delay),
                max_delay=float(dsn.param("retry_max") or default.max_delay),
            )
        except ValueError as exc:
            raise InvalidDSN(f"bad retry parameter: {exc}") from exc

    def delay(self, attempt: int) -> float:
        """Full-jitter backoff before retry number ``attempt`` (1-based)."""
        return random.uniform(0, min(self.max_delay, self.base_delay * (2 ** (attempt - 1))))

    def call(
        self,
        operation: Callable[[], T],
        *,
        transient: Callable[[BaseException], bool],
        backend: str,
        what: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                return operation()
            except Exception as exc:
                if not transient(exc):
                    raise
                if attempt == self.attempts:
                    raise BackendUnavailable(
                        f"{backend}: {what} failed after {self.attempts} attempts: {type(exc).__name__}: {exc}"
                    ) from exc
                sleep(self.delay(attempt))
        raise AssertionError("unreachable")
