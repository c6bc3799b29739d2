"""zstd compression per chunk.

Each payload starts with one byte saying how it is stored — 0 raw, 1 zstd — so a chunk that
does not shrink (or is shorter than ``min_size``) costs one byte instead of growing, and the
flag sits inside the frame where encryption, when it follows, authenticates it.  Objects whose
key or content type says they are already compressed are not transformed at all.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import ClassVar

import zstandard

from trove_dist.errors import CorruptHeader
from trove_dist.format.codec import ChunkCodec
from trove_dist.format.header import Header
from trove_dist.middleware.base import ChunkMiddleware, Params
from trove_dist.middleware.context import Operation

RAW = 0
ZSTD = 1

ALREADY_COMPRESSED_EXTENSIONS = frozenset(
    {
        "jpg", "jpeg", "png", "gif", "webp", "avif", "heic", "mp3", "mp4", "m4a", "m4v", "mov", "mkv", "webm",
        "ogg", "opus", "flac", "zip", "gz", "tgz", "bz2", "xz", "zst", "7z", "rar", "br", "lz4", "jar", "apk",
        "docx", "xlsx", "pptx", "odt", "epub", "woff", "woff2", "pdf",
    }
)
ALREADY_COMPRESSED_TYPES = frozenset(
    {
        "application/zip", "application/gzip", "application/x-gzip", "application/zstd", "application/x-bzip2",
        "application/x-xz", "application/x-7z-compressed", "application/vnd.rar", "application/pdf",
    }
)
ALREADY_COMPRESSED_FAMILIES = frozenset({"image", "video", "audio"})


#: zstd contexts are not thread-safe, and one object's chunks are encoded by many threads at once
#: in the stream engine: each thread has its own (de)compressors.  They are shared by every object
#: that thread handles (a context costs ~70 us to set up, more than a small read takes).
_contexts = threading.local()


def _compressor(level: int) -> zstandard.ZstdCompressor:
    compressors: dict[int, zstandard.ZstdCompressor] | None = getattr(_contexts, "compressors", None)
    if compressors is None:
        compressors = _contexts.compressors = {}
    compressor = compressors.get(level)
    if compressor is None:
        compressor = compressors[level] = zstandard.ZstdCompressor(level=level, write_content_size=True)
    return compressor


def _decompressor() -> zstandard.ZstdDecompressor:
    decompressor: zstandard.ZstdDecompressor | None = getattr(_contexts, "decompressor", None)
    if decompressor is None:
        decompressor = _contexts.decompressor = zstandard.ZstdDecompressor()
    return decompressor


class _ZstdCodec(ChunkCodec):
    def __init__(self, level: int, min_size: int, chunk_size: int) -> None:
        self._level = level
        self._min_size = min_size
        self._chunk_size = chunk_size

    @property
    def _compressor(self) -> zstandard.ZstdCompressor:
        return _compressor(self._level)

    @property
    def _decompressor(self) -> zstandard.ZstdDecompressor:
        return _decompressor()

    def encode(self, index: int, final: bool, chunk: bytes) -> bytes:
        if len(chunk) >= self._min_size:
            packed = self._compressor.compress(chunk)
            if len(packed) + 1 < len(chunk):
                return bytes((ZSTD,)) + packed
        return bytes((RAW,)) + chunk

    def decode(self, index: int, final: bool, payload: bytes) -> bytes:
        if not payload:
            raise CorruptHeader(f"frame {index} has an empty compression payload")
        kind = payload[0]
        body = memoryview(payload)[1:]
        if kind == RAW:
            return bytes(body)
        if kind != ZSTD:
            raise CorruptHeader(f"frame {index} has unknown compression kind {kind}")
        try:
            return self._decompressor.decompress(body, max_output_size=self._chunk_size)
        except zstandard.ZstdError as exc:
            raise CorruptHeader(f"frame {index} does not decompress: {exc}") from exc


class Compress(ChunkMiddleware):
    name = "compress"
    transform: ClassVar[str] = "zstd"

    def __init__(
        self,
        level: int = 3,
        *,
        min_size: int = 512,
        skip_extensions: Iterable[str] = ALREADY_COMPRESSED_EXTENSIONS,
        skip_content_types: Iterable[str] = ALREADY_COMPRESSED_TYPES,
        skip_families: Iterable[str] = ALREADY_COMPRESSED_FAMILIES,
    ) -> None:
        """``min_size``: chunks shorter than this are stored raw.  The skip lists name objects
        that are already compressed (by key extension, exact content type, or type family)."""
        if not -7 <= level <= 22:
            raise ValueError("zstd level must be between -7 and 22")
        self.level = level
        self.min_size = min_size
        self.skip_extensions = frozenset(e.lower().lstrip(".") for e in skip_extensions)
        self.skip_content_types = frozenset(t.lower() for t in skip_content_types)
        self.skip_families = frozenset(f.lower() for f in skip_families)

    def applies_to(self, op: Operation) -> bool:
        name = op.key.rsplit("/", 1)[-1]
        if "." in name and name.rsplit(".", 1)[1].lower() in self.skip_extensions:
            return False
        if op.content_type:
            essence = op.content_type.split(";", 1)[0].strip().lower()
            if essence in self.skip_content_types or essence.split("/", 1)[0] in self.skip_families:
                return False
        return True

    def start_write(self, op: Operation, header: Header) -> tuple[ChunkCodec, Params]:
        return _ZstdCodec(self.level, self.min_size, header.chunk_size), {"level": self.level}

    def start_read(self, params: Params, header: Header) -> ChunkCodec:
        return _ZstdCodec(self.level, self.min_size, header.chunk_size)
