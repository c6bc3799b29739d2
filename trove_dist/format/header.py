"""The framed header: what a reader must know to decode the object."""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from trove_dist.errors import CorruptHeader


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


MAGIC = b"\x89TRV\r\n\x1a\n"
VERSION = 1
_PREFIX = struct.Struct(">8sHI")
PREFIX_SIZE = _PREFIX.size
MAX_HEADER_JSON = 64 * 1024
MIN_CHUNK_SIZE = 4 * 1024
MAX_CHUNK_SIZE = 256 * 1024 * 1024
MAX_CHAIN = 8


@dataclass(frozen=True, slots=True)
class TransformSpec:
    name: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Header:
    object_id: bytes
    chunk_size: int
    chain: tuple[TransformSpec, ...]
    version: int = VERSION

    @classmethod
    def new(cls, chunk_size: int, transform_names: list[str]) -> Header:
        """A header for a fresh object: a random id, the chain's names; params come later."""
        return cls(os.urandom(16), chunk_size, tuple(TransformSpec(n) for n in transform_names))

    @property
    def tag(self) -> bytes:
        """The bytes of the object id every frame repeats, to name a frame from elsewhere."""
        return self.object_id[:8]

    @property
    def binding(self) -> bytes:
        """A digest of everything in the header that never changes for the object's life
        (not the transforms' parameters: rotating a key rewrites those).  Encryption binds its
        frames to it, so frames cannot move between objects or chunkings."""
        names = "\x00".join(spec.name for spec in self.chain).encode()
        material = MAGIC + struct.pack(">HI", self.version, self.chunk_size) + self.object_id + names
        return hashlib.sha256(material).digest()

    def with_params(self, params: Sequence[Mapping[str, Any]]) -> Header:
        specs = tuple(TransformSpec(spec.name, dict(p)) for spec, p in zip(self.chain, params, strict=True))
        return Header(self.object_id, self.chunk_size, specs, self.version)

    def encode(self) -> bytes:
        body = json.dumps(
            {
                "id": self.object_id.hex(),
                "cs": self.chunk_size,
                "chain": [{"t": s.name, "p": dict(s.params)} for s in self.chain],
            },
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        if len(body) > MAX_HEADER_JSON:
            raise ValueError(f"framed header would be {len(body)} bytes; the limit is {MAX_HEADER_JSON}")
        return _PREFIX.pack(MAGIC, self.version, len(body)) + body

    @classmethod
    def read_from(cls, stream: _Readable) -> tuple[Header, int]:
        """Parse a header from the start of ``stream``; returns it and its encoded length."""
        prefix = _read_exact(stream, PREFIX_SIZE)
        magic, version, length = _PREFIX.unpack(prefix)
        if magic != MAGIC:
            raise CorruptHeader("not a framed object (bad magic bytes)")
        if version != VERSION:
            raise CorruptHeader(f"unsupported framed format version {version} (this build reads {VERSION})")
        if length > MAX_HEADER_JSON:
            raise CorruptHeader(f"header claims {length} bytes; the limit is {MAX_HEADER_JSON}")
        return cls.parse_body(_read_exact(stream, length), version), PREFIX_SIZE + length

    @staticmethod
    def body_length(prefix: bytes) -> int:
        if len(prefix) < PREFIX_SIZE:
            raise CorruptHeader("object too short for a framed header")
        magic, version, length = _PREFIX.unpack(prefix[:PREFIX_SIZE])
        if magic != MAGIC or version != VERSION or length > MAX_HEADER_JSON:
            raise CorruptHeader("not a framed header of a supported version")
        return int(length)

    @classmethod
    def parse_body(cls, body: bytes, version: int = VERSION) -> Header:
        try:
            data = json.loads(body)
            object_id = bytes.fromhex(data["id"])
            chunk_size = data["cs"]
            raw_chain = data["chain"]
            chain = tuple(TransformSpec(str(item["t"]), dict(item["p"])) for item in raw_chain)
        except (ValueError, KeyError, TypeError) as exc:
            raise CorruptHeader(f"framed header is not valid: {exc}") from exc
        if len(object_id) != 16:
            raise CorruptHeader("framed header has a malformed object id")
        if not isinstance(chunk_size, int) or not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
            raise CorruptHeader(f"framed header has an impossible chunk size {chunk_size!r}")
        if not 1 <= len(chain) <= MAX_CHAIN:
            raise CorruptHeader(f"framed header has {len(chain)} transforms (1 to {MAX_CHAIN} allowed)")
        return cls(object_id, chunk_size, chain, version)


def _read_exact(stream: _Readable, size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) != size:
        raise CorruptHeader("object ends inside its framed header")
    return data
