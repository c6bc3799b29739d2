"""VFS paths: ``/``-separated, relative to the bucket root, always in one normal form.

A path names a file (the object whose key is the path) or a directory (every key that starts
with the path and ``/``, plus an optional zero-length marker object keyed ``path/``).  The root
is ``""``.  Normalising once, at the edge, means every other part of the VFS can build keys by
concatenation and compare paths as strings.
"""

from __future__ import annotations

from trove_dist.errors import InvalidKey

ROOT = ""


def normalize(path: str) -> str:
    """``'/a//b/./c/'`` -> ``'a/b/c'``; ``'a/../b'`` -> ``'b'``.

    A ``..`` that would climb above the bucket root is refused rather than clamped: silently
    turning ``../etc/passwd`` into ``etc/passwd`` would hide a caller's bug (or an attack).
    """
    if not isinstance(path, str):
        raise InvalidKey(repr(path), "a VFS path must be a string")
    parts: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not parts:
                raise InvalidKey(path, "'..' climbs above the bucket root")
            parts.pop()
        else:
            parts.append(segment)
    return "/".join(parts)


def join(directory: str, name: str) -> str:
    """Join a normalised directory and a single, already clean entry name."""
    return f"{directory}/{name}" if directory else name


def parent(path: str) -> str:
    return path.rpartition("/")[0]


def name_of(path: str) -> str:
    return path.rpartition("/")[2]


def dir_prefix(path: str) -> str:
    """The key prefix every child of directory ``path`` starts with ('' for the root); it is
    also the key of the directory's marker object."""
    return f"{path}/" if path else ""


def ancestors(path: str) -> list[str]:
    """``'a/b/c'`` -> ``['a', 'a/b']``: every directory above ``path`` except the root."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def is_within(path: str, directory: str) -> bool:
    """True if ``path`` is ``directory`` or lies below it."""
    return not directory or path == directory or path.startswith(directory + "/")


def usable_name(name: str) -> bool:
    """Keys can hold segments no normalised path can address (``a//b``, ``a/./b``): a listing
    skips them rather than hand out names that ``normalize`` would turn into other paths."""
    return name not in ("", ".", "..")
