"""AES-256-GCM per chunk, with a random data key per object (see ``keys`` for the envelope).

The nonce is the frame's final flag and index, which are unique within an object, and the data
key is unique to the object, so no (key, nonce) pair is ever used for two different chunks.
The associated data is the header's binding (object id, chunk size, transform chain) plus the
index and final flag.  Consequences, each raising its own error before any plaintext is
returned: a changed byte fails authentication (``TamperedFrame``); a frame moved to another
position or swapped in from another object is caught by its clear index and object tag first
(``FramesReordered``, ``FrameFromAnotherObject``) and would fail authentication anyway; an object
cut after a frame lacks the final flag (``TruncatedObject``); a wrong key-encryption key cannot
unwrap the data key (``WrongKey``).
"""

from __future__ import annotations

import base64
import os
import struct
from typing import ClassVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from trove_dist.errors import CorruptHeader, TamperedFrame
from trove_dist.format.codec import ChunkCodec
from trove_dist.format.header import Header
from trove_dist.middleware.base import ChunkMiddleware, Params
from trove_dist.middleware.context import Operation
from trove_dist.middleware.encrypt.keys import KEY_BYTES, KeyProvider

ALGORITHM = "AES-256-GCM"
_NONCE = struct.Struct(">?3xQ")


class _GCMCodec(ChunkCodec):
    def __init__(self, data_key: bytes, binding: bytes) -> None:
        self._aead = AESGCM(data_key)
        self._binding = binding

    def _nonce_and_aad(self, index: int, final: bool) -> tuple[bytes, bytes]:
        nonce = _NONCE.pack(final, index)
        return nonce, self._binding + nonce

    def encode(self, index: int, final: bool, chunk: bytes) -> bytes:
        nonce, aad = self._nonce_and_aad(index, final)
        return self._aead.encrypt(nonce, chunk, aad)

    def decode(self, index: int, final: bool, payload: bytes) -> bytes:
        nonce, aad = self._nonce_and_aad(index, final)
        try:
            return self._aead.decrypt(nonce, payload, aad)
        except InvalidTag:
            raise TamperedFrame(f"frame {index} failed authentication: its bytes were changed") from None


class Encrypt(ChunkMiddleware):
    name = "encrypt"
    transform: ClassVar[str] = "aes-256-gcm"

    def __init__(self, keys: KeyProvider) -> None:
        self.keys = keys

    def start_write(self, op: Operation, header: Header) -> tuple[ChunkCodec, Params]:
        data_key = os.urandom(KEY_BYTES)
        key_id, wrapped = self.keys.wrap(data_key)
        params = {"alg": ALGORITHM, "kid": key_id, "wk": base64.b64encode(wrapped).decode("ascii")}
        return _GCMCodec(data_key, header.binding), params

    def start_read(self, params: Params, header: Header) -> ChunkCodec:
        return _GCMCodec(self.data_key(params), header.binding)

    def data_key(self, params: Params) -> bytes:
        if params.get("alg") != ALGORITHM:
            raise CorruptHeader(f"unsupported encryption algorithm {params.get('alg')!r}")
        try:
            wrapped = base64.b64decode(str(params["wk"]), validate=True)
            key_id = str(params["kid"])
        except (KeyError, ValueError) as exc:
            raise CorruptHeader("encryption parameters in the header are malformed") from exc
        return self.keys.unwrap(key_id, wrapped)

    def rewrap(self, params: Params) -> Params:
        """The same data key, wrapped with the provider's primary key (key rotation)."""
        key_id, wrapped = self.keys.wrap(self.data_key(params))
        return {**params, "kid": key_id, "wk": base64.b64encode(wrapped).decode("ascii")}
