"""Content-addressable storage: ``CAS`` over any ``BlobStore``, with a memory, SQLite or
PostgreSQL index and garbage collection that is safe under concurrency (see ``gc``)."""

from trove_dist.cas.blobstore import BlobReader, BlobStore
from trove_dist.cas.cas import CAS
from trove_dist.cas.errors import HashNotFound, IndexMismatch, NoReferences, StoreContention
from trove_dist.cas.hashing import VerifiedReader, blob_key
from trove_dist.cas.index import Index, MemoryIndex, SQLiteIndex, open_index
from trove_dist.cas.models import Entry, GCResult, IndexStats, RebuildResult, State, StoreResult, SweepResult

__all__ = [
    "CAS",
    "BlobReader",
    "BlobStore",
    "Entry",
    "GCResult",
    "HashNotFound",
    "Index",
    "IndexMismatch",
    "IndexStats",
    "MemoryIndex",
    "NoReferences",
    "RebuildResult",
    "SQLiteIndex",
    "State",
    "StoreContention",
    "StoreResult",
    "SweepResult",
    "VerifiedReader",
    "blob_key",
    "open_index",
]
