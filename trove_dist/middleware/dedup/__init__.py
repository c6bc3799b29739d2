"""Chunk-level deduplication through the CAS."""

from trove_dist.middleware.dedup.chunking import Chunker, ContentDefinedChunker, FixedSizeChunker
from trove_dist.middleware.dedup.manifest import CorruptManifest, Manifest
from trove_dist.middleware.dedup.middleware import MARKER, Dedup

__all__ = ["MARKER", "Chunker", "ContentDefinedChunker", "CorruptManifest", "Dedup", "FixedSizeChunker", "Manifest"]
