"""The one door to S3: a boto3 client whose every request is retried and whose failures come out
as trove errors.

botocore's own retries are switched off (one attempt per call) and ``RetryPolicy`` drives the
attempts instead, so that the three retry knobs of the DSN (``retries``, ``retry_base``,
``retry_max``) all mean what they say and SDK and driver retries never multiply.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from trove_dist.driver.retry import RetryPolicy
from trove_dist.drivers.s3.errors import BACKEND, Target, is_transient, translate
from trove_dist.drivers.s3.settings import S3Settings

#: botocore answers are plain dicts; their shapes are documented by the S3 API, not by types.
Response = dict[str, Any]
T = TypeVar("T")


def make_client(settings: S3Settings) -> Any:
    """A boto3 S3 client for ``settings`` (boto3's chain fills whatever the settings leave open)."""
    session = boto3.session.Session(
        aws_access_key_id=settings.access_key,
        aws_secret_access_key=settings.secret_key,
        aws_session_token=settings.session_token,
        region_name=settings.region,
    )
    region = session.region_name or "us-east-1"
    config = Config(
        region_name=region,
        signature_version="s3v4",
        s3={"addressing_style": settings.addressing},
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        # every pooled thread plus the caller's own requests, without waiting for a connection
        max_pool_connections=max(10, 2 * settings.concurrency + 2),
    )
    return session.client("s3", endpoint_url=settings.endpoint_url, config=config)


class S3Api:
    """Requests to S3 with bounded retries and translated errors."""

    def __init__(self, client: Any, retry: RetryPolicy) -> None:
        self.client = client
        self.retry = retry

    def call(self, operation: str, target: Target, /, **params: Any) -> Response:
        """``client.<operation>(**params)``; a failure raises the matching trove error."""
        method: Callable[..., Response] = getattr(self.client, operation)
        return self.run(operation, target, lambda: method(**params))

    def run(self, operation: str, target: Target, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` (one or more requests) under the retry policy, translating failures."""
        try:
            return self.retry.call(attempt, transient=is_transient, backend=BACKEND, what=f"{operation} {target}")
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, operation, target) from exc

    def close(self) -> None:
        self.client.close()
