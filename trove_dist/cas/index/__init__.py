"""CAS indexes: memory (one process), SQLite (embedded default), PostgreSQL (shared)."""

from __future__ import annotations

from trove_dist.cas.index.base import Collected, DeleteBlob, Index
from trove_dist.cas.index.memory import MemoryIndex
from trove_dist.cas.index.sqlite import SQLiteIndex


def open_index(location: str) -> Index:
    """``memory:``, ``sqlite:///path/to/cas.db`` (or a plain path), or a PostgreSQL URL
    (``postgresql://user@host/db``)."""
    if location == "memory:":
        return MemoryIndex()
    if location.startswith(("postgresql://", "postgres://")):
        from trove_dist.cas.index.postgres import PostgresIndex  # psycopg is an optional dependency

        return PostgresIndex(location)
    if location.startswith("sqlite://"):
        location = location.removeprefix("sqlite://")
    if not location:
        raise ValueError("an SQLite index needs a file path")
    return SQLiteIndex(location)


__all__ = ["Collected", "DeleteBlob", "Index", "MemoryIndex", "SQLiteIndex", "open_index"]
