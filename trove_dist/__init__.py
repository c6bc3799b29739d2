"""trove_dist: one API over many object stores, run in-process or as a distributed pipeline."""

from trove_dist.errors import (
    AlreadyExists,
    BackendNotFound,
    BucketNotFound,
    ChecksumMismatch,
    ContentBlocked,
    InvalidBucket,
    InvalidKey,
    NotFound,
    ObjectNotFound,
    PreconditionFailed,
    TroveError,
    UnsupportedCapability,
)
from trove_dist.trove import Trove

__all__ = [
    "AlreadyExists",
    "BackendNotFound",
    "BucketNotFound",
    "ChecksumMismatch",
    "ContentBlocked",
    "InvalidBucket",
    "InvalidKey",
    "NotFound",
    "ObjectNotFound",
    "PreconditionFailed",
    "Trove",
    "TroveError",
    "UnsupportedCapability",
]
