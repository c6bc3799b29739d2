"""``cas_store``: the CAS store paths, its indexes, GC, and dedup of successive file versions.

* Store of 1 GiB (16 MiB pieces) into a ``LocalDriver`` (durable=False) with the SQLite index:
  new content (hash, write, index) and content already stored (hash and one index update; nothing
  is written).  The peer is BLAKE3 alone over the same buffers, single-threaded, as the CAS
  hashes: the duplicate path must reach 0.8x of it.
* Index operations per second on PostgreSQL and SQLite — add a reference, release it, stat — each
  against the cheapest transaction the same database offers (one autocommitted
  ``UPDATE … SET n = n + 1`` by primary key on the same connection kind), so the ratio is the
  cost of the protocol over a bare round trip.
* GC of 100,000 unreferenced entries (blobs in a memory driver, so the figure is the collector's
  own cost), against deleting the same 100,000 blobs with no index at all.
* Dedup of 10 successive versions of a 100 MiB file, each a few overwrites and insertions away
  from the previous one, stored through a ``Trove`` with the ``Dedup`` middleware: the dedup
  ratio (logical bytes / unique bytes kept) and throughput, content-defined (FastCDC) against
  fixed-size chunks of about the same mean size.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import blake3
import psycopg

from bench.measure import MB, GiB, MiB, Stopwatch, interleave
from bench.model import Context, Measurement, Outcome, Series
from trove_dist.cas import CAS, Index, SQLiteIndex
from trove_dist.cas.index.postgres import PostgresIndex
from trove_dist.drivers.local import LocalDriver
from trove_dist.drivers.memory import MemoryDriver
from trove_dist.middleware.dedup import ContentDefinedChunker, Dedup, FixedSizeChunker
from trove_dist.trove import Trove

PIECE = 16 * MiB
DUPLICATE_TARGET = 0.8
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
FIXED_CHUNK = 64 * 1024
CDC_AVG = 48 * 1024  # FastCDC's mean is about avg + min (= avg/4): ~60 KiB, near the fixed size


def run(ctx: Context) -> Outcome:
    total = 128 * MiB if ctx.quick else 1 * GiB
    outcome = Outcome(parameters={"piece_bytes": PIECE, "store_bytes": total})
    database = _create_database()
    try:
        _store_paths(ctx, outcome, total)
        _index_ops(ctx, outcome, database)
        _gc(ctx, outcome, database)
        _dedup(ctx, outcome)
    finally:
        _drop_database(database)
    return outcome


# ---- store -----------------------------------------------------------------------------------


def _store_paths(ctx: Context, outcome: Outcome, total: int) -> None:
    ctx.log(f"generating {total // MiB} MiB in {PIECE // MiB} MiB pieces")
    pieces = [bytearray(os.urandom(PIECE)) for _ in range(total // PIECE)]
    views = [memoryview(p) for p in pieces]
    driver = LocalDriver(ctx.scratch / "store", durable=False)
    cas = CAS(driver, index=SQLiteIndex(ctx.scratch / "store.sqlite"), grace_period=0.0)
    for view in views:
        cas.store(view)  # the duplicate rounds find these

    def throughput(seconds: float) -> float:
        return total / seconds / MB

    def duplicate(_: int) -> float:
        with Stopwatch() as sw:
            digests = [cas.store(view).hash for view in views]
        for digest in digests:
            cas.release(digest)
        return throughput(sw.seconds)

    def new(round_: int) -> float:
        for index, piece in enumerate(pieces):  # new content: a round-unique first word
            piece[:8] = (round_ * 1_000_000 + index + 1).to_bytes(8, "big")
        with Stopwatch() as sw:
            digests = [cas.store(view).hash for view in views]
        for digest in digests:
            cas.release(digest)
        cas.gc()  # untimed: the next round starts from the same store
        return throughput(sw.seconds)

    def hashing(_: int) -> float:
        with Stopwatch() as sw:
            for view in views:  # the very calls the CAS makes (trove_dist.checksum.new_hasher)
                hasher = blake3.blake3()
                hasher.update(view)
                hasher.hexdigest()
        return throughput(sw.seconds)

    repeats = 3 if ctx.quick else 5
    ctx.log("store: duplicate content vs BLAKE3")
    dup = interleave([("ours", duplicate), ("peer", hashing)], repeats)
    ctx.log("store: new content vs BLAKE3")
    fresh = interleave([("ours", new), ("peer", hashing)], repeats)
    cas.close()
    driver.close()
    human = f"{total // GiB} GiB" if total >= GiB else f"{total // MiB} MiB"
    outcome.measurements += [
        Measurement(
            name=f"store {human} of duplicate content",
            unit="MB/s",
            better="higher",
            ours=Series("CAS.store (hash + one index update, no write), SQLite index", dup["ours"], "ours"),
            peer=Series("blake3 update + hexdigest, one thread, same buffers", dup["peer"]),
            target=DUPLICATE_TARGET,
            cache="in memory",
        ),
        Measurement(
            name=f"store {human} of new content",
            unit="MB/s",
            better="higher",
            ours=Series("CAS.store into LocalDriver(durable=False), SQLite index", fresh["ours"], "ours"),
            peer=Series("blake3 update + hexdigest, one thread, same buffers", fresh["peer"]),
            target=None,
            cache="into page cache",
            note="report only: new content is also written",
        ),
    ]


# ---- index operations ---------------------------------------------------------------------------


def _index_ops(ctx: Context, outcome: Outcome, database: str) -> None:
    count = 300 if ctx.quick else 2000
    _index_ops_on(ctx, outcome, "PostgreSQL", PostgresIndex(database, pool_size=1), _pg_bare(database), count)
    sqlite = SQLiteIndex(ctx.scratch / "ops.sqlite")
    _index_ops_on(ctx, outcome, "SQLite", sqlite, _sqlite_bare(ctx.scratch / "bare.sqlite"), count)


def _index_ops_on(
    ctx: Context, outcome: Outcome, name: str, index: Index, bare: Callable[[int], None], count: int
) -> None:
    digests = [blake3.blake3(str(i).encode()).hexdigest() for i in range(64)]
    index.bind("cas", "blake3")
    for digest in digests:
        claim = index.begin_store(digest, 100, None)
        index.finish_store(digest, claim.generation, 100, None)
    operations: dict[str, Callable[[int], object]] = {
        "add a reference (store of known content)": lambda i: index.begin_store(digests[i % 64], 100, None),
        "release a reference": lambda i: index.release(digests[i % 64]),
        "stat": lambda i: index.get(digests[i % 64]),
    }

    def timed(operation: Callable[[int], object]) -> Callable[[int], float]:
        def run(_: int) -> float:
            with Stopwatch() as sw:
                for i in range(count):
                    operation(i)
            return count / sw.seconds

        return run

    for label, operation in operations.items():
        ctx.log(f"index ops: {name}, {label}")
        figures = interleave([("ours", timed(operation)), ("peer", timed(bare))], 3)
        outcome.measurements.append(
            Measurement(
                name=f"index {name}: {label}",
                unit="ops/s",
                better="higher",
                ours=Series(type(index).__name__, figures["ours"], "ours"),
                peer=Series("one autocommitted UPDATE n = n + 1 by primary key", figures["peer"]),
                target=None,
                note="report only: the ratio is the protocol's cost over a bare transaction",
            )
        )
    index.close()


def _pg_bare(database: str) -> Callable[[int], None]:
    conn = psycopg.connect(database, autocommit=True)
    conn.execute("CREATE TABLE IF NOT EXISTS bare (k int PRIMARY KEY, n bigint NOT NULL)")
    conn.execute("INSERT INTO bare SELECT g, 0 FROM generate_series(0, 63) g ON CONFLICT DO NOTHING")
    return lambda i: (conn.execute("UPDATE bare SET n = n + 1 WHERE k = %s", (i % 64,)), None)[1]


def _sqlite_bare(path: Path) -> Callable[[int], None]:
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS bare (k INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
    db.executemany("INSERT OR IGNORE INTO bare VALUES (?, 0)", [(k,) for k in range(64)])
    return lambda i: (db.execute("UPDATE bare SET n = n + 1 WHERE k = ?", (i % 64,)), None)[1]


# ---- GC -----------------------------------------------------------------------------------------


def _gc(ctx: Context, outcome: Outcome, database: str) -> None:
    count = 10_000 if ctx.quick else 100_000
    outcome.parameters["gc_entries"] = count
    digests = [blake3.blake3(i.to_bytes(8, "big")).hexdigest() for i in range(count)]
    for name, make in (
        ("PostgreSQL", lambda: _fresh_pg_index(database)),
        ("SQLite", lambda: SQLiteIndex(ctx.scratch / f"gc-{uuid.uuid4().hex}.sqlite")),
    ):
        ctx.log(f"gc of {count} entries: {name}")
        ours: list[float] = []
        peer: list[float] = []
        for _ in range(2):
            driver = MemoryDriver()
            index = make()
            cas = CAS(driver, index=index, grace_period=0.0)
            _fill(driver, cas, index, digests, database)
            with Stopwatch() as sw:
                result = cas.gc()
            if result.deleted != count or result.errors:
                raise RuntimeError(f"GC deleted {result.deleted} of {count}: {result.errors[:3]}")
            ours.append(count / sw.seconds)
            index.close()
            bare = MemoryDriver()
            bare.create_bucket("cas")
            keys = [f"{d[:2]}/{d[2:4]}/{d}" for d in digests]
            for key in keys:
                bare.put("cas", key, b"x")
            with Stopwatch() as sw:
                for key in keys:
                    bare.delete("cas", key)
            peer.append(count / sw.seconds)
        outcome.measurements.append(
            Measurement(
                name=f"GC of {count} unreferenced entries, {name} index",
                unit="entries/s",
                better="higher",
                ours=Series("CAS.gc (condemn, then lock + delete blob + delete entry)", ours, "ours"),
                peer=Series("MemoryDriver.delete of the same keys, no index", peer),
                target=None,
                note=f"report only: {count / statistics_median(ours):.2f} s for {count} entries",
            )
        )


def statistics_median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _fresh_pg_index(database: str) -> PostgresIndex:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS cas_entries, cas_owner_refs, cas_meta, schema_migrations")
    return PostgresIndex(database, pool_size=2)


def _fill(driver: MemoryDriver, cas: CAS, index: Index, digests: list[str], database: str) -> None:
    """Unreferenced entries and their blobs, loaded in bulk (set-up, not measured)."""
    for digest in digests:
        driver.put(cas.bucket, f"{digest[:2]}/{digest[2:4]}/{digest}", b"x")
    old = time.time() - 3600
    if isinstance(index, PostgresIndex):
        copy_in = "COPY cas_entries (hash, size, refs, state, generation, touched) FROM STDIN"
        with psycopg.connect(database, autocommit=True) as conn, conn.cursor() as cur, cur.copy(copy_in) as copy:
            for n, digest in enumerate(digests):
                copy.write_row((digest, 1, 0, "live", n + 1, "2000-01-01T00:00:00Z"))
    elif isinstance(index, SQLiteIndex):
        index._db.executemany(
            "INSERT INTO cas_entries VALUES (?, 1, 0, 0, 'live', ?, ?, ?)",
            [(digest, n + 1, old, old) for n, digest in enumerate(digests)],
        )
    else:
        raise TypeError(type(index).__name__)


# ---- dedup --------------------------------------------------------------------------------------


def _versions(size: int, count: int, seed: int = 11) -> list[bytes]:
    """A random file and its successors, each with a few overwrites and insertions."""
    rng = random.Random(seed)
    current = bytearray(rng.randbytes(size))
    versions = [bytes(current)]
    for _ in range(count - 1):
        for _ in range(5):
            at = rng.randrange(len(current))
            current[at : at + 100] = rng.randbytes(100)  # overwrite
        for _ in range(3):
            at = rng.randrange(len(current))
            current[at:at] = rng.randbytes(rng.randint(1, 4096))  # insertion
        versions.append(bytes(current))
    return versions


def _dedup(ctx: Context, outcome: Outcome) -> None:
    size = 16 * MiB if ctx.quick else 100 * MiB
    ctx.log(f"dedup: generating 10 versions of {size // MiB} MiB")
    versions = _versions(size, 10)
    logical = sum(len(v) for v in versions)
    outcome.parameters.update({"dedup_version_bytes": size, "dedup_versions": 10, "fixed_chunk": FIXED_CHUNK})
    figures: dict[str, dict[str, Any]] = {}
    for label, chunker in (
        ("fixed", FixedSizeChunker(FIXED_CHUNK)),
        ("cdc", ContentDefinedChunker(CDC_AVG)),
    ):
        ctx.log(f"dedup: {label}")
        root = ctx.scratch / f"dedup-{label}"
        blobs = LocalDriver(root / "blobs", durable=False)
        cas = CAS(blobs, index=SQLiteIndex(root.with_suffix(".sqlite")), grace_period=0.0)
        trove = Trove(MemoryDriver())
        trove.create_bucket("files")
        trove.use(Dedup(cas, chunker))
        with Stopwatch() as sw:
            for number, version in enumerate(versions):
                trove.put("files", f"file-v{number}", version)
        stats = cas.index.stats()
        figures[label] = {
            "ratio": logical / stats.bytes,
            "throughput": logical / sw.seconds / MB,
            "chunks": stats.entries,
            "mean_chunk": stats.bytes / stats.entries,
        }
        cas.close()
        blobs.close()
    outcome.parameters["dedup"] = figures
    outcome.measurements += [
        Measurement(
            name="dedup ratio, 10 versions with small edits and insertions",
            unit="x",
            better="higher",
            ours=Series(
                f"content-defined (FastCDC, mean {figures['cdc']['mean_chunk'] / 1024:.0f} KiB)",
                [figures["cdc"]["ratio"]],
                "ours",
            ),
            peer=Series(f"fixed-size ({FIXED_CHUNK // 1024} KiB)", [figures["fixed"]["ratio"]]),
            target=None,
            note="logical bytes / unique bytes kept in the CAS",
        ),
        Measurement(
            name="dedup throughput, 10 versions",
            unit="MB/s",
            better="higher",
            ours=Series("Trove.put with Dedup(content-defined)", [figures["cdc"]["throughput"]], "ours"),
            peer=Series("Trove.put with Dedup(fixed-size)", [figures["fixed"]["throughput"]]),
            target=None,
            cache="in memory; chunks into page cache",
            note="report only",
        ),
    ]


# ---- a database for the run ---------------------------------------------------------------------


def _create_database() -> str:
    name = f"bench_cas_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def _drop_database(url: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")
