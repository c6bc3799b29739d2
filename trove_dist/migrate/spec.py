"""What a migration is asked to do, fixed when it starts and stored with its state.

Both ends are named by *backend name*: the store's DSN with its secrets removed (``str(DSN)``
redacts them).  That name is all a stream record, a batch or a task argument ever carries; a
worker opens the driver from it and takes credentials from its own environment, key files or SDK
chain.  A DSN that embeds a password or a secret parameter therefore cannot be handed to remote
workers at all — ``distributable`` refuses it with the reason — while an in-process run may use
one (the process opening the driver is the one that was given the secret).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from typeid import TypeID

from trove_dist.driver.body import DEFAULT_CHUNK_SIZE
from trove_dist.driver.dsn import DSN, SECRET_PARAMS, parse_dsn
from trove_dist.glob import compile_glob

MiB = 1024 * 1024
TRANSFORMS = ("compress", "encrypt")
_ID_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\Z")


class CredentialsInDSN(ValueError):
    """A DSN that carries a secret was about to be shared with other processes."""


def backend_name(dsn: str | DSN) -> str:
    """The name a migration gives a store: its DSN with any password or secret hidden."""
    return str(parse_dsn(dsn) if isinstance(dsn, str) else dsn)


def secrets_in(dsn: str | DSN) -> list[str]:
    """What in ``dsn`` is a credential: ``password`` and the secret-bearing parameters."""
    parsed = parse_dsn(dsn) if isinstance(dsn, str) else dsn
    found = ["password"] if parsed.password is not None else []
    return found + sorted(name for name in parsed.params if name.lower() in SECRET_PARAMS)


def distributable(dsn: str) -> str:
    """The backend name for ``dsn`` if it is safe to give to remote workers; otherwise
    ``CredentialsInDSN`` saying which part is secret and where credentials belong instead."""
    found = secrets_in(dsn)
    if found:
        raise CredentialsInDSN(
            f"{backend_name(dsn)} embeds a secret ({', '.join(found)}); a distributed migration hands its "
            "stores to the workers by name, so credentials must come from the workers' environment, "
            "key files or the SDK's credential chain (e.g. AWS_ACCESS_KEY_ID, azure://?connection_string_env=VAR)"
        )
    return backend_name(dsn)


def validate_migration_id(text: str) -> str:
    if not _ID_RE.match(text):
        raise ValueError(f"migration id {text!r}: use 1-100 letters, digits, '_', '.' or '-'")
    return text


def new_migration_id() -> str:
    return str(TypeID(prefix="mig"))  # k-sortable, like every other id (trove_dist.ids)


def folder(prefix: str) -> str:
    """A root prefix as a folder: ``photos`` means ``photos/...``, never ``photos2``."""
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One side: a backend name, a bucket and the folder under which keys map across."""

    backend: str
    bucket: str
    root: str = ""

    def key(self, relative: str) -> str:
        return self.root + relative

    def relative(self, key: str) -> str:
        return key[len(self.root) :]

    def __str__(self) -> str:
        return f"{self.backend}#{self.bucket}" + (f"/{self.root}" if self.root else "")


@dataclass(frozen=True, slots=True)
class Settings:
    """How the work is cut: chunk size of streams, when an object becomes a stream, how many
    small objects a batch task copies, and how many keys a planner task lists at once."""

    chunk_size: int = DEFAULT_CHUNK_SIZE
    stream_threshold: int = 4 * DEFAULT_CHUNK_SIZE
    batch_objects: int = 100
    batch_bytes: int = 16 * MiB
    page_size: int = 1000

    def __post_init__(self) -> None:
        if self.chunk_size <= 0 or self.batch_objects <= 0 or self.batch_bytes <= 0:
            raise ValueError("chunk size and batch limits must be positive")
        if self.stream_threshold < self.chunk_size:
            raise ValueError("the stream threshold must be at least one chunk")
        if not 1 <= self.page_size <= 1000:
            raise ValueError("page size must be between 1 and 1000")


@dataclass(frozen=True, slots=True)
class MigrationSpec:
    migration_id: str
    source: Endpoint
    destination: Endpoint
    prefix: str = ""  # under the source root (and, mapped, the destination root)
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    transforms: tuple[str, ...] = ()
    verify: bool = False
    dry_run: bool = False
    delete_extraneous: bool = False
    settings: Settings = field(default_factory=Settings)

    def __post_init__(self) -> None:
        validate_migration_id(self.migration_id)
        for pattern in (*self.include, *self.exclude):
            compile_glob(pattern)  # a malformed glob fails now, not on a worker
        unknown = [t for t in self.transforms if t not in TRANSFORMS]
        if unknown or len(set(self.transforms)) != len(self.transforms):
            raise ValueError(f"transforms are each of {', '.join(TRANSFORMS)} at most once, not {self.transforms}")

    def selects(self, relative: str) -> bool:
        """``--include`` (any of them, if given) and no ``--exclude``, on keys relative to the root."""
        if not relative.startswith(self.prefix):
            return False
        if self.include and not any(compile_glob(p).match(relative) for p in self.include):
            return False
        return not any(compile_glob(p).match(relative) for p in self.exclude)

    @property
    def same_backend(self) -> bool:
        return self.source.backend == self.destination.backend

    @property
    def pair(self) -> str:
        """Names the (source, destination, transforms) pairing whose past copies a re-run
        remembers, whatever the migration id."""
        text = json.dumps([asdict(self.source), asdict(self.destination), list(self.transforms)])
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def same_work(self, other: MigrationSpec) -> bool:
        """Whether ``other`` asks for the same copies as this one, so resuming one as the other is
        sound; only whether to verify them may change."""
        return replace(other, migration_id=self.migration_id, verify=self.verify) == self

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> MigrationSpec:
        data: dict[str, Any] = json.loads(text)
        data["source"] = Endpoint(**data["source"])
        data["destination"] = Endpoint(**data["destination"])
        data["settings"] = Settings(**data["settings"])
        for name in ("include", "exclude", "transforms"):
            data[name] = tuple(data[name])
        return cls(**data)
