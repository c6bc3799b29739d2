"""The shared index for many processes and machines: PostgreSQL through psycopg 3 and a
connection pool, its schema brought up to date by versioned migrations on open.

Each method is one transaction (most are one statement).  Reference counts change inside the
database (``refs = refs + 1``, ``INSERT … ON CONFLICT DO UPDATE``), never read-modify-written by
the client.  The GC protocol's row lock is PostgreSQL's: ``collect`` holds ``FOR UPDATE`` on the
doomed rows while it deletes their blobs, and a store of the same content blocks in its upsert
until that transaction ends.  Collectors use ``SKIP LOCKED``, so they never wait on a store (or
on each other).  Timestamps are the server's clock, so machines with skewed clocks agree on
what "older than the grace period" means.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import errors
from psycopg_pool import ConnectionPool

from trove_dist.cas.errors import HashNotFound, IndexMismatch, NoReferences
from trove_dist.cas.index.base import Collected, DeleteBlob
from trove_dist.cas.models import Claim, Doomed, Entry, IndexStats, State

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "entries, owners and settings",
        """
        CREATE TABLE cas_meta (name text PRIMARY KEY, value text NOT NULL);
        CREATE TABLE cas_entries (
            hash text PRIMARY KEY,
            size bigint NOT NULL,
            refs bigint NOT NULL DEFAULT 0 CHECK (refs >= 0),
            pinned boolean NOT NULL DEFAULT false,
            state text NOT NULL CHECK (state IN ('pending', 'live', 'deleting')),
            generation bigint NOT NULL,
            created timestamptz NOT NULL DEFAULT now(),
            touched timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX cas_entries_idle ON cas_entries (touched) WHERE refs = 0 AND NOT pinned;
        CREATE INDEX cas_entries_deleting ON cas_entries (hash) WHERE state = 'deleting';
        CREATE TABLE cas_owner_refs (
            owner text NOT NULL,
            hash text NOT NULL,
            n bigint NOT NULL,
            PRIMARY KEY (owner, hash)
        );
        """,
    ),
)

#: Serialises migrations of processes that open the same database at the same moment.
_MIGRATION_LOCK = 0x7472_6F76_6563_6173  # "trovecas"
_COLUMNS = "hash, size, refs, pinned, state, created, touched"
_RETRIES = 5
_IDLE = (
    "touched < now() - make_interval(secs => %(grace)s)"
    " AND ((state = 'live' AND refs = 0 AND NOT pinned) OR state = 'pending')"
)

T = TypeVar("T")


class PostgresIndex:
    def __init__(self, conninfo: str, *, pool_size: int = 4) -> None:
        """``conninfo``: a libpq connection string or URL.  To keep several CAS indexes in one
        database, give each its own schema (``options=-csearch_path=name``)."""
        self._pool = ConnectionPool(conninfo, min_size=1, max_size=pool_size, open=True, name="trove-cas-index")
        try:
            self._migrate()
        except BaseException:
            self._pool.close()
            raise

    def _run(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """One transaction, retried when PostgreSQL aborts it to break a deadlock."""
        for attempt in range(_RETRIES):
            try:
                with self._pool.connection() as conn, conn.transaction():
                    return work(conn)
            except (errors.DeadlockDetected, errors.SerializationFailure):
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _migrate(self) -> None:
        def migrate(conn: psycopg.Connection[Any]) -> None:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())"
            )
            applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, name, sql in MIGRATIONS:
                if version not in applied:
                    conn.execute(sql.encode())
                    conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))

        self._run(migrate)

    @property
    def schema_version(self) -> int:
        return self._run(lambda c: int(_one(c.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))[0]))

    def bind(self, bucket: str, algorithm: str) -> None:
        def bind(conn: psycopg.Connection[Any]) -> None:
            for name, value in (("bucket", bucket), ("algorithm", algorithm)):
                conn.execute("INSERT INTO cas_meta VALUES (%s, %s) ON CONFLICT DO NOTHING", (name, value))
                stored = _one(conn.execute("SELECT value FROM cas_meta WHERE name = %s", (name,)))[0]
                if stored != value:
                    raise IndexMismatch(f"this PostgreSQL index serves {name} {stored!r}, not {value!r}")

        self._run(bind)

    def begin_store(self, digest: str, size: int, owner: str | None) -> Claim:
        params = {"hash": digest, "size": size, "generation": _generation(), "owner": owner}
        row = self._run(
            lambda c: _one(
                c.execute(
                    """
                    WITH up AS (
                        INSERT INTO cas_entries AS e (hash, size, refs, state, generation)
                        VALUES (%(hash)s, %(size)s, 0, 'pending', %(generation)s)
                        ON CONFLICT (hash) DO UPDATE SET
                            refs = CASE e.state WHEN 'live' THEN e.refs + 1 WHEN 'deleting' THEN 0 ELSE e.refs END,
                            generation = CASE e.state WHEN 'deleting' THEN excluded.generation ELSE e.generation END,
                            size = CASE e.state WHEN 'deleting' THEN excluded.size ELSE e.size END,
                            state = CASE e.state WHEN 'deleting' THEN 'pending' ELSE e.state END,
                            touched = now()
                        RETURNING state, generation
                    ), own AS (
                        INSERT INTO cas_owner_refs (owner, hash, n)
                        SELECT %(owner)s::text, %(hash)s, 1 FROM up
                        WHERE up.state = 'live' AND %(owner)s::text IS NOT NULL
                        ON CONFLICT (owner, hash) DO UPDATE SET n = cas_owner_refs.n + 1
                    )
                    SELECT state, generation FROM up
                    """,
                    params,
                )
            )
        )
        return Claim(row[0] == State.LIVE.value, int(row[1]))

    def finish_store(self, digest: str, generation: int, size: int, owner: str | None, refs: int = 1) -> bool:
        params = {"hash": digest, "size": size, "generation": generation, "owner": owner, "n": refs}
        row = self._run(
            lambda c: _one(
                c.execute(
                    """
                    WITH up AS (
                        UPDATE cas_entries SET state = 'live', size = %(size)s, refs = refs + %(n)s, touched = now()
                        WHERE hash = %(hash)s AND generation = %(generation)s AND state IN ('pending', 'live')
                        RETURNING hash
                    ), own AS (
                        INSERT INTO cas_owner_refs (owner, hash, n)
                        SELECT %(owner)s::text, hash, %(n)s FROM up WHERE %(owner)s::text IS NOT NULL AND %(n)s > 0
                        ON CONFLICT (owner, hash) DO UPDATE SET n = cas_owner_refs.n + excluded.n
                    )
                    SELECT count(*) FROM up
                    """,
                    params,
                )
            )
        )
        return bool(row[0])

    def abandon(self, digest: str, generation: int) -> None:
        self._run(
            lambda c: c.execute(
                "DELETE FROM cas_entries WHERE hash = %s AND generation = %s AND state = 'pending' AND refs = 0",
                (digest, generation),
            )
        )

    def release(self, digest: str) -> int:
        def release(conn: psycopg.Connection[Any]) -> int:
            row = conn.execute(
                "UPDATE cas_entries SET refs = refs - 1, touched = now() "
                "WHERE hash = %s AND state = 'live' AND refs > 0 RETURNING refs",
                (digest,),
            ).fetchone()
            if row is not None:
                return int(row[0])
            if conn.execute("SELECT 1 FROM cas_entries WHERE hash = %s AND state = 'live'", (digest,)).fetchone():
                raise NoReferences(digest)
            raise HashNotFound(digest)

        return self._run(release)

    def release_owner(self, owner: str) -> int:
        def release(conn: psycopg.Connection[Any]) -> int:
            held = conn.execute(
                "WITH gone AS (DELETE FROM cas_owner_refs WHERE owner = %s RETURNING hash, n) "
                "SELECT hash, n FROM gone ORDER BY hash",
                (owner,),
            ).fetchall()
            if not held:
                return 0
            digests = [h for h, _ in held]
            counts = [int(n) for _, n in held]
            # Lock in hash order: two releases sharing content then never wait on each other in a cycle.
            conn.execute("SELECT 1 FROM cas_entries WHERE hash = ANY(%s) ORDER BY hash FOR UPDATE", (digests,))
            conn.execute(
                "UPDATE cas_entries e SET refs = GREATEST(0, e.refs - g.n), touched = now() "
                "FROM unnest(%s::text[], %s::bigint[]) AS g(hash, n) WHERE e.hash = g.hash",
                (digests, counts),
            )
            return sum(counts)

        return self._run(release)

    def set_pinned(self, digest: str, pinned: bool) -> None:
        def pin(conn: psycopg.Connection[Any]) -> None:
            done = conn.execute(
                "UPDATE cas_entries SET pinned = %s, touched = now() WHERE hash = %s AND state = 'live'",
                (pinned, digest),
            ).rowcount
            if not done:
                raise HashNotFound(digest)

        self._run(pin)

    def get(self, digest: str) -> Entry | None:
        row = self._run(
            lambda c: c.execute(f"SELECT {_COLUMNS} FROM cas_entries WHERE hash = %s", (digest,)).fetchone()
        )
        return None if row is None else _entry(row)

    def entries(self, after: str = "", limit: int = 1000) -> list[Entry]:
        rows = self._run(
            lambda c: c.execute(
                f"SELECT {_COLUMNS} FROM cas_entries WHERE hash > %s ORDER BY hash LIMIT %s", (after, limit)
            ).fetchall()
        )
        return [_entry(row) for row in rows]

    def stats(self) -> IndexStats:
        row = self._run(
            lambda c: _one(
                c.execute(
                    "SELECT count(*), count(*) FILTER (WHERE state = 'live'), "
                    "count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'deleting'), "
                    "count(*) FILTER (WHERE refs > 0), "
                    "count(*) FILTER (WHERE pinned), COALESCE(sum(size), 0) FROM cas_entries"
                )
            )
        )
        return IndexStats(*(int(v) for v in row))

    def condemn(self, grace: float, limit: int) -> int:
        params = {"grace": grace, "limit": limit}
        return self._run(
            lambda c: (
                c.execute(
                    f"UPDATE cas_entries SET state = 'deleting' WHERE hash IN ("
                    f" SELECT hash FROM cas_entries WHERE {_IDLE} LIMIT %(limit)s FOR UPDATE SKIP LOCKED"
                    f") AND {_IDLE}",
                    params,
                ).rowcount
            )
        )

    def doomed(self, after: str, limit: int) -> list[Doomed]:
        rows = self._run(
            lambda c: c.execute(
                "SELECT hash, size, generation FROM cas_entries WHERE state = 'deleting' AND hash > %s "
                "ORDER BY hash LIMIT %s",
                (after, limit),
            ).fetchall()
        )
        return [Doomed(h, int(s), int(g)) for h, s, g in rows]

    def collect(self, doomed: Sequence[Doomed], delete_blob: DeleteBlob) -> Collected:
        wanted = {(d.hash, d.generation): d for d in doomed}

        def collect(conn: psycopg.Connection[Any]) -> Collected:
            result = Collected()
            locked = conn.execute(
                "SELECT hash, generation FROM cas_entries WHERE hash = ANY(%s) AND state = 'deleting' "
                "ORDER BY hash FOR UPDATE SKIP LOCKED",
                ([d.hash for d in doomed],),
            ).fetchall()
            for digest, generation in locked:
                item = wanted.get((digest, int(generation)))
                if item is None:
                    continue
                try:
                    delete_blob(item)
                except Exception as exc:  # noqa: BLE001 - the entry stays condemned; the next GC retries
                    result.errors.append(f"{digest}: {exc}")
                    continue
                result.deleted.append(item)
            if result.deleted:
                conn.execute(
                    "DELETE FROM cas_entries WHERE hash = ANY(%s) AND state = 'deleting'",
                    ([d.hash for d in result.deleted],),
                )
            return result

        return self._run(collect)

    def adopt_orphan(self, digest: str) -> Doomed | None:
        generation = _generation()
        row = self._run(
            lambda c: c.execute(
                "INSERT INTO cas_entries (hash, size, state, generation) VALUES (%s, 0, 'deleting', %s) "
                "ON CONFLICT DO NOTHING RETURNING generation",
                (digest, generation),
            ).fetchone()
        )
        return None if row is None else Doomed(digest, 0, generation)

    def adopt_blob(self, digest: str, size: int) -> int | None:
        generation = _generation()
        row = self._run(
            lambda c: c.execute(
                "INSERT INTO cas_entries (hash, size, state, generation) VALUES (%s, %s, 'pending', %s) "
                "ON CONFLICT DO NOTHING RETURNING generation",
                (digest, size, generation),
            ).fetchone()
        )
        return None if row is None else generation

    def close(self) -> None:
        self._pool.close()

    def __repr__(self) -> str:
        return f"<PostgresIndex {self._pool.name}>"


def _one(cursor: psycopg.Cursor[Any]) -> Any:
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("the statement returned no row")
    return row


def _generation() -> int:
    return secrets.randbits(62) + 1


def _entry(row: Sequence[Any]) -> Entry:
    digest, size, refs, pinned, state, created, touched = row
    return Entry(str(digest), int(size), int(refs), bool(pinned), State(state), created, touched)
