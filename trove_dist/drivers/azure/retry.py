"""The SDK's retry policy, driven by trove's ``RetryPolicy`` (and so by the DSN).

The Azure pipeline already knows which failures are transient (connection errors, timeouts,
408, 5xx except 501/505) and rewinds request bodies; what it gets from us is *how many* attempts
and *how long* to wait, so every driver backs off the same way for the same settings.
"""

from __future__ import annotations

from typing import Any

from azure.storage.blob import ExponentialRetry

from trove_dist.driver.retry import RetryPolicy


class TroveRetry(ExponentialRetry):
    def __init__(self, policy: RetryPolicy) -> None:
        retries = policy.attempts - 1
        super().__init__(
            initial_backoff=0,
            increment_base=0,
            retry_total=retries,
            random_jitter_range=0,
            retry_connect=retries,
            retry_read=retries,
            retry_status=retries,
        )
        self.policy = policy

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        # ``count`` is the number of the retry about to happen (1 for the first).
        return self.policy.delay(max(1, int(settings["count"])))
