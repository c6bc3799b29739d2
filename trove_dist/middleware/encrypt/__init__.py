"""Envelope encryption of chunks: AES-256-GCM data keys wrapped by key-encryption keys."""

from trove_dist.middleware.encrypt.keys import EnvKeyProvider, KeyProvider, KeyRing, StaticKeyProvider, decode_key
from trove_dist.middleware.encrypt.middleware import Encrypt

__all__ = ["Encrypt", "EnvKeyProvider", "KeyProvider", "KeyRing", "StaticKeyProvider", "decode_key"]
