"""What a store keeps about a stream: ids and references only, never credentials or bulk data.

A record names its source and destination by *backend name* (resolved by each worker from its
own configuration), bucket and key; the framed header it carries holds a wrapped data key, which
is useless without the key-encryption key that only the workers' configuration has.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from trove_dist.stream.state import StreamState


@dataclass(frozen=True, slots=True)
class ObjectRef:
    backend: str
    bucket: str
    key: str
    etag: str | None = None  # for a source: the version being read; a change fails the stream
    size: int | None = None


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """Fixed at creation."""

    stream_id: str
    destination: ObjectRef
    chunk_size: int
    source: ObjectRef | None = None  # None: chunks are pushed by a producer into staging
    content_type: str = "application/octet-stream"
    metadata: dict[str, str] = field(default_factory=dict)
    header: str | None = None  # the framed header (base64) when chunk transforms apply
    part_min: int = 1  # the destination's minimum part size (all but the last part)
    max_parts: int = 10_000

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> StreamSpec:
        data: dict[str, Any] = json.loads(text)
        data["destination"] = ObjectRef(**data["destination"])
        if data.get("source") is not None:
            data["source"] = ObjectRef(**data["source"])
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Part:
    """A destination part: frames ``first..last`` (inclusive), numbered from 1."""

    number: int
    first: int
    last: int
    etag: str | None = None
    size: int | None = None
    cut_by: int = -1  # the chunk whose write step cut this part: it uploads it (again, if re-run)
    cut_at: float = 0.0

    @property
    def uploaded(self) -> bool:
        return self.etag is not None


@dataclass(frozen=True, slots=True)
class StreamStatus:
    stream_id: str
    state: StreamState
    total_chunks: int | None
    received: int  # chunks whose raw bytes reached staging (or that need none: object sources)
    transformed: int  # chunks whose frame is staged or already stored
    stored: int  # chunks inside uploaded parts
    bytes_in: int  # plaintext bytes transformed
    missing: list[int]  # chunk indices below the known end that nothing has received
    error: str | None
    upload_id: str | None
    created_at: float
    updated_at: float

    @property
    def done(self) -> bool:
        return self.state.terminal


@dataclass(frozen=True, slots=True)
class StreamCounts:
    """The cheap subset of a status (constant time in every store), for polling loops."""

    state: StreamState
    total_chunks: int | None
    received: int
    transformed: int
    stored: int
    bytes_in: int
