"""Pagination shared by drivers whose backend hands them keys in sorted order.

A driver supplies a lazily sorted stream of entries (a key with a loader for its info, or a
prefix it has already rolled up); this module applies prefix, delimiter, ``start_after`` and
``max_keys`` exactly as S3 does, and produces opaque cursors that resume *after* the last entry
returned — so objects added or removed between pages never cause a repeat or a skip of an object
that stayed put.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from trove_dist.driver.models import CommonPrefix, ListPage, ObjectInfo
from trove_dist.errors import InvalidCursor

MAX_KEYS_LIMIT = 1000
InfoLoader = Callable[[], ObjectInfo | None]


@dataclass(frozen=True, slots=True)
class Position:
    """Where a listing resumes: strictly after ``after``; also past every key under it if
    ``skip_prefix`` (the previous page ended on a rolled-up common prefix)."""

    after: str | None = None
    skip_prefix: bool = False

    def admits(self, key: str) -> bool:
        if self.after is None:
            return True
        if self.skip_prefix and key.startswith(self.after):
            return False
        return key > self.after


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of a sorted listing stream: an object key with a loader, or a rolled-up prefix."""

    key: str
    load: InfoLoader | None = None  # None marks a common prefix

    @property
    def is_prefix(self) -> bool:
        return self.load is None


def encode_cursor(position: Position, scope: str) -> str:
    """``scope`` ties a cursor to the query that made it (bucket, prefix, delimiter)."""
    raw = json.dumps({"a": position.after, "s": position.skip_prefix, "q": scope}, ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, scope: str) -> Position:
    """Raises ``InvalidCursor`` (and nothing else) for anything ``encode_cursor`` did not make."""
    if not isinstance(cursor, str):
        raise InvalidCursor(f"a listing cursor is a string, not {type(cursor).__name__}")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
        after, skip, query = data["a"], data["s"], data["q"]
    # RecursionError: a forged cursor of deeply nested JSON arrays.
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError, RecursionError) as exc:
        raise InvalidCursor(f"malformed listing cursor {cursor[:40]!r}") from exc
    if query != scope:
        raise InvalidCursor("this cursor belongs to a different listing (bucket, prefix or delimiter)")
    if not isinstance(after, (str, type(None))) or not isinstance(skip, bool):
        raise InvalidCursor(f"malformed listing cursor {cursor[:40]!r}")
    return Position(after, skip)


def listing_scope(bucket: str, prefix: str, delimiter: str | None) -> str:
    return json.dumps([bucket, prefix, delimiter or ""], ensure_ascii=False)


def start_position(start_after: str | None, cursor: str | None, scope: str) -> Position:
    if cursor:
        return decode_cursor(cursor, scope)
    return Position(start_after or None, False)


def validate_max_keys(max_keys: int) -> int:
    if not isinstance(max_keys, int) or max_keys < 1:
        raise ValueError("max_keys must be a positive integer")
    return min(max_keys, MAX_KEYS_LIMIT)


def paginate(
    entries: Iterator[Entry],
    *,
    prefix: str,
    delimiter: str | None,
    position: Position,
    max_keys: int,
    scope: str,
) -> ListPage:
    """Build one page from ``entries`` (sorted, all starting with ``prefix``, all admitted by
    ``position``).  Keys under a rolled-up prefix are skipped here if the source did not prune
    them itself."""
    objects: list[ObjectInfo] = []
    prefixes: list[str] = []
    last: Position | None = None
    open_prefix: str | None = None
    for entry in entries:
        if open_prefix is not None and entry.key.startswith(open_prefix):
            continue
        rolled: str | None
        if entry.is_prefix:
            rolled = entry.key
        elif delimiter:
            cut = entry.key.find(delimiter, len(prefix))
            rolled = entry.key[: cut + len(delimiter)] if cut >= 0 else None
        else:
            rolled = None
        if len(objects) + len(prefixes) >= max_keys:
            assert last is not None
            return ListPage(objects, prefixes, encode_cursor(last, scope))
        if rolled is not None:
            prefixes.append(rolled)
            open_prefix = rolled
            last = Position(rolled, True)
            continue
        assert entry.load is not None
        info = entry.load()
        if info is None:  # removed between the walk and the load: it is simply not listed
            continue
        objects.append(info)
        last = Position(entry.key, False)
    return ListPage(objects, prefixes, None)


def iter_pages(fetch: Callable[[str | None], ListPage]) -> Iterator[ObjectInfo | CommonPrefix]:
    """Every entry of a listing, one page at a time: ``fetch(cursor)`` returns a page.  Within a
    page, objects and rolled-up prefixes are merged back into key order."""
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        entries: list[ObjectInfo | CommonPrefix] = [*page.objects, *map(CommonPrefix, page.common_prefixes)]
        if page.common_prefixes:
            entries.sort(key=lambda e: e.key if isinstance(e, ObjectInfo) else e.prefix)
        yield from entries
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
