"""Virus scanning with ClamAV (clamd's INSTREAM protocol over TCP or a unix socket)."""

from trove_dist.middleware.scan.client import LIMITS_EXCEEDED, Address, Clamd, InStream, Verdict
from trove_dist.middleware.scan.errors import InfectedContent, ScannerUnavailable, TooLargeToScan
from trove_dist.middleware.scan.middleware import DEFAULT_MAX_STREAM_BYTES, OnDetect, Oversize, Scan

__all__ = [
    "DEFAULT_MAX_STREAM_BYTES",
    "LIMITS_EXCEEDED",
    "Address",
    "Clamd",
    "InStream",
    "InfectedContent",
    "OnDetect",
    "Oversize",
    "Scan",
    "ScannerUnavailable",
    "TooLargeToScan",
    "Verdict",
]
