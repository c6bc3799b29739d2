"""Shared by the CAS tests and the processes they spawn (importable, so spawn can find it)."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from trove_dist.cas import CAS, Index, MemoryIndex, SQLiteIndex, State
from trove_dist.cas.blobstore import BlobReader, BlobStore
from trove_dist.cas.index.postgres import PostgresIndex
from trove_dist.driver.body import PutBody
from trove_dist.driver.models import CommonPrefix, ObjectInfo
from trove_dist.drivers.local import LocalDriver
from trove_dist.errors import ObjectNotFound

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_ADMIN = f"host={PG_HOST} port={PG_PORT} user=postgres dbname=postgres connect_timeout=5"


def postgres_answers() -> bool:
    try:
        with psycopg.connect(PG_ADMIN) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


def ensure_postgres() -> None:
    """Start the machine's cluster if it is down (the recipe this machine documents)."""
    if postgres_answers():
        return
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=True, capture_output=True
    )
    deadline = time.monotonic() + 30
    while not postgres_answers():
        if time.monotonic() > deadline:
            raise RuntimeError("PostgreSQL did not come up within 30 s")
        time.sleep(0.2)


def create_database() -> str:
    name = f"trove_cas_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{name}"


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@dataclass(frozen=True)
class IndexSpec:
    """Where an index lives, so that each process can open its own handle on it."""

    kind: str
    location: str

    @property
    def shared_across_processes(self) -> bool:
        return self.kind != "memory"

    def open(self) -> Index:
        if self.kind == "sqlite":
            return SQLiteIndex(self.location)
        if self.kind == "postgres":
            return PostgresIndex(self.location, pool_size=2)
        raise ValueError("a memory index cannot be reopened; share the instance")


def open_cas(spec: IndexSpec, root: Path, grace: float, *, spool_limit: int = 1 << 20) -> CAS:
    return CAS(LocalDriver(root, durable=False), index=spec.open(), grace_period=grace, spool_limit=spool_limit)


class CountingStore:
    """A BlobStore that counts what passes through it (to prove what was and was not written)."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner
        self.puts: Counter[str] = Counter()
        self.gets: Counter[str] = Counter()
        self.copies = 0

    def create_bucket(self, bucket: str, *, exist_ok: bool = False) -> None:
        self.inner.create_bucket(bucket, exist_ok=exist_ok)

    def put(self, bucket: str, key: str, data: PutBody) -> ObjectInfo:
        self.puts[key] += 1
        return self.inner.put(bucket, key, data)

    def get(self, bucket: str, key: str) -> BlobReader:
        self.gets[key] += 1
        return self.inner.get(bucket, key)

    def head(self, bucket: str, key: str) -> ObjectInfo:
        return self.inner.head(bucket, key)

    def exists(self, bucket: str, key: str) -> bool:
        return self.inner.exists(bucket, key)

    def delete(self, bucket: str, key: str) -> None:
        self.inner.delete(bucket, key)

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> ObjectInfo:
        self.copies += 1
        return self.inner.copy(src_bucket, src_key, dst_bucket, dst_key)

    def iter_list(self, bucket: str, *, prefix: str = "") -> Iterator[ObjectInfo | CommonPrefix]:
        return self.inner.iter_list(bucket, prefix=prefix)


def blob_keys(cas: CAS) -> list[str]:
    return [o.key for o in cas.blobs.iter_list(cas.bucket) if isinstance(o, ObjectInfo)]


def dangling(cas: CAS) -> list[str]:
    """Live entries whose blob is missing — what the GC protocol must never produce."""
    missing = []
    after = ""
    while entries := cas.index.entries(after, 1000):
        after = entries[-1].hash
        for entry in entries:
            if entry.state is State.LIVE:
                try:
                    cas.blobs.head(cas.bucket, f"{entry.hash[:2]}/{entry.hash[2:4]}/{entry.hash}")
                except ObjectNotFound:
                    missing.append(entry.hash)
    return missing


def leftover_files(root: Path) -> list[Path]:
    """Files under a LocalDriver root other than its lock files (temporaries included)."""
    return [p for p in root.rglob("*") if p.is_file() and ".trove" not in p.relative_to(root).parts[:1]]


def shared_memory_index() -> MemoryIndex:
    return MemoryIndex()
