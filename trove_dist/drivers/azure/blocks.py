"""Block ids: how an upload's blocks are named so that uploads never mix and can be resumed.

Azure stages blocks on a blob under caller-chosen ids (at most 64 bytes before base64, and all
ids staged on one blob must have the same length) and makes them visible only when a block list
is committed.  Every block this driver stages has a 64-character ASCII id:

    tv1 | token (20 hex) | kind (1) | index (5 digits) | payload (35, padded with ".")

* ``token`` is random per upload (80 bits), so two uploads to one key never name each other's
  blocks; it *is* the multipart upload id, and every block id of the upload is derived from it
  deterministically — another process holding only the upload id can stage more parts.
* ``kind`` ``p`` is data (``index`` = part number, 1-based); ``m`` is one chunk of the upload's
  manifest (content type, metadata, start time — ``index`` orders the chunks, ``payload``
  carries them); ``x`` marks the upload as aborted.  The manifest lives in block *ids* because
  an uncommitted block's data cannot be read back, while its id can (Get Block List): that is
  what lets ``list_multipart_uploads`` and ``complete_multipart`` rebuild an upload from the
  service alone.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from trove_dist.drivers.azure.config import MAX_BLOCK_BYTES, MAX_BLOCKS, MiB

MAGIC = "tv1"
TOKEN_HEX = 20
PAYLOAD_CHARS = 35
ID_LENGTH = len(MAGIC) + TOKEN_HEX + 1 + 5 + PAYLOAD_CHARS  # 64, Azure's maximum
PAD = "."
DATA, MANIFEST, ABORTED = "p", "m", "x"
MAX_PART_NUMBER = MAX_BLOCKS
#: Each block-size tier of a stream of unknown length holds this many blocks; the block size
#: doubles from one tier to the next, so 50,000 blocks hold 310,000 first-tier blocks' worth.
BLOCKS_PER_TIER = 10_000

_UPLOAD_ID_RE = re.compile(rf"\A[0-9a-f]{{{TOKEN_HEX}}}\Z")
_ID_RE = re.compile(
    rf"\A{MAGIC}(?P<token>[0-9a-f]{{{TOKEN_HEX}}})(?P<kind>[{DATA}{MANIFEST}{ABORTED}])"
    rf"(?P<index>\d{{5}})(?P<payload>[A-Za-z0-9_\-{re.escape(PAD)}]{{{PAYLOAD_CHARS}}})\Z"
)


def new_token() -> str:
    return secrets.token_hex(TOKEN_HEX // 2)


def is_upload_id(text: object) -> bool:
    return isinstance(text, str) and bool(_UPLOAD_ID_RE.match(text))


def block_id(token: str, kind: str, index: int, payload: str = "") -> str:
    """The raw (not yet base64-encoded) id; the SDK encodes ids on the way out and decodes them
    in Get Block List answers."""
    if not 0 <= index <= 99_999 or len(payload) > PAYLOAD_CHARS:
        raise ValueError(f"block index {index} or payload of {len(payload)} characters out of range")
    return f"{MAGIC}{token}{kind}{index:05d}{payload.ljust(PAYLOAD_CHARS, PAD)}"


def data_block_id(token: str, part_number: int) -> str:
    return block_id(token, DATA, part_number)


@dataclass(frozen=True, slots=True)
class ParsedBlock:
    token: str
    kind: str
    index: int
    payload: str
    size: int


def parse_block(raw_id: str, size: int) -> ParsedBlock | None:
    """The parts of one of our ids; None for blocks staged by anything else."""
    match = _ID_RE.match(raw_id)
    if match is None:
        return None
    return ParsedBlock(match["token"], match["kind"], int(match["index"]), match["payload"].rstrip(PAD), size)


@dataclass(frozen=True, slots=True)
class Manifest:
    """What ``initiate_multipart`` was told, kept in the service for ``complete_multipart``."""

    content_type: str
    metadata: dict[str, str]
    initiated: datetime = field(default_factory=lambda: datetime.now(UTC))

    def block_ids(self, token: str) -> list[str]:
        document = {"c": self.content_type, "m": self.metadata, "t": int(self.initiated.timestamp())}
        packed = zlib.compress(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), 9)
        text = base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")
        chunks = [text[i : i + PAYLOAD_CHARS] for i in range(0, len(text), PAYLOAD_CHARS)]
        return [block_id(token, MANIFEST, i, chunk) for i, chunk in enumerate(chunks)]

    @classmethod
    def from_blocks(cls, blocks: list[ParsedBlock]) -> Manifest | None:
        """The manifest from its chunks (any order); None if chunks are missing or garbled, as
        after an ``initiate_multipart`` that failed halfway."""
        ordered = sorted(blocks, key=lambda b: b.index)
        if not ordered or [b.index for b in ordered] != list(range(len(ordered))):
            return None
        text = "".join(b.payload for b in ordered)
        try:
            packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            document = json.loads(zlib.decompress(packed).decode("utf-8"))
            content_type, metadata, started = document["c"], document["m"], document["t"]
        except (binascii.Error, zlib.error, ValueError, KeyError, TypeError, UnicodeError):
            return None
        if not isinstance(content_type, str) or not isinstance(metadata, dict) or not isinstance(started, int):
            return None
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            return None
        return cls(content_type, dict(metadata), datetime.fromtimestamp(started, UTC))


@dataclass(frozen=True, slots=True)
class UploadState:
    """One upload's blocks as the service holds them, from a Get Block List answer."""

    token: str
    manifest: Manifest | None
    aborted: bool
    parts: dict[int, ParsedBlock]

    @property
    def is_live(self) -> bool:
        """Initiated (its manifest is complete) and not aborted."""
        return self.manifest is not None and not self.aborted


def uploads_in(uncommitted: list[tuple[str, int]]) -> dict[str, UploadState]:
    """Group a blob's uncommitted blocks (raw id, size) by upload token."""
    grouped: dict[str, list[ParsedBlock]] = {}
    for raw_id, size in uncommitted:
        parsed = parse_block(raw_id, size)
        if parsed is not None:
            grouped.setdefault(parsed.token, []).append(parsed)
    states: dict[str, UploadState] = {}
    for token, blocks in grouped.items():
        manifest_blocks = [b for b in blocks if b.kind == MANIFEST]
        states[token] = UploadState(
            token=token,
            manifest=Manifest.from_blocks(manifest_blocks) if manifest_blocks else None,
            aborted=any(b.kind == ABORTED for b in blocks),
            parts={b.index: b for b in blocks if b.kind == DATA},
        )
    return states


class BlockSizer:
    """The size of each block of one streamed put, chosen so 50,000 blocks always suffice.

    With the body's size known, the first tier's block is large enough for the whole body in
    50,000 blocks.  Without it, the block size doubles every 10,000 blocks: memory stays at
    ``concurrency + 1`` blocks of the current size while the capacity grows to 31 times
    10,000 first-tier blocks (1.2 TiB at the default 4 MiB) before Azure's 4000 MiB block cap applies.
    """

    def __init__(self, block_size: int, size_hint: int | None) -> None:
        base = block_size
        if size_hint is not None and size_hint > base * MAX_BLOCKS:
            base = -(-size_hint // MAX_BLOCKS)
            base = -(-base // MiB) * MiB  # whole MiB: aligned buffers, readable logs
        self.base = min(base, MAX_BLOCK_BYTES)

    def size_of(self, index: int) -> int:
        """The size of block number ``index`` (0-based)."""
        if index >= MAX_BLOCKS:
            raise ValueError(f"the body needs more than {MAX_BLOCKS} blocks, the most an Azure block blob can hold")
        return min(self.base << (index // BLOCKS_PER_TIER), MAX_BLOCK_BYTES)
