"""The SDK's retry hook, driven by trove's ``RetryPolicy``.

Every google-cloud-storage call takes a ``retry=`` object and calls it as ``retry(func)()``; the
media layer (resumable chunks, downloads) does the same.  ``google.api_core``'s own ``Retry`` is
bounded by a deadline, not by a number of attempts, so this subclass keeps its interface and
replaces what a call does: ``RetryPolicy.call`` — the configured attempts, full-jitter backoff,
and a ``BackendUnavailable`` naming the operation once they are spent.  One policy, one
behaviour, whether a request goes through the SDK or through the driver's own transfer code.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from google.api_core.retry import Retry

from trove_dist.driver.retry import RetryPolicy
from trove_dist.drivers.gcs.errors import BACKEND, is_transient

T = TypeVar("T")


class PolicyRetry(Retry):
    """A ``google.api_core.retry.Retry`` whose attempts and delays come from a ``RetryPolicy``."""

    def __init__(self, policy: RetryPolicy, operation: str) -> None:
        super().__init__(
            predicate=is_transient,
            initial=policy.base_delay,
            maximum=policy.max_delay,
            multiplier=2.0,
            timeout=None,
        )
        self.policy = policy
        self.operation = operation

    def __call__(
        self, func: Callable[..., T], on_error: Callable[[Exception], Any] | None = None
    ) -> Callable[..., T]:
        """Wrap ``func``; ``on_error`` (the SDK passes none) sees each transient failure."""

        @functools.wraps(func)
        def with_retries(*args: Any, **kwargs: Any) -> T:
            def attempt() -> T:
                try:
                    return func(*args, **kwargs)
                except Exception as exc:
                    if on_error is not None and is_transient(exc):
                        on_error(exc)
                    raise

            return self.policy.call(attempt, transient=is_transient, backend=BACKEND, what=self.operation)

        return with_retries

    def run(self, func: Callable[[], T]) -> T:
        """Call ``func`` under the policy (for the driver's own requests)."""
        return self(func)()
