"""Connection strings: ``scheme://[user[:password]@]host[:port][/path][?k=v&…]``.

Examples: ``file:///srv/data``, ``mem://scratch``, ``s3://?endpoint=http://127.0.0.1:9000``,
``sftp://deploy@files.example.com:2222/srv/objects?known_hosts=~/.ssh/known_hosts``.
A DSN may carry a password; ``str()`` and ``repr()`` never show it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlsplit

from trove_dist.errors import InvalidDSN

#: Query parameters whose values are credentials: never shown by ``str()``.
SECRET_PARAMS = frozenset(
    {"secret", "secret_key", "secret_access_key", "password", "token", "session_token", "sas", "sig",
     "account_key", "key_secret", "passphrase"}
)
_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*$")
_AUTHORITY_START_RE = re.compile(r"[^/@]*//")


@dataclass(frozen=True)
class DSN:
    scheme: str
    host: str = ""
    port: int | None = None
    path: str = ""
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    # Left out of the hash (a mapping is not hashable) so that a DSN can key a cache.
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.params.get(name, default)

    def flag(self, name: str, default: bool) -> bool:
        """A boolean query parameter (``true/false``, ``1/0``, ``yes/no``)."""
        raw = self.params.get(name)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise InvalidDSN(f"parameter {name}={raw!r} is not a boolean (use true or false)")

    def __str__(self) -> str:
        """The DSN with the password and secret-bearing parameters replaced by ``***``."""
        auth = ""
        if self.username is not None:
            auth = quote(self.username, safe="")
            if self.password is not None:
                auth += ":***"
            auth += "@"
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address
        netloc = auth + host + (f":{self.port}" if self.port is not None else "")
        query = "&".join(
            f"{k}={'***' if k.lower() in SECRET_PARAMS else quote(v, safe='/:')}" for k, v in self.params.items()
        )
        return f"{self.scheme}://{netloc}{quote(self.path, safe='/')}" + (f"?{query}" if query else "")


def parse_dsn(text: str) -> DSN:
    """Parse a DSN; raises ``InvalidDSN`` with the reason (never echoing a password)."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidDSN("empty DSN")
    scheme, sep, rest = text.partition(":")
    if not sep or not _SCHEME_RE.match(scheme):
        raise InvalidDSN(f"DSN must start with a scheme such as file:// or s3:// (got {_redact(text)!r})")
    if not rest.startswith("//"):
        raise InvalidDSN(f"DSN must have '//' after '{scheme}:' (got {_redact(text)!r})")
    # urlsplit's own messages may quote the netloc, password included: never pass them on (nor
    # chain them, as a traceback would print them).
    try:
        parts: SplitResult | None = urlsplit(text)
    except ValueError:
        parts = None
    if parts is None:
        raise InvalidDSN(f"malformed DSN {_redact(text)!r}: invalid characters or brackets in the host part")
    if parts.fragment:
        raise InvalidDSN("a DSN has no '#fragment' (use ?name=value parameters)")
    host, port = _host_and_port(parts.netloc, text)
    params: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False):
        if name in params:
            raise InvalidDSN(f"parameter {name!r} given twice")
        params[name] = value
    return DSN(
        scheme=scheme.lower(),
        host=unquote(host),
        port=port,
        path=unquote(parts.path),
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        params=MappingProxyType(params),
    )


def _host_and_port(netloc: str, text: str) -> tuple[str, int | None]:
    """Split ``host[:port]`` (after any ``user:password@``), keeping the host's case: a DSN host
    is often a name (``mem://Scratch``, an Azure account) rather than a DNS name."""
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):
        host, _, after = hostport[1:].partition("]")
        if after and not after.startswith(":"):
            raise InvalidDSN(f"malformed DSN {_redact(text)!r}: unexpected text after ']' in the host")
        port_text = after[1:]
    else:
        host, _, port_text = hostport.partition(":")
    if not port_text:
        return host, None
    if not (port_text.isascii() and port_text.isdigit()) or int(port_text) > 65535:
        raise InvalidDSN(f"malformed DSN {_redact(text)!r}: the port must be a number from 0 to 65535")
    return host, int(port_text)


def _redact(text: str) -> str:
    """``text`` with everything between the user-info's first ':' and the last '@' hidden.

    Deliberately generous, since it runs on text that failed to parse: a password may contain
    unescaped '@', '/' or '?', and the '//' may be missing; an '@' in a query may hide a little
    more than needed, which is fine for an error message that must never show a password.
    """
    at = text.rfind("@")
    if at < 0:
        return text
    authority = _AUTHORITY_START_RE.match(text)
    start = authority.end() if authority and authority.end() <= at else 0
    user, colon, _ = text[start:at].partition(":")
    if not colon:
        return text
    return f"{text[:start]}{user}:***{text[at:]}"
