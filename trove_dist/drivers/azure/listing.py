"""Listing pages on top of Azure's own continuation markers.

A trove page may end in the middle of an Azure page (``max_keys`` reached, or ``start_after``
filtering), so the opaque cursor carries the Azure marker of the page being read *and* the last
entry returned: the next call re-reads that Azure page and skips what was already returned.
Resuming strictly after an entry — rather than at an index — means objects added or removed
between pages are never repeated and never cause a skip.

Azure returns names in UTF-16 code-unit order (as .NET compares strings), which differs from
UTF-8 byte order only between characters U+E000–U+FFFF and those above U+FFFF.  Resuming must
follow the order the service lists in, so positions compare by ``azure_order``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from azure.storage.blob import BlobPrefix, BlobProperties

from trove_dist.driver.listing import listing_scope
from trove_dist.driver.models import ListPage, ObjectInfo
from trove_dist.errors import InvalidCursor

_CURSOR_VERSION = "az1"


def azure_order(name: str) -> bytes:
    """The sort key of Azure's listing order."""
    return name.encode("utf-16-be", "surrogatepass")


@dataclass(frozen=True, slots=True)
class Resume:
    """Where a listing continues: at Azure ``marker`` (None = the start), strictly after
    ``after`` (and past everything under it if it was a rolled-up prefix)."""

    marker: str | None
    after: str | None
    after_is_prefix: bool = False

    def admits(self, name: str) -> bool:
        if self.after is None:
            return True
        if self.after_is_prefix and name.startswith(self.after):
            return False
        return azure_order(name) > azure_order(self.after)


def encode_cursor(resume: Resume, scope: str) -> str:
    raw = json.dumps(
        {"v": _CURSOR_VERSION, "q": scope, "m": resume.marker, "a": resume.after, "p": resume.after_is_prefix},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, scope: str) -> Resume:
    """Raises ``InvalidCursor`` for anything ``encode_cursor`` did not make for this listing."""
    if not isinstance(cursor, str):
        raise InvalidCursor(f"a listing cursor is a string, not {type(cursor).__name__}")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8"))
        version, query, marker, after, is_prefix = data["v"], data["q"], data["m"], data["a"], data["p"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError, RecursionError) as exc:
        raise InvalidCursor(f"malformed listing cursor {cursor[:40]!r}") from exc
    if version != _CURSOR_VERSION:
        raise InvalidCursor(f"malformed listing cursor {cursor[:40]!r}")
    if query != scope:
        raise InvalidCursor("this cursor belongs to a different listing (bucket, prefix or delimiter)")
    if not all(isinstance(v, (str, type(None))) for v in (marker, after)) or not isinstance(is_prefix, bool):
        raise InvalidCursor(f"malformed listing cursor {cursor[:40]!r}")
    return Resume(marker, after, is_prefix)


#: Fetches one Azure page from a marker: its entries and the marker of the next page.
PageFetcher = Callable[[str | None], tuple[Iterable[BlobProperties | BlobPrefix], str | None]]


def assemble_page(
    *,
    bucket: str,
    prefix: str,
    delimiter: str | None,
    start_after: str | None,
    cursor: str | None,
    max_keys: int,
    fetch: PageFetcher,
    to_info: Callable[[BlobProperties], ObjectInfo],
    holds_key_after: Callable[[str, str], bool],
) -> ListPage:
    """One trove page.  ``holds_key_after(prefix, key)`` answers, for the one rolled-up prefix
    that ``start_after`` may fall inside, whether any key under it sorts after ``start_after``
    (S3 lists such a prefix; Azure rolled its keys up, so the driver has to look)."""
    scope = listing_scope(bucket, prefix, delimiter)
    resume = decode_cursor(cursor, scope) if cursor else Resume(None, start_after or None)
    objects: list[ObjectInfo] = []
    prefixes: list[str] = []
    marker = resume.marker
    position = resume
    while True:
        entries, next_marker = fetch(marker)
        # A delimited Azure page holds its prefixes first, then its blobs: one name range, two runs.
        for entry in sorted(entries, key=lambda e: azure_order(str(e.name))):
            name = str(entry.name)
            if isinstance(entry, BlobPrefix) and _straddles(name, position):
                assert position.after is not None
                if not holds_key_after(name, position.after):
                    continue
            elif not position.admits(name):
                continue
            if len(objects) + len(prefixes) >= max_keys:
                # Full, with more in this Azure page: re-read it next time, after ``position``.
                resume_here = Resume(marker, position.after, position.after_is_prefix)
                return ListPage(objects, prefixes, encode_cursor(resume_here, scope))
            if isinstance(entry, BlobPrefix):
                prefixes.append(name)
                position = Resume(marker, name, True)
            else:
                objects.append(to_info(entry))
                position = Resume(marker, name, False)
        if not next_marker:
            return ListPage(objects, prefixes, None)
        marker = next_marker
        if len(objects) + len(prefixes) >= max_keys:
            resume_next = Resume(marker, position.after, position.after_is_prefix)
            return ListPage(objects, prefixes, encode_cursor(resume_next, scope))


def _straddles(prefix: str, position: Resume) -> bool:
    """``position`` is a key (``start_after``) inside ``prefix``: keys under it may follow."""
    return (
        position.after is not None
        and not position.after_is_prefix
        and position.after != prefix
        and position.after.startswith(prefix)
    )
