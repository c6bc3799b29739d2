"""The embedded index: one SQLite file in WAL mode, shared safely by threads and processes.

Every mutation runs in ``BEGIN IMMEDIATE``, which takes SQLite's single write lock up front: each
method is then a serial read-decide-write step, and ``collect`` holding that lock while it deletes
blobs is the GC protocol's row lock (stores wait on it; readers in WAL mode do not).  A process
killed mid-transaction loses nothing committed: SQLite rolls the transaction back and the lock
dies with the process.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trove_dist.cas.errors import HashNotFound, IndexMismatch, NoReferences
from trove_dist.cas.index.base import Collected, DeleteBlob
from trove_dist.cas.models import Claim, Doomed, Entry, IndexStats, State

#: Versioned schema: applied in order, each once, recorded in ``schema_migrations``.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "entries, owners and settings",
        """
        CREATE TABLE cas_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE cas_entries (
            hash TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            refs INTEGER NOT NULL DEFAULT 0 CHECK (refs >= 0),
            pinned INTEGER NOT NULL DEFAULT 0,
            state TEXT NOT NULL CHECK (state IN ('pending', 'live', 'deleting')),
            generation INTEGER NOT NULL,
            created REAL NOT NULL,
            touched REAL NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX cas_entries_idle ON cas_entries (touched) WHERE refs = 0 AND pinned = 0;
        CREATE INDEX cas_entries_deleting ON cas_entries (hash) WHERE state = 'deleting';
        CREATE TABLE cas_owner_refs (
            owner TEXT NOT NULL,
            hash TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (owner, hash)
        ) WITHOUT ROWID;
        """,
    ),
)

_COLUMNS = "hash, size, refs, pinned, state, created, touched"


class SQLiteIndex:
    def __init__(
        self, path: str | os.PathLike[str], *, busy_timeout: float = 60.0, clock: Callable[[], float] = time.time
    ) -> None:
        """``busy_timeout``: how long a write waits for another process's transaction (a
        collector holds one while it deletes a batch of blobs)."""
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        self._db.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a commit survives a process crash; a power loss may lose the last
        # commits, never corrupt the file (a lost commit is at worst an orphan blob, swept later).
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._migrate()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _migrate(self) -> None:
        with self._write() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied REAL NOT NULL)"
            )
            applied = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
            for version, name, sql in MIGRATIONS:
                if version in applied:
                    continue
                for statement in filter(str.strip, sql.split(";")):
                    db.execute(statement)
                db.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (version, name, time.time()))

    @property
    def schema_version(self) -> int:
        return int(self._read("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")[0][0])

    def bind(self, bucket: str, algorithm: str) -> None:
        with self._write() as db:
            for name, value in (("bucket", bucket), ("algorithm", algorithm)):
                db.execute("INSERT OR IGNORE INTO cas_meta VALUES (?, ?)", (name, value))
                stored = db.execute("SELECT value FROM cas_meta WHERE name = ?", (name,)).fetchone()[0]
                if stored != value:
                    raise IndexMismatch(f"{self.path} indexes {name} {stored!r}, not {value!r}")

    def begin_store(self, digest: str, size: int, owner: str | None) -> Claim:
        now = self._clock()
        with self._write() as db:
            row = db.execute("SELECT state, generation FROM cas_entries WHERE hash = ?", (digest,)).fetchone()
            if row is None:
                generation = _generation()
                db.execute(
                    "INSERT INTO cas_entries VALUES (?, ?, 0, 0, 'pending', ?, ?, ?)",
                    (digest, size, generation, now, now),
                )
                return Claim(False, generation)
            state, generation = State(row[0]), int(row[1])
            if state is State.LIVE:
                db.execute("UPDATE cas_entries SET refs = refs + 1, touched = ? WHERE hash = ?", (now, digest))
                _own(db, owner, digest, 1)
                return Claim(True, generation)
            if state is State.DELETING:
                generation = _generation()
                db.execute(
                    "UPDATE cas_entries SET state = 'pending', generation = ?, refs = 0, size = ?, touched = ? "
                    "WHERE hash = ?",
                    (generation, size, now, digest),
                )
            else:
                db.execute("UPDATE cas_entries SET touched = ? WHERE hash = ?", (now, digest))
            return Claim(False, generation)

    def finish_store(self, digest: str, generation: int, size: int, owner: str | None, refs: int = 1) -> bool:
        with self._write() as db:
            done = db.execute(
                "UPDATE cas_entries SET state = 'live', size = ?, refs = refs + ?, touched = ? "
                "WHERE hash = ? AND generation = ? AND state IN ('pending', 'live')",
                (size, refs, self._clock(), digest, generation),
            ).rowcount
            if done:
                _own(db, owner, digest, refs)
            return bool(done)

    def abandon(self, digest: str, generation: int) -> None:
        with self._write() as db:
            db.execute(
                "DELETE FROM cas_entries WHERE hash = ? AND generation = ? AND state = 'pending' AND refs = 0",
                (digest, generation),
            )

    def release(self, digest: str) -> int:
        with self._write() as db:
            row = db.execute("SELECT refs FROM cas_entries WHERE hash = ? AND state = 'live'", (digest,)).fetchone()
            if row is None:
                raise HashNotFound(digest)
            if row[0] == 0:
                raise NoReferences(digest)
            db.execute("UPDATE cas_entries SET refs = refs - 1, touched = ? WHERE hash = ?", (self._clock(), digest))
            return int(row[0]) - 1

    def release_owner(self, owner: str) -> int:
        with self._write() as db:
            held = db.execute("SELECT hash, n FROM cas_owner_refs WHERE owner = ?", (owner,)).fetchall()
            now = self._clock()
            db.executemany(
                "UPDATE cas_entries SET refs = MAX(0, refs - ?), touched = ? WHERE hash = ?",
                [(n, now, digest) for digest, n in held],
            )
            db.execute("DELETE FROM cas_owner_refs WHERE owner = ?", (owner,))
            return sum(int(n) for _, n in held)

    def set_pinned(self, digest: str, pinned: bool) -> None:
        with self._write() as db:
            done = db.execute(
                "UPDATE cas_entries SET pinned = ?, touched = ? WHERE hash = ? AND state = 'live'",
                (int(pinned), self._clock(), digest),
            ).rowcount
            if not done:
                raise HashNotFound(digest)

    def get(self, digest: str) -> Entry | None:
        rows = self._read(f"SELECT {_COLUMNS} FROM cas_entries WHERE hash = ?", (digest,))
        return _entry(rows[0]) if rows else None

    def entries(self, after: str = "", limit: int = 1000) -> list[Entry]:
        rows = self._read(f"SELECT {_COLUMNS} FROM cas_entries WHERE hash > ? ORDER BY hash LIMIT ?", (after, limit))
        return [_entry(row) for row in rows]

    def stats(self) -> IndexStats:
        row = self._read(
            "SELECT COUNT(*), COALESCE(SUM(state = 'live'), 0), COALESCE(SUM(state = 'pending'), 0), "
            "COALESCE(SUM(state = 'deleting'), 0), COALESCE(SUM(refs > 0), 0), COALESCE(SUM(pinned), 0), "
            "COALESCE(SUM(size), 0) FROM cas_entries"
        )[0]
        return IndexStats(*(int(v) for v in row))

    def condemn(self, grace: float, limit: int) -> int:
        with self._write() as db:
            return db.execute(
                "UPDATE cas_entries SET state = 'deleting' WHERE hash IN ("
                " SELECT hash FROM cas_entries WHERE touched < ? AND ("
                "  (state = 'live' AND refs = 0 AND pinned = 0) OR state = 'pending') LIMIT ?)",
                (self._clock() - grace, limit),
            ).rowcount

    def doomed(self, after: str, limit: int) -> list[Doomed]:
        rows = self._read(
            "SELECT hash, size, generation FROM cas_entries WHERE state = 'deleting' AND hash > ? "
            "ORDER BY hash LIMIT ?",
            (after, limit),
        )
        return [Doomed(str(h), int(s), int(g)) for h, s, g in rows]

    def collect(self, doomed: Sequence[Doomed], delete_blob: DeleteBlob) -> Collected:
        result = Collected()
        with self._write() as db:
            for item in doomed:
                still = db.execute(
                    "SELECT 1 FROM cas_entries WHERE hash = ? AND generation = ? AND state = 'deleting'",
                    (item.hash, item.generation),
                ).fetchone()
                if still is None:
                    continue
                try:
                    delete_blob(item)
                except Exception as exc:  # noqa: BLE001 - the entry stays condemned; the next GC retries
                    result.errors.append(f"{item.hash}: {exc}")
                    continue
                result.deleted.append(item)
            db.executemany(
                "DELETE FROM cas_entries WHERE hash = ? AND generation = ?",
                [(item.hash, item.generation) for item in result.deleted],
            )
        return result

    def adopt_orphan(self, digest: str) -> Doomed | None:
        generation = _generation()
        now = self._clock()
        with self._write() as db:
            inserted = db.execute(
                "INSERT OR IGNORE INTO cas_entries VALUES (?, 0, 0, 0, 'deleting', ?, ?, ?)",
                (digest, generation, now, now),
            ).rowcount
        return Doomed(digest, 0, generation) if inserted else None

    def adopt_blob(self, digest: str, size: int) -> int | None:
        generation = _generation()
        now = self._clock()
        with self._write() as db:
            inserted = db.execute(
                "INSERT OR IGNORE INTO cas_entries VALUES (?, ?, 0, 0, 'pending', ?, ?, ?)",
                (digest, size, generation, now, now),
            ).rowcount
        return generation if inserted else None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return f"<SQLiteIndex {self.path}>"


def _own(db: sqlite3.Connection, owner: str | None, digest: str, n: int) -> None:
    if owner is not None and n:
        db.execute(
            "INSERT INTO cas_owner_refs VALUES (?, ?, ?) ON CONFLICT (owner, hash) DO UPDATE SET n = n + excluded.n",
            (owner, digest, n),
        )


def _generation() -> int:
    return secrets.randbits(62) + 1


def _entry(row: tuple[Any, ...]) -> Entry:
    digest, size, refs, pinned, state, created, touched = row
    return Entry(
        hash=str(digest),
        size=int(size),
        refs=int(refs),
        pinned=bool(pinned),
        state=State(state),
        created=datetime.fromtimestamp(float(created), UTC),
        touched=datetime.fromtimestamp(float(touched), UTC),
    )
