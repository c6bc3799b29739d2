"""A sorted, pruned walk over a directory tree that stores keys as paths (see ``keypaths``).

The local and SFTP drivers share it; each supplies ``read_dir``, which returns a directory's raw
entries, and ``load``, which turns a file into its ``ObjectInfo``.

What the walk guarantees (and ``listing.paginate`` relies on): entries come out in key order
(UTF-8 byte order of the decoded keys, continuation directories expanded in place); subtrees
that lie wholly before the resume position or outside the prefix are never read; with
``roll_up`` a directory directly below the prefix is yielded once as a common prefix, and only
if it holds an object the position admits — an empty directory left behind is never a prefix.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from trove_dist.driver.keypaths import CONTINUATION, decode_name, is_canonical
from trove_dist.driver.listing import Entry, Position
from trove_dist.driver.models import ObjectInfo

#: Whatever the backend needs to reach an entry again: a path, a path with its attributes …
Ref = TypeVar("Ref")


class Kind(Enum):
    FILE = "file"
    DIRECTORY = "directory"
    OTHER = "other"  # symbolic links, devices, sockets: never objects, never followed


@dataclass(frozen=True, slots=True)
class RawEntry(Generic[Ref]):
    """One name in a directory, as the backend read it."""

    name: str
    kind: Kind
    ref: Ref


@dataclass(frozen=True, slots=True)
class Child(Generic[Ref]):
    """One entry of a directory, as a key fragment relative to the directory's key prefix."""

    fragment: str  # a file's name, or a directory's name followed by "/"
    ref: Ref
    is_dir: bool


ReadDir = Callable[[Ref], Iterable[RawEntry[Ref]]]
Load = Callable[[str, Ref], ObjectInfo | None]


def children(read_dir: ReadDir[Ref], directory: Ref) -> list[Child[Ref]]:
    """The directory's entries in key order, continuation directories expanded in place."""
    found = _scan(read_dir, directory, "")
    found.sort(key=lambda c: c.fragment)
    return found


def _scan(read_dir: ReadDir[Ref], directory: Ref, fragment_prefix: str) -> list[Child[Ref]]:
    out: list[Child[Ref]] = []
    for entry in read_dir(directory):
        name = entry.name
        if name.startswith(".") or entry.kind is Kind.OTHER:
            continue  # the driver's own files, and anything that is not a plain file or directory
        if entry.kind is Kind.DIRECTORY:
            if name.endswith(CONTINUATION):
                piece = name[: -len(CONTINUATION)]
                if is_canonical(piece):
                    out.extend(_scan(read_dir, entry.ref, fragment_prefix + decode_name(piece)))
            elif is_canonical(name):
                out.append(Child(fragment_prefix + decode_name(name) + "/", entry.ref, True))
        elif is_canonical(name):
            out.append(Child(fragment_prefix + decode_name(name), entry.ref, False))
    return out


class TreeWalk(Generic[Ref]):
    """Walks one bucket's tree with the backend's ``read_dir`` and ``load``."""

    def __init__(self, read_dir: ReadDir[Ref], load: Load[Ref]) -> None:
        self._read_dir = read_dir
        self._load = load

    def children(self, directory: Ref) -> list[Child[Ref]]:
        return children(self._read_dir, directory)

    def walk(self, directory: Ref, key_prefix: str, prefix: str, position: Position, roll_up: bool) -> Iterator[Entry]:
        """Yield the keys under ``directory`` (whose keys start with ``key_prefix``) in order."""
        for child in self.children(directory):
            full = key_prefix + child.fragment
            if not child.is_dir:
                if full.startswith(prefix) and position.admits(full):
                    yield Entry(full, functools.partial(self._load, full, child.ref))
                continue
            if not (full.startswith(prefix) or prefix.startswith(full)):
                continue
            after = position.after
            if after is not None:
                if position.skip_prefix and full.startswith(after):
                    continue
                if full < after and not after.startswith(full):
                    continue
            if roll_up and full.startswith(prefix) and len(full) > len(prefix):
                if self.has_admitted_object(child.ref, full, position):
                    yield Entry(full)
                continue
            yield from self.walk(child.ref, full, prefix, position, roll_up)

    def has_admitted_object(self, directory: Ref, key_prefix: str, position: Position) -> bool:
        for child in self.children(directory):
            full = key_prefix + child.fragment
            if child.is_dir:
                if self.has_admitted_object(child.ref, full, position):
                    return True
            elif position.admits(full):
                return True
        return False
