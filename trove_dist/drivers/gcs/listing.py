"""Listing pages on top of GCS's ``objects.list``: its tokens when it pages, ours when it does not.

Real GCS honours ``maxResults`` (items *and* prefixes together), ``pageToken`` and
``startOffset``.  A server that ignores them (the emulator returns everything in one answer)
must still give trove pages of at most ``max_keys`` entries with working cursors, so every answer
is also filtered and cut here:

- the driver asks for ``max_keys + 1`` entries starting at ``startOffset`` = the last key it
  returned (inclusive on GCS, so that key may come back once and is dropped);
- if the answer holds more than ``max_keys`` admitted entries, the page is cut and the cursor is
  a position ("strictly after this key / past this prefix"), resumed with ``startOffset``;
- if it holds at most ``max_keys`` and the service gave a ``nextPageToken``, the cursor carries that
  token (and the ``startOffset`` the token's listing began with, which GCS wants repeated).

The cursor is opaque to callers: base64 of a small JSON document that records the listing it
belongs to (bucket, prefix, delimiter), so a cursor of another listing — or of another driver —
is refused with ``InvalidCursor``.  The driver's own hidden objects never reach a page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass

from trove_dist.driver.listing import Position
from trove_dist.driver.models import ListPage, ObjectInfo
from trove_dist.drivers.gcs.hidden import hides_prefix, is_hidden
from trove_dist.errors import InvalidCursor

_VERSION = "gcs1"
#: GCS answers at most this many entries per page, whatever ``maxResults`` asks for.
SERVICE_PAGE_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class ListState:
    """Where a listing resumes, and the service's token for it when there is one."""

    position: Position
    page_token: str | None = None
    #: The ``startOffset`` of the listing ``page_token`` continues (GCS wants it sent again).
    token_start_offset: str | None = None


@dataclass(frozen=True, slots=True)
class ListRequest:
    """The query parameters of one ``objects.list`` call."""

    prefix: str
    delimiter: str | None
    start_offset: str | None
    page_token: str | None
    max_results: int


@dataclass(frozen=True, slots=True)
class ServicePage:
    """What one ``objects.list`` call answered, already turned into trove's terms."""

    objects: list[ObjectInfo]
    prefixes: list[str]
    next_page_token: str | None


def encode_cursor(state: ListState, scope: str) -> str:
    raw = json.dumps(
        {
            "v": _VERSION,
            "q": scope,
            "a": state.position.after,
            "s": state.position.skip_prefix,
            "t": state.page_token,
            "o": state.token_start_offset,
        },
        ensure_ascii=False,
    )
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, scope: str) -> ListState:
    """Raises ``InvalidCursor`` (and nothing else) for anything ``encode_cursor`` did not make."""
    if not isinstance(cursor, str):
        raise InvalidCursor(f"a listing cursor is a string, not {type(cursor).__name__}")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
        version, query = data["v"], data["q"]
        after, skip, token, offset = data["a"], data["s"], data["t"], data["o"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError, RecursionError) as exc:
        raise InvalidCursor(f"malformed gcs listing cursor {cursor[:40]!r}") from exc
    if version != _VERSION:
        raise InvalidCursor(f"not a gcs listing cursor: {cursor[:40]!r}")
    if query != scope:
        raise InvalidCursor("this cursor belongs to a different listing (bucket, prefix or delimiter)")
    if not (
        isinstance(after, (str, type(None)))
        and isinstance(skip, bool)
        and isinstance(token, (str, type(None)))
        and isinstance(offset, (str, type(None)))
    ):
        raise InvalidCursor(f"malformed gcs listing cursor {cursor[:40]!r}")
    return ListState(Position(after, skip), token, offset)


def start_state(start_after: str | None, cursor: str | None, scope: str) -> ListState:
    if cursor:
        return decode_cursor(cursor, scope)
    return ListState(Position(start_after or None, False))


def plan_request(prefix: str, delimiter: str | None, state: ListState, max_keys: int) -> ListRequest:
    """One more entry than the page needs: the resume key itself may come back (startOffset is
    inclusive) and is dropped."""
    if state.page_token is not None:
        start_offset = state.token_start_offset
    else:
        start_offset = start_offset_for(state.position)
        if start_offset is not None and start_offset <= prefix:
            start_offset = None  # the prefix already starts the listing later
    return ListRequest(
        prefix=prefix,
        delimiter=delimiter,
        start_offset=start_offset,
        page_token=state.page_token,
        max_results=min(max_keys + 1, SERVICE_PAGE_LIMIT),
    )


def start_offset_for(position: Position) -> str | None:
    """The smallest name the listing still needs, as GCS's inclusive ``startOffset``."""
    if position.after is None:
        return None
    if position.skip_prefix:
        return prefix_successor(position.after) or position.after
    return position.after


def prefix_successor(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with ``prefix`` (None if there
    is none: ``prefix`` is empty or made of U+10FFFF only)."""
    chars = list(prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if 0xD800 <= code <= 0xDFFF:  # surrogates cannot be sent: skip to the next scalar value
            code = 0xE000
        if code <= 0x10FFFF:
            return "".join(chars) + chr(code)
    return None


@dataclass(frozen=True, slots=True)
class PageResult:
    """A trove page, or — when every entry of the service's page was filtered out and the
    service has more — the state to fetch its next page with."""

    page: ListPage | None
    continue_with: ListState | None = None


def assemble_page(
    answer: ServicePage,
    *,
    request: ListRequest,
    state: ListState,
    max_keys: int,
    scope: str,
    has_keys_after: Callable[[str, str], bool],
) -> PageResult:
    """Filter, merge, cut: one trove page from one service page.

    ``has_keys_after(prefix, key)`` answers whether a visible key under a rolled-up ``prefix``
    sorts after ``key`` — needed only when a listing resumes *inside* a rolled-up prefix (a
    ``start_after`` pointing into a "directory"), where the service's roll-up cannot tell.
    """
    position = state.position
    entries: list[tuple[str, ObjectInfo | None]] = [
        (info.key, info) for info in answer.objects if not is_hidden(info.key) and position.admits(info.key)
    ]
    for prefix in answer.prefixes:
        if hides_prefix(prefix):
            continue
        resumes_inside = (
            not position.skip_prefix and position.after is not None and position.after.startswith(prefix)
        )
        if position.admits(prefix) or (resumes_inside and has_keys_after(prefix, str(position.after))):
            entries.append((prefix, None))
    entries.sort(key=lambda entry: entry[0].encode("utf-8"))

    if len(entries) > max_keys:
        entries = entries[:max_keys]
        return PageResult(_page(entries, encode_cursor(ListState(_after(entries[-1])), scope)))
    if answer.next_page_token is None:
        return PageResult(_page(entries, None))
    following = ListState(
        _after(entries[-1]) if entries else position, answer.next_page_token, request.start_offset
    )
    if not entries:
        return PageResult(None, following)
    return PageResult(_page(entries, encode_cursor(following, scope)))


def _after(entry: tuple[str, ObjectInfo | None]) -> Position:
    name, info = entry
    return Position(name, skip_prefix=info is None)


def _page(entries: list[tuple[str, ObjectInfo | None]], cursor: str | None) -> ListPage:
    objects = [info for _, info in entries if info is not None]
    prefixes = [name for name, info in entries if info is None]
    return ListPage(objects, prefixes, cursor)

