"""Host-key verification: a pinned key, a pinned fingerprint, or a known_hosts file.

Verification is never optional.  A server whose key is not the pinned one, or not in the
known_hosts file, is refused with ``HostKeyRejected``; nothing is ever added to a known_hosts file
(no "trust on first use": that is what paramiko's ``AutoAddPolicy`` does, and why it is not used).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from pathlib import Path

import paramiko

from trove_dist.drivers.sftp.errors import HostKeyRejected
from trove_dist.errors import InvalidDSN

_FINGERPRINT_PREFIX = "SHA256:"


@dataclass(frozen=True, slots=True)
class HostKeyPin:
    """The one host key (or the SHA-256 fingerprint of the one key) the server must present."""

    key: paramiko.PKey | None = None
    fingerprint: str | None = None  # "SHA256:" + unpadded base64, as ssh-keygen -l prints it

    @classmethod
    def parse(cls, text: str) -> HostKeyPin:
        """Accept ``SHA256:<base64>``, ``<type> <base64>`` (a .pub line) or the bare base64 blob.

        A ``+`` left unescaped in a DSN query arrives as a space; base64 never contains spaces,
        so they are turned back into ``+``.
        """
        text = text.strip()
        if text.startswith(_FINGERPRINT_PREFIX):
            digest = text[len(_FINGERPRINT_PREFIX) :].replace(" ", "+").rstrip("=")
            try:
                raw = base64.b64decode(digest + "=" * (-len(digest) % 4), validate=True)
            except (binascii.Error, ValueError):
                raise InvalidDSN("host_key fingerprint is not valid base64") from None
            if len(raw) != hashlib.sha256().digest_size:
                raise InvalidDSN("host_key fingerprint must be a SHA256 fingerprint (32 bytes)")
            return cls(fingerprint=_FINGERPRINT_PREFIX + digest)
        words = text.split(" ")
        declared = words[0] if len(words) > 1 and not words[0].startswith("AAAA") else None
        blob_text = "+".join(words[1:] if declared else words)
        try:
            blob = base64.b64decode(blob_text, validate=True)
            key_type = paramiko.Message(blob).get_text()
            key = paramiko.PKey.from_type_string(key_type, blob)
        except Exception as exc:  # noqa: BLE001 - paramiko raises many types for a malformed blob
            raise InvalidDSN(f"host_key is not a public key in OpenSSH base64 form ({type(exc).__name__})") from None
        if declared is not None and declared != key.get_name():
            raise InvalidDSN(f"host_key says {declared!r} but holds a {key.get_name()} key")
        return cls(key=key)

    def matches(self, key: paramiko.PKey) -> bool:
        if self.key is not None:
            return self.key.asbytes() == key.asbytes()
        return fingerprint_of(key) == self.fingerprint

    def describe(self) -> str:
        if self.key is not None:
            return f"{self.key.get_name()} {fingerprint_of(self.key)}"
        return str(self.fingerprint)


def fingerprint_of(key: paramiko.PKey) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return _FINGERPRINT_PREFIX + base64.b64encode(digest).decode("ascii").rstrip("=")


def known_hosts_name(host: str, port: int) -> str:
    """How OpenSSH names a host in known_hosts (``[host]:port`` unless the port is 22)."""
    return host if port == 22 else f"[{host}]:{port}"


class _RefuseUnknownHost(paramiko.MissingHostKeyPolicy):
    def __init__(self, known_hosts: Path) -> None:
        self._known_hosts = known_hosts

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        raise HostKeyRejected(
            hostname,
            f"({key.get_name()} {fingerprint_of(key)}) is not in {self._known_hosts}; verify it and add it "
            "there, or pin it with ?host_key=",
        )


class _RequirePinnedKey(paramiko.MissingHostKeyPolicy):
    """Called for every connection when a pin is set (no known_hosts entry is ever loaded)."""

    def __init__(self, pin: HostKeyPin) -> None:
        self._pin = pin

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if not self._pin.matches(key):
            raise HostKeyRejected(
                hostname,
                f"is {key.get_name()} {fingerprint_of(key)}, not the pinned {self._pin.describe()} "
                "(the server's key changed, or something else is answering at that address)",
            )


def configure(client: paramiko.SSHClient, *, pin: HostKeyPin | None, known_hosts: Path, server: str) -> None:
    """Make ``client`` verify the server's key against ``pin``, or else ``known_hosts``."""
    if pin is not None:
        if pin.key is not None:
            # Known to the client, so paramiko asks the server for this key type first.
            client.get_host_keys().add(server, pin.key.get_name(), pin.key)
        client.set_missing_host_key_policy(_RequirePinnedKey(pin))
        return
    if known_hosts.is_file():
        # "system" host keys are read-only for paramiko: it never writes them back.
        client.load_system_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(_RefuseUnknownHost(known_hosts))


def mismatch(server: str, exc: paramiko.BadHostKeyException, source: str) -> HostKeyRejected:
    """The error for a key that differs from the one ``source`` (a pin or a file) expects."""
    return HostKeyRejected(
        server,
        f"is {exc.key.get_name()} {fingerprint_of(exc.key)} but {source} expects "
        f"{exc.expected_key.get_name()} {fingerprint_of(exc.expected_key)} — refusing to connect "
        "(the server's key changed, or something else is answering at that address)",
    )
