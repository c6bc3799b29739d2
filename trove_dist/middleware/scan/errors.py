"""Why a scanned write was refused.

All three are ``ContentBlocked``: a caller that only cares that the content was not stored
catches that; one that must tell a virus from an outage catches the subclass.
"""

from __future__ import annotations

from trove_dist.errors import ContentBlocked


class ScannerUnavailable(ContentBlocked):
    """The scanner gave no verdict: unreachable, timed out, closed the connection, answered
    an error or something that is not a verdict.  Fail-closed: the write is refused."""

    def __init__(self, scanner: str, reason: str) -> None:
        super().__init__(f"virus scanner {scanner} gave no verdict: {reason}")
        self.scanner = scanner
        self.reason = reason


class InfectedContent(ContentBlocked):
    """The scanner found a signature in the object."""

    def __init__(self, bucket: str, key: str, signature: str, scanner: str, where: str = "") -> None:
        location = f" ({where})" if where else ""
        super().__init__(f"{bucket}/{key} is infected: {signature} found by {scanner}{location}")
        self.bucket = bucket
        self.key = key
        self.signature = signature
        self.scanner = scanner


class TooLargeToScan(ContentBlocked):
    """The object cannot be scanned whole, and the policy is to refuse it rather than store
    something only partly scanned: it exceeds the stream limit under ``oversize="refuse"``,
    or clamd reported one of its own limits (``Heuristics.Limits.Exceeded.*``)."""

    def __init__(self, bucket: str, key: str, reason: str) -> None:
        super().__init__(f"{bucket}/{key} refused: {reason}")
        self.bucket = bucket
        self.key = key
        self.reason = reason
