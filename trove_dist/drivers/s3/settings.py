"""How the S3 driver is configured: one frozen value built from keyword arguments or a DSN.

DSN form::

    s3://[ACCESS_KEY:SECRET@][HOST[:PORT]][?region=…&tls=…&addressing=…&retries=…&…]

An empty host means AWS's own endpoint; ``HOST[:PORT]`` is an S3-compatible endpoint (MinIO,
Ceph, moto …), reached over HTTPS unless ``tls=false``.  Without a key pair in the DSN the
credentials come from boto3's standard chain (environment, shared files, instance roles);
temporary credentials add ``session_token=…`` (hidden by ``str(dsn)`` like the secret).
Unknown parameters are refused, so a typo cannot silently fall back to a default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from trove_dist.driver.dsn import DSN
from trove_dist.driver.retry import RetryPolicy
from trove_dist.errors import InvalidDSN

MiB = 1024 * 1024
GiB = 1024 * MiB

#: S3's floor for every part but the last.
MIN_PART_SIZE = 5 * MiB
#: S3's ceiling for one part, one PutObject and one CopyObject.
MAX_PART_SIZE = 5 * GiB
MAX_SINGLE_PUT = 5 * GiB
MAX_PARTS = 10_000

N = TypeVar("N", int, float)
Addressing = Literal["auto", "path", "virtual"]
ADDRESSING_STYLES: tuple[Addressing, ...] = ("auto", "path", "virtual")

#: Every query parameter a DSN may carry (RetryPolicy reads retries, retry_base and retry_max).
DSN_PARAMETERS = frozenset(
    {
        "region",
        "session_token",
        "tls",
        "addressing",
        "retries",
        "retry_base",
        "retry_max",
        "connect_timeout",
        "read_timeout",
        "multipart_threshold",
        "part_size",
        "concurrency",
        "copy_threshold",
    }
)

_SIZE_RE = re.compile(r"\A\s*(\d+)\s*([kmgt]i?b?|b)?\s*\Z", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "m": MiB, "g": GiB, "t": 1024 * GiB}


@dataclass(frozen=True, slots=True)
class S3Settings:
    """Everything the driver needs to talk to one S3 endpoint, validated once."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    addressing: Addressing = "auto"
    #: Bodies up to this size go in one PutObject (buffered, so the checksum rides along).
    multipart_threshold: int = 8 * MiB
    #: The size of each part (grown when needed to stay within 10,000 parts).
    part_size: int = 8 * MiB
    #: Parts uploaded (or copied) at once by one put; also the size of the driver's pool.
    concurrency: int = 4
    #: Copies of objects larger than this use UploadPartCopy (CopyObject stops at 5 GiB).
    copy_threshold: int = MAX_SINGLE_PUT
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        if (self.access_key is None) != (self.secret_key is None):
            raise ValueError("give both an access key and a secret key, or neither (to use boto3's chain)")
        if self.session_token is not None and self.access_key is None:
            raise ValueError("a session token goes with the access key and secret it was issued with")
        if self.addressing not in ADDRESSING_STYLES:
            raise ValueError(f"addressing must be one of {', '.join(ADDRESSING_STYLES)}, not {self.addressing!r}")
        if not MIN_PART_SIZE <= self.part_size <= MAX_PART_SIZE:
            raise ValueError(f"part_size must be between 5 MiB and 5 GiB (S3's limits), not {self.part_size}")
        if not 0 <= self.multipart_threshold <= MAX_SINGLE_PUT:
            raise ValueError(f"multipart_threshold must be between 0 and 5 GiB, not {self.multipart_threshold}")
        if not MIN_PART_SIZE <= self.copy_threshold <= MAX_SINGLE_PUT:
            raise ValueError(f"copy_threshold must be between 5 MiB and 5 GiB, not {self.copy_threshold}")
        if not 1 <= self.concurrency <= 64:
            raise ValueError(f"concurrency must be between 1 and 64, not {self.concurrency}")
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("timeouts must be positive")

    @classmethod
    def from_dsn(cls, dsn: DSN) -> S3Settings:
        unknown = sorted(set(dsn.params) - DSN_PARAMETERS)
        if unknown:
            raise InvalidDSN(
                f"unknown s3 DSN parameter(s): {', '.join(unknown)} (known: {', '.join(sorted(DSN_PARAMETERS))})"
            )
        if dsn.path not in ("", "/"):
            raise InvalidDSN("an s3 DSN names an endpoint, not a bucket: buckets are chosen per call")
        if (dsn.username is None) != (dsn.password is None):
            raise InvalidDSN("an s3 DSN carries both ACCESS_KEY:SECRET or neither")
        endpoint: str | None = None
        if dsn.host:
            scheme = "https" if dsn.flag("tls", True) else "http"
            host = f"[{dsn.host}]" if ":" in dsn.host else dsn.host
            endpoint = f"{scheme}://{host}" + (f":{dsn.port}" if dsn.port is not None else "")
        elif dsn.port is not None or "tls" in dsn.params:
            raise InvalidDSN("a port or tls= needs an endpoint host (an empty host means AWS)")
        addressing = dsn.param("addressing") or ("path" if endpoint else "auto")
        defaults = cls()
        try:
            return cls(
                endpoint_url=endpoint,
                region=dsn.param("region") or None,
                access_key=dsn.username,
                secret_key=dsn.password,
                session_token=dsn.param("session_token") or None,
                addressing=_addressing(addressing),
                multipart_threshold=_size(dsn, "multipart_threshold", defaults.multipart_threshold),
                part_size=_size(dsn, "part_size", defaults.part_size),
                concurrency=_number(dsn, "concurrency", defaults.concurrency, int),
                copy_threshold=_size(dsn, "copy_threshold", defaults.copy_threshold),
                connect_timeout=_number(dsn, "connect_timeout", defaults.connect_timeout, float),
                read_timeout=_number(dsn, "read_timeout", defaults.read_timeout, float),
                retry=RetryPolicy.from_dsn(dsn),
            )
        except InvalidDSN:
            raise
        except ValueError as exc:
            raise InvalidDSN(f"bad s3 DSN: {exc}") from None


def parse_size(text: str) -> int:
    """``8388608``, ``8MiB``, ``8M``, ``512k`` … (binary units) as a number of bytes."""
    match = _SIZE_RE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size (use bytes or a unit such as 8MiB)")
    number, unit = match.groups()
    return int(number) * _SIZE_UNITS[(unit or "").lower()[:1]]


def _size(dsn: DSN, name: str, default: int) -> int:
    raw = dsn.param(name)
    if raw is None:
        return default
    try:
        return parse_size(raw)
    except ValueError as exc:
        raise InvalidDSN(f"parameter {name}: {exc}") from None


def _number(dsn: DSN, name: str, default: N, kind: type[N]) -> N:
    raw = dsn.param(name)
    if raw is None:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise InvalidDSN(f"parameter {name}={raw!r} is not a {kind.__name__}") from None


def _addressing(value: str) -> Addressing:
    for style in ADDRESSING_STYLES:
        if value == style:
            return style
    raise InvalidDSN(f"addressing={value!r}: use one of {', '.join(ADDRESSING_STYLES)}")
