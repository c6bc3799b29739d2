"""Key-encryption keys: who wraps and unwraps an object's data key.

Envelope encryption: each object gets a random 256-bit data key; a ``KeyProvider`` wraps it
with a key-encryption key (KEK) named by a key id, and the wrapped key and id go into the
object's header.  Rotating a KEK then means rewrapping small data keys, never re-encrypting
data.  The providers here keep KEKs in process memory and wrap with AES key wrap (RFC 3394,
integrity-checked); a Vault or KMS provider implements the same two methods by calling out.
"""

from __future__ import annotations

import base64
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from trove_dist.errors import MissingKey, WrongKey

KEY_BYTES = 32


class KeyProvider(ABC):
    @abstractmethod
    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        """Wrap ``data_key`` with the current (primary) KEK: (key id, wrapped key)."""

    @abstractmethod
    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        """The data key; ``MissingKey`` for an unknown id, ``WrongKey`` if it does not unwrap."""

    @property
    @abstractmethod
    def primary_key_id(self) -> str: ...


def _check_kek(key: bytes, key_id: str) -> bytes:
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise ValueError(f"key {key_id!r} must be {KEY_BYTES} bytes (AES-256)")
    if not key_id or not key_id.isprintable():
        raise ValueError("a key id must be a non-empty printable string")
    return key


class KeyRing(KeyProvider):
    """A primary KEK used for new objects plus older KEKs still accepted for reading."""

    def __init__(self, primary: tuple[str, bytes], older: Mapping[str, bytes] | None = None) -> None:
        primary_id, primary_key = primary
        self._primary_id = primary_id
        self._keys = {primary_id: _check_kek(primary_key, primary_id)}
        for key_id, key in (older or {}).items():
            if key_id in self._keys:
                raise ValueError(f"key id {key_id!r} appears twice")
            self._keys[key_id] = _check_kek(key, key_id)

    @property
    def primary_key_id(self) -> str:
        return self._primary_id

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        return self._primary_id, aes_key_wrap(self._keys[self._primary_id], data_key)

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        kek = self._keys.get(key_id)
        if kek is None:
            raise MissingKey(f"this object's data key is wrapped with key id {key_id!r}, which is not configured")
        try:
            return aes_key_unwrap(kek, wrapped)
        except InvalidUnwrap:
            raise WrongKey(f"key {key_id!r} does not unwrap this object's data key (a different key?)") from None

    def __repr__(self) -> str:
        return f"<KeyRing primary={self._primary_id!r} keys={len(self._keys)}>"


class StaticKeyProvider(KeyRing):
    """One KEK, given directly."""

    def __init__(self, key: bytes, key_id: str = "default") -> None:
        super().__init__((key_id, key))


class EnvKeyProvider(KeyRing):
    """A KEK read once from an environment variable holding 32 bytes in base64 (or 64 hex)."""

    def __init__(self, variable: str = "TROVE_ENCRYPTION_KEY", key_id: str | None = None) -> None:
        raw = os.environ.get(variable)
        if not raw:
            raise ValueError(f"environment variable {variable} is not set")
        super().__init__((key_id or variable.lower(), decode_key(raw, variable)))


def decode_key(text: str, what: str = "key") -> bytes:
    """A 32-byte key from 64 hex digits or base64; the error never repeats the key."""
    text = text.strip()
    try:
        key = bytes.fromhex(text) if len(text) == 2 * KEY_BYTES else base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError(f"{what} is neither 64 hex digits nor base64") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"{what} decodes to {len(key)} bytes; AES-256 needs {KEY_BYTES}")
    return key
