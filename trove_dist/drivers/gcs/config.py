"""How the GCS driver is configured: one frozen value built from keyword arguments or a DSN.

DSN form::

    gcs://[?project=P&endpoint=URL&credentials=PATH&retries=N&retry_base=S&retry_max=S
           &chunk_size=BYTES&timeout=S]

- ``project`` names the project that new buckets are created in and listed from; without it, the
  project of the credentials (or of the environment) is used.
- ``endpoint`` replaces ``https://storage.googleapis.com`` (an emulator, a private endpoint).  An
  ``http://`` endpoint is reached *anonymously*: an OAuth token must never cross the network in
  clear text, and the only plain-HTTP storage servers are local emulators.
- ``credentials`` is the path of a key file (a service account, or any file
  ``google.auth.load_credentials_from_file`` reads); without it the SDK's standard chain applies
  (``GOOGLE_APPLICATION_CREDENTIALS``, gcloud's user credentials, the metadata server).  A
  service-account key is also what signs presigned URLs, locally.
- ``retries`` (attempts), ``retry_base`` and ``retry_max`` (seconds) bound the retries of transient
  failures (see ``RetryPolicy``).
- ``chunk_size`` is the size of one resumable-upload request, and so the memory a streaming put
  holds; bodies that end within the first chunk go in a single request.  A multiple of 256 KiB,
  with an optional unit (``16MiB``).
- ``timeout`` is the connect and read timeout of one HTTP request, in seconds.

A DSN has no host or path (buckets are named per call), and unknown parameters are refused so that
a typo cannot silently fall back to a default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from trove_dist.driver.dsn import DSN
from trove_dist.driver.retry import RetryPolicy
from trove_dist.errors import InvalidDSN

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

DEFAULT_ENDPOINT = "https://storage.googleapis.com"
#: GCS requires every resumable chunk but the last to be a multiple of this.
CHUNK_GRANULARITY = 256 * KiB
DEFAULT_CHUNK_SIZE = 16 * MiB
DEFAULT_TIMEOUT = 60.0

DSN_PARAMETERS = frozenset(
    {"project", "endpoint", "credentials", "retries", "retry_base", "retry_max", "chunk_size", "timeout"}
)

_SIZE_RE = re.compile(r"\A\s*(\d+)\s*(?:([kmg])i?b?|b)?\s*\Z", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": KiB, "m": MiB, "g": GiB}


@dataclass(frozen=True, slots=True)
class GCSSettings:
    """Everything the driver needs to reach one GCS endpoint, validated once."""

    project: str | None = None
    endpoint: str = DEFAULT_ENDPOINT
    #: Path of a key file; the path is not a secret, the file's content is never read into repr.
    credentials_file: str | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE
    timeout: float = DEFAULT_TIMEOUT
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        parts = urlsplit(self.endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise InvalidDSN(f"endpoint must be an http:// or https:// URL without a query (got {self.endpoint!r})")
        object.__setattr__(self, "endpoint", self.endpoint.rstrip("/"))
        if self.chunk_size < CHUNK_GRANULARITY or self.chunk_size % CHUNK_GRANULARITY:
            raise InvalidDSN(f"chunk_size must be a positive multiple of 256 KiB (got {self.chunk_size})")
        if not self.timeout > 0:
            raise InvalidDSN(f"timeout must be a positive number of seconds (got {self.timeout})")
        if self.project is not None and not self.project:
            raise InvalidDSN("project must not be empty")

    @property
    def anonymous(self) -> bool:
        """Requests carry no credentials: the endpoint is plain HTTP (an emulator)."""
        return self.endpoint.startswith("http://")

    @classmethod
    def from_dsn(cls, dsn: DSN) -> GCSSettings:
        if dsn.host or dsn.port is not None or dsn.path not in ("", "/") or dsn.username is not None:
            raise InvalidDSN(
                "a gcs DSN names no host, path or user (buckets are named per call): "
                "use gcs://?project=…&endpoint=…&credentials=…"
            )
        unknown = sorted(set(dsn.params) - DSN_PARAMETERS)
        if unknown:
            raise InvalidDSN(f"unknown gcs DSN parameter(s) {unknown}; known: {sorted(DSN_PARAMETERS)}")
        return cls(
            project=dsn.param("project"),
            endpoint=dsn.param("endpoint") or DEFAULT_ENDPOINT,
            credentials_file=dsn.param("credentials") or None,
            chunk_size=_size(dsn.param("chunk_size"), DEFAULT_CHUNK_SIZE, "chunk_size"),
            timeout=_seconds(dsn.param("timeout"), DEFAULT_TIMEOUT, "timeout"),
            retry=RetryPolicy.from_dsn(dsn),
        )


def _size(raw: str | None, default: int, name: str) -> int:
    if raw is None:
        return default
    match = _SIZE_RE.match(raw)
    if match is None:
        raise InvalidDSN(f"{name}={raw!r} is not a size (bytes, or with a unit: 256KiB, 16MiB)")
    return int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "").lower()]


def _seconds(raw: str | None, default: float, name: str) -> float:
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise InvalidDSN(f"{name}={raw!r} is not a number of seconds") from exc
