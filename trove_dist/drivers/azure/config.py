"""What an ``azure://`` DSN says, parsed once and validated.

``azure://ACCOUNT[:KEY]@[HOST[:PORT]][?tls=…&retries=…&block_size=…&concurrency=…]``

* No host: the public cloud endpoint, ``https://ACCOUNT.blob.core.windows.net``.
* An IP host (an emulator such as Azurite, or a private address): path-style addressing,
  ``http(s)://HOST:PORT/ACCOUNT`` — the SDK recognises an IP host and puts the account in the path.
* Any other host names the account's own endpoint (a sovereign cloud, a private endpoint, a
  custom domain): ``https://HOST[:PORT]``.
* ``KEY`` is the account's shared key, percent-encoded (a key contains ``/`` — write ``%2F``).

``azure://?connection_string_env=VAR`` reads a connection string from the environment variable
``VAR`` instead: the DSN then names no account, key or host (they are in the connection string),
and a connection string itself never appears in a DSN, which is logged and shown.

Without a key or a connection string the SDK's credential chain is used
(``azure.identity.DefaultAzureCredential``, when ``azure-identity`` is installed).
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field

from trove_dist.driver.dsn import DSN
from trove_dist.driver.retry import RetryPolicy
from trove_dist.errors import InvalidDSN

KiB = 1024
MiB = 1024 * KiB

#: Azure's hard limits on block blobs (service version 2019-12-12 and later).
MAX_BLOCKS = 50_000
MAX_BLOCK_BYTES = 4000 * MiB
#: The largest body sent as one Put Blob request (Azure accepts up to 5000 MiB).
MAX_SINGLE_PUT_BYTES = 5000 * MiB

DEFAULT_BLOCK_SIZE = 4 * MiB
DEFAULT_CONCURRENCY = 4
MIN_BLOCK_SIZE = 16 * KiB
MAX_CONCURRENCY = 64

_KNOWN_PARAMS = frozenset(
    {"tls", "retries", "retry_base", "retry_max", "block_size", "concurrency", "connection_string_env"}
)
_SIZE_RE = re.compile(r"\A(\d+)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib)\Z", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": KiB, "kb": KiB, "kib": KiB, "m": MiB, "mb": MiB, "mib": MiB}
_SIZE_UNITS |= {"g": 1024 * MiB, "gb": 1024 * MiB, "gib": 1024 * MiB}
# Azure account names: 3-24 lowercase letters and digits.
_ACCOUNT_RE = re.compile(r"\A[a-z0-9]{3,24}\Z")


@dataclass(frozen=True)
class AzureConfig:
    """Where the account is, how to authenticate, and how to move bytes."""

    account: str | None
    endpoint: str | None
    account_key: str | None = field(default=None, repr=False)
    connection_string: str | None = field(default=None, repr=False)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: Size of each staged block of a streamed put, the largest body sent as one Put Blob,
    #: and the size of each ranged read of a get.
    block_size: int = DEFAULT_BLOCK_SIZE
    #: Blocks of one put in flight at once (each is one buffer of ``block_size`` bytes).
    concurrency: int = DEFAULT_CONCURRENCY

    @classmethod
    def from_dsn(cls, dsn: DSN) -> AzureConfig:
        unknown = sorted(set(dsn.params) - _KNOWN_PARAMS)
        if unknown:
            raise InvalidDSN(
                f"unknown azure DSN parameter(s) {', '.join(unknown)} (known: {', '.join(sorted(_KNOWN_PARAMS))})"
            )
        if dsn.path not in ("", "/"):
            raise InvalidDSN("an azure DSN has no path: name containers in the calls, not in the DSN")
        retry = RetryPolicy.from_dsn(dsn)
        block_size = _block_size(dsn.param("block_size"))
        concurrency = _concurrency(dsn.param("concurrency"))
        variable = dsn.param("connection_string_env")
        if variable is not None:
            if dsn.username or dsn.password is not None or dsn.host or dsn.port is not None or "tls" in dsn.params:
                raise InvalidDSN(
                    "with connection_string_env the account, key, host and tls come from the connection string; "
                    "leave them out of the DSN"
                )
            connection_string = os.environ.get(variable)
            if not connection_string:
                raise InvalidDSN(f"connection_string_env names {variable!r}, which is not set or empty")
            return cls(
                account=None,
                endpoint=None,
                connection_string=connection_string,
                retry=retry,
                block_size=block_size,
                concurrency=concurrency,
            )
        account = dsn.username
        if not account:
            raise InvalidDSN("an azure DSN names the storage account: azure://ACCOUNT[:KEY]@[HOST[:PORT]]")
        if not _ACCOUNT_RE.match(account):
            raise InvalidDSN(f"{account!r} is not a storage account name (3-24 lowercase letters and digits)")
        return cls(
            account=account,
            endpoint=_endpoint(account, dsn),
            account_key=dsn.password or None,
            retry=retry,
            block_size=block_size,
            concurrency=concurrency,
        )


def _endpoint(account: str, dsn: DSN) -> str:
    tls = dsn.flag("tls", True)
    scheme = "https" if tls else "http"
    if not dsn.host:
        if dsn.port is not None:
            raise InvalidDSN("a port needs a host: azure://ACCOUNT:KEY@HOST:PORT")
        return f"{scheme}://{account}.blob.core.windows.net"
    port = f":{dsn.port}" if dsn.port is not None else ""
    try:
        address = ipaddress.ip_address(dsn.host)
    except ValueError:
        return f"{scheme}://{dsn.host}{port}"
    host = f"[{address}]" if address.version == 6 else str(address)
    return f"{scheme}://{host}{port}/{account}"


def _block_size(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_BLOCK_SIZE
    match = _SIZE_RE.match(raw.strip())
    if not match:
        raise InvalidDSN(f"block_size={raw!r} is not a size (bytes, or with a unit: 256KiB, 8MiB)")
    size = int(match.group(1)) * _SIZE_UNITS[match.group(2).lower()]
    if not MIN_BLOCK_SIZE <= size <= MAX_BLOCK_BYTES:
        raise InvalidDSN(f"block_size must be between {MIN_BLOCK_SIZE} bytes and {MAX_BLOCK_BYTES // MiB} MiB")
    return size


def _concurrency(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_CONCURRENCY
    try:
        value = int(raw)
    except ValueError:
        raise InvalidDSN(f"concurrency={raw!r} is not a whole number") from None
    if not 1 <= value <= MAX_CONCURRENCY:
        raise InvalidDSN(f"concurrency must be between 1 and {MAX_CONCURRENCY}")
    return value
