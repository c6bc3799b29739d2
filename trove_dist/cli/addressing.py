"""What the command-line arguments name: a store, a bucket, a key or a prefix.

The store is ``--store``, else ``$TROVE_STORE``, else a directory in the working directory, so
``trove`` works with nothing installed or configured.  Any single argument may name another
store inline, ``DSN#BUCKET/KEY``: the DSN ends at the first '#' after its ``://`` (a DSN never
has a fragment, so a '#' inside one is always percent-encoded), and everything after it — '#'
included — is the bucket and key.

Names are validated here, before any store is opened, so a bad key such as ``b/../../x`` is
refused before anything — a local file, a store directory — is touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trove_dist.cli.errors import BadArgument
from trove_dist.driver.dsn import parse_dsn
from trove_dist.driver.names import validate_bucket, validate_key, validate_prefix
from trove_dist.errors import InvalidDSN

STORE_ENV = "TROVE_STORE"
DEFAULT_STORE = "file://./trove-data"

_INLINE_STORE_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True, slots=True)
class Location:
    """A bucket and a key (or a prefix, or nothing) in a store.

    ``store`` is the inline DSN the argument named, or ``None`` for the command's store.
    """

    store: str | None
    bucket: str
    path: str = ""

    def __str__(self) -> str:
        """How commands name this location in their output; a DSN's password is never shown."""
        where = f"{self.bucket}/{self.path}" if self.path else self.bucket
        return f"{display_dsn(self.store)}#{where}" if self.store is not None else where

    def with_path(self, path: str) -> Location:
        return Location(self.store, self.bucket, path)


def display_dsn(dsn: str) -> str:
    try:
        return str(parse_dsn(dsn))
    except InvalidDSN:
        return "<store>"  # unparsable text may hold a password: show none of it


def split_store(text: str) -> tuple[str | None, str]:
    """``("file:///a", "b/k")`` for ``file:///a#b/k``; ``(None, text)`` when no store is named."""
    scheme = _INLINE_STORE_RE.match(text)
    if scheme is None:
        return None, text
    hash_at = text.find("#", scheme.end())
    if hash_at < 0:
        raise BadArgument(
            f"{display_dsn(text)!r} names a store but no bucket: write DSN#BUCKET/KEY (e.g. mem://x#photos/cat.jpg)"
        )
    return text[:hash_at], text[hash_at + 1 :]


def parse_location(text: str) -> Location:
    """Split an argument without judging it: ``[DSN#]BUCKET[/PATH]``."""
    store, rest = split_store(text)
    bucket, _, path = rest.partition("/")
    return Location(store, bucket, path)


def object_location(text: str) -> Location:
    """``[DSN#]BUCKET/KEY`` naming one object."""
    location = parse_location(text)
    if not location.path:
        validate_bucket(location.bucket)
        raise BadArgument(f"{text!r} names a bucket but no object: write BUCKET/KEY")
    validate_key(location.path)  # first: a traversal attempt is reported as what it is
    validate_bucket(location.bucket)
    return location


def target_location(text: str, name: str | None) -> Location:
    """Where an upload or copy goes: ``BUCKET/KEY``, or a "folder" (``BUCKET``, ``BUCKET/``,
    ``BUCKET/PREFIX/``) that gets ``name`` appended, as ``cp file dir/`` does."""
    location = parse_location(text)
    if location.path == "" or location.path.endswith("/"):
        if name is None:
            validate_bucket(location.bucket)
            raise BadArgument(f"{text!r} names no key and there is no file name to use: write BUCKET/KEY")
        location = location.with_path(location.path + name)
    validate_key(location.path)
    validate_bucket(location.bucket)
    return location


def prefix_location(text: str) -> Location:
    """``[DSN#]BUCKET[/PREFIX]`` for listings."""
    location = parse_location(text)
    validate_prefix(location.path)
    validate_bucket(location.bucket)
    return location


def tree_location(text: str) -> Location:
    """``[DSN#]BUCKET[/PATH]`` for ``rm -r``: PATH may name an object, a folder of keys, or both."""
    location = prefix_location(text)
    if location.path and not location.path.endswith("/"):
        validate_key(location.path)
    return location


def bucket_location(text: str) -> Location:
    """``[DSN#]BUCKET``, for the bucket commands."""
    location = parse_location(text)
    if location.path:
        raise BadArgument(f"{text!r} is not a bucket name (it has a '/')")
    validate_bucket(location.bucket)
    return location


def key_basename(key: str) -> str:
    """The last segment of a key, for naming a local file after it."""
    return key.rstrip("/").rpartition("/")[2]
