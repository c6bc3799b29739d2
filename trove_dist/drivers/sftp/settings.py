"""What an ``sftp://`` DSN says, checked once, before any connection is made.

``sftp://USER[:PASSWORD]@HOST[:PORT]/ROOT?PARAMS`` — ``ROOT`` is the directory on the server that
holds one directory per bucket.  Parameters:

``key``          private key file for public-key login (else the password, else the SSH agent
                 and ``~/.ssh/id_*``, as ``ssh`` does)
``known_hosts``  file the server's key must be listed in (default ``~/.ssh/known_hosts``)
``host_key``     the one key the server must present instead: ``SHA256:<fingerprint>``, a
                 ``.pub`` line (``ssh-ed25519 AAAA…``) or its base64 blob; percent-encode ``+``
``connections``  most SSH connections open at once (default 4); each open reader or streaming
                 put holds one for its duration, so a copy streamed through this process (a
                 server without ``copy-data``) needs two
``timeout``      seconds for connecting and for any one request (default 30)
``durable``      fsync each object on the server before it becomes visible (default true)
``create``       create ``ROOT`` if it is missing (default true)
``retries``, ``retry_base``, ``retry_max``  the ``RetryPolicy`` for dropped connections
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from trove_dist.driver.dsn import DSN
from trove_dist.driver.retry import RetryPolicy
from trove_dist.drivers.sftp.hostkeys import HostKeyPin
from trove_dist.errors import InvalidDSN

N = TypeVar("N", int, float)

DEFAULT_PORT = 22
DEFAULT_CONNECTIONS = 4
DEFAULT_TIMEOUT = 30.0
_PARAMS = frozenset(
    {
        "key",
        "known_hosts",
        "host_key",
        "connections",
        "timeout",
        "durable",
        "create",
        "retries",
        "retry_base",
        "retry_max",
    }
)


@dataclass(frozen=True)
class SFTPSettings:
    host: str
    root: str
    port: int = DEFAULT_PORT
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    key_file: Path | None = None
    known_hosts: Path = field(default_factory=lambda: default_known_hosts())
    host_key: HostKeyPin | None = None
    connections: int = DEFAULT_CONNECTIONS
    timeout: float = DEFAULT_TIMEOUT
    durable: bool = True
    create: bool = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        if not self.host:
            raise InvalidDSN("an sftp DSN needs a host: sftp://user@host[:port]/root")
        if self.connections < 1:
            raise InvalidDSN("connections must be at least 1")
        if self.timeout <= 0:
            raise InvalidDSN("timeout must be a positive number of seconds")
        if self.key_file is not None and not self.key_file.is_file():
            raise InvalidDSN(f"the key file {self.key_file} does not exist")

    @classmethod
    def from_dsn(cls, dsn: DSN) -> SFTPSettings:
        unknown = sorted(set(dsn.params) - _PARAMS)
        if unknown:
            raise InvalidDSN(
                f"unknown sftp DSN parameter(s) {', '.join(unknown)} (known: {', '.join(sorted(_PARAMS))})"
            )
        known_hosts, host_key = dsn.param("known_hosts"), dsn.param("host_key")
        if known_hosts is not None and host_key is not None:
            raise InvalidDSN("give either known_hosts or host_key, not both")
        key = dsn.param("key")
        if known_hosts is not None:
            known_hosts_file = Path(known_hosts).expanduser()
            if not known_hosts_file.is_file():
                raise InvalidDSN(f"the known_hosts file {known_hosts_file} does not exist")
        else:
            known_hosts_file = default_known_hosts()
        return cls(
            host=dsn.host,
            port=dsn.port or DEFAULT_PORT,
            root=_root(dsn.path),
            username=dsn.username or None,
            password=dsn.password,
            key_file=Path(key).expanduser() if key else None,
            host_key=HostKeyPin.parse(host_key) if host_key is not None else None,
            connections=_number(dsn, "connections", int, DEFAULT_CONNECTIONS),
            timeout=_number(dsn, "timeout", float, DEFAULT_TIMEOUT),
            durable=dsn.flag("durable", True),
            create=dsn.flag("create", True),
            retry=RetryPolicy.from_dsn(dsn),
            known_hosts=known_hosts_file,
        )

    def describe(self) -> str:
        """``sftp://user@host:port/root`` — what repr and error messages show (no secrets)."""
        user = f"{self.username}@" if self.username else ""
        return f"sftp://{user}{self.host}:{self.port}{'' if self.root.startswith('/') else '/'}{self.root}"


def default_known_hosts() -> Path:
    """Where ``ssh`` looks first: the user's own known_hosts file."""
    return Path("~/.ssh/known_hosts").expanduser()


def _root(path: str) -> str:
    """The storage root on the server: the DSN path, or the login directory if there is none."""
    if not path or path == "/":
        return path or "."
    return posixpath.normpath(path)


def _number(dsn: DSN, name: str, kind: type[N], default: N) -> N:
    raw = dsn.param(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        raise InvalidDSN(f"parameter {name}={raw!r} is not a {kind.__name__}") from None
