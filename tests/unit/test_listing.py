"""Cursors and ``paginate``: every page sequence equals a naive listing, in order, once."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trove_dist.driver.listing import (
    MAX_KEYS_LIMIT,
    Entry,
    InfoLoader,
    Position,
    decode_cursor,
    encode_cursor,
    listing_scope,
    paginate,
    start_position,
    validate_max_keys,
)
from trove_dist.driver.models import ListPage, ObjectInfo
from trove_dist.errors import InvalidCursor

SCOPE = listing_scope("bucket", "photos/", "/")
WHEN = datetime(2024, 1, 1, tzinfo=UTC)


def info(key: str) -> ObjectInfo:
    return ObjectInfo(bucket="bucket", key=key, size=len(key), etag="e-" + key, last_modified=WHEN)


def loader(key: str) -> InfoLoader:
    return lambda: info(key)


def _raw_cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


# ---- Position --------------------------------------------------------------------------


def test_position_admits() -> None:
    assert Position().admits("anything")
    after = Position("b")
    assert not after.admits("a")
    assert not after.admits("b")
    assert after.admits("b/")
    assert after.admits("c")
    past_prefix = Position("b/", skip_prefix=True)
    assert not past_prefix.admits("b/")
    assert not past_prefix.admits("b/zzz")
    assert past_prefix.admits("b0")
    assert not past_prefix.admits("a")


def test_start_position() -> None:
    assert start_position(None, None, SCOPE) == Position()
    assert start_position("", None, SCOPE) == Position()
    assert start_position("k", None, SCOPE) == Position("k", False)
    cursor = encode_cursor(Position("x/", True), SCOPE)
    assert start_position("k", cursor, SCOPE) == Position("x/", True)  # the cursor wins


def test_validate_max_keys() -> None:
    assert validate_max_keys(1) == 1
    assert validate_max_keys(MAX_KEYS_LIMIT) == MAX_KEYS_LIMIT
    assert validate_max_keys(MAX_KEYS_LIMIT + 1) == MAX_KEYS_LIMIT
    for bad in (0, -1, "5", 2.0, None):
        with pytest.raises(ValueError, match="max_keys"):
            validate_max_keys(bad)  # type: ignore[arg-type]


# ---- cursors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "position",
    [Position(None, False), Position("a", False), Position("a/", True), Position("日本/😀 é", False)],
)
def test_cursor_round_trip(position: Position) -> None:
    cursor = encode_cursor(position, SCOPE)
    assert cursor.isascii()
    assert "=" not in cursor
    assert decode_cursor(cursor, SCOPE) == position


@given(st.one_of(st.none(), st.text()), st.booleans(), st.text(), st.text(), st.one_of(st.none(), st.text()))
def test_cursor_round_trip_property(
    after: str | None, skip: bool, bucket: str, prefix: str, delimiter: str | None
) -> None:
    after = None if after is None else after.encode("utf-8", "replace").decode("utf-8")
    bucket, prefix = (s.encode("utf-8", "replace").decode("utf-8") for s in (bucket, prefix))
    scope = listing_scope(bucket, prefix, delimiter.encode("utf-8", "replace").decode() if delimiter else None)
    position = Position(after, skip)
    assert decode_cursor(encode_cursor(position, scope), scope) == position


def test_scopes_differ_by_each_part() -> None:
    scopes = {
        listing_scope("b", "", None),
        listing_scope("c", "", None),
        listing_scope("b", "p", None),
        listing_scope("b", "", "/"),
        listing_scope("b", "p/", "/"),
        listing_scope("b/p", "", "/"),
    }
    assert len(scopes) == 6
    assert listing_scope("b", "", None) == listing_scope("b", "", "")


def test_cursor_from_another_scope_is_refused() -> None:
    cursor = encode_cursor(Position("photos/a", False), SCOPE)
    for other in (
        listing_scope("other", "photos/", "/"),
        listing_scope("bucket", "photos/x", "/"),
        listing_scope("bucket", "photos/", None),
    ):
        with pytest.raises(InvalidCursor, match="different listing"):
            decode_cursor(cursor, other)


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "=",
        "not a cursor",
        "%%%%",
        "é",
        "\x00",
        "\ud800",
        "abc",
        "a" * 10_000,
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),  # not UTF-8
        base64.urlsafe_b64encode(b"{not json").decode(),
        _raw_cursor([1, 2, 3]),
        _raw_cursor("a string"),
        _raw_cursor(42),
        _raw_cursor(None),
        _raw_cursor({}),
        _raw_cursor({"a": "x", "s": False}),  # no scope
        _raw_cursor({"a": 5, "s": False, "q": SCOPE}),
        _raw_cursor({"a": ["x"], "s": False, "q": SCOPE}),
        _raw_cursor({"a": "x", "s": "yes", "q": SCOPE}),
        _raw_cursor({"a": "x", "s": 1, "q": SCOPE}),
        _raw_cursor({"a": "x", "s": False, "q": ["bucket", "photos/", "/"]}),
        _raw_cursor({"a": "x", "s": False, "q": {"x": 1}}),
        base64.urlsafe_b64encode(b"[" * 200_000).decode(),  # would blow the recursion limit
        base64.urlsafe_b64encode(b'{"a": "x", "s": false, "q": ' + b"1" * 5000 + b"}").decode(),  # huge int
    ],
)
def test_garbage_cursor_is_invalid_cursor(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, SCOPE)


@pytest.mark.parametrize("cursor", [None, 42, b"abc", ["a"]])
def test_non_string_cursor_is_invalid_cursor(cursor: object) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, SCOPE)  # type: ignore[arg-type]


@given(st.text())
def test_any_text_is_a_position_or_invalid_cursor(cursor: str) -> None:
    try:
        position = decode_cursor(cursor, SCOPE)
    except InvalidCursor:
        return
    assert isinstance(position, Position)


@given(st.data())
def test_tampered_cursor_is_a_position_or_invalid_cursor(data: st.DataObject) -> None:
    cursor = encode_cursor(Position(data.draw(st.text(max_size=20)).encode("utf-8", "replace").decode(), False), SCOPE)
    index = data.draw(st.integers(0, len(cursor) - 1))
    replacement = data.draw(st.text(max_size=3))
    tampered = cursor[:index] + replacement + cursor[index + 1 :]
    try:
        position = decode_cursor(tampered, SCOPE)
    except InvalidCursor:
        return
    assert isinstance(position, Position)
    assert position.after is None or isinstance(position.after, str)


# ---- paginate against a model ----------------------------------------------------------


def reference(keys: list[str], prefix: str, delimiter: str | None, start_after: str | None) -> list[tuple[str, str]]:
    """The naive listing: ("o", key) for objects and ("p", prefix) for rolled-up prefixes, in order."""
    objects: set[str] = set()
    prefixes: set[str] = set()
    for key in keys:
        if not key.startswith(prefix) or (start_after is not None and key <= start_after):
            continue
        rest = key[len(prefix) :]
        if delimiter and delimiter in rest:
            prefixes.add(prefix + rest[: rest.index(delimiter) + len(delimiter)])
        else:
            objects.add(key)
    return sorted([("o", k) for k in objects] + [("p", p) for p in prefixes], key=lambda item: item[1])


def list_all(
    keys: list[str],
    *,
    prefix: str,
    delimiter: str | None,
    max_keys: int,
    start_after: str | None = None,
    missing: frozenset[str] = frozenset(),
) -> tuple[list[tuple[str, str]], list[ListPage]]:
    """Follow cursors like a driver does: each page walks a fresh, sorted, admitted stream."""
    sorted_keys = sorted(keys)
    scope = listing_scope("bucket", prefix, delimiter)
    position = start_position(start_after, None, scope)
    items: list[tuple[str, str]] = []
    pages: list[ListPage] = []
    for _ in range(len(keys) + 2):
        current = position

        def entries(current: Position = current) -> Iterator[Entry]:
            for key in sorted_keys:
                if key.startswith(prefix) and current.admits(key):
                    yield Entry(key, (lambda: None) if key in missing else loader(key))

        page = paginate(entries(), prefix=prefix, delimiter=delimiter, position=current, max_keys=max_keys, scope=scope)
        pages.append(page)
        assert len(page.objects) + len(page.common_prefixes) <= max_keys
        page_items = [("o", o.key) for o in page.objects] + [("p", p) for p in page.common_prefixes]
        items.extend(sorted(page_items, key=lambda item: item[1]))
        if page.next_cursor is None:
            return items, pages
        position = decode_cursor(page.next_cursor, scope)
    raise AssertionError("the listing did not terminate")


_alphabet = "ab/."
_keys = st.lists(st.text(_alphabet, min_size=1, max_size=6), max_size=40, unique=True)


@settings(max_examples=300)
@given(
    keys=_keys,
    prefix=st.one_of(st.sampled_from(["", "a", "a/", "b/", "a/b"]), st.text(_alphabet, max_size=3)),
    delimiter=st.one_of(st.none(), st.sampled_from(["/", ".", "a", "/.", "//", "ab"])),
    max_keys=st.integers(1, 7),
    start_after=st.one_of(st.none(), st.text(_alphabet, max_size=4)),
)
def test_paginate_matches_the_model(
    keys: list[str], prefix: str, delimiter: str | None, max_keys: int, start_after: str | None
) -> None:
    start_after = start_after or None
    items, pages = list_all(keys, prefix=prefix, delimiter=delimiter, max_keys=max_keys, start_after=start_after)
    expected = reference(keys, prefix, delimiter, start_after)
    assert items == expected
    assert len({name for _, name in items}) == len(items)  # no duplicates
    for page in pages[:-1]:  # every page but the last is full
        assert len(page.objects) + len(page.common_prefixes) == max_keys
        assert page.next_cursor is not None
    assert pages[-1].next_cursor is None
    assert pages[-1].is_last
    if expected:  # no empty trailing page when nothing changes between pages
        assert pages[-1].objects or pages[-1].common_prefixes


@settings(max_examples=150)
@given(
    keys=_keys,
    missing=st.sets(st.text(_alphabet, min_size=1, max_size=6)),
    prefix=st.sampled_from(["", "a", "a/"]),
    delimiter=st.one_of(st.none(), st.just("/")),
    max_keys=st.integers(1, 5),
)
def test_objects_removed_before_their_load_are_skipped(
    keys: list[str], missing: set[str], prefix: str, delimiter: str | None, max_keys: int
) -> None:
    items, _ = list_all(keys, prefix=prefix, delimiter=delimiter, max_keys=max_keys, missing=frozenset(missing))
    expected = [
        item for item in reference(keys, prefix, delimiter, None) if not (item[0] == "o" and item[1] in missing)
    ]
    assert items == expected


def test_max_keys_counts_objects_and_prefixes() -> None:
    keys = ["a", "b/1", "b/2", "c", "d/1", "e"]
    scope = listing_scope("bucket", "", "/")
    entries = (Entry(k, loader(k)) for k in keys)
    page = paginate(entries, prefix="", delimiter="/", position=Position(), max_keys=3, scope=scope)
    assert [o.key for o in page.objects] == ["a", "c"]
    assert page.common_prefixes == ["b/"]
    assert page.next_cursor is not None
    assert decode_cursor(page.next_cursor, scope) == Position("c", False)


def test_page_ending_on_a_prefix_resumes_past_it() -> None:
    keys = ["a", "b/1", "b/2", "c"]
    scope = listing_scope("bucket", "", "/")
    page = paginate(
        (Entry(k, loader(k)) for k in keys), prefix="", delimiter="/", position=Position(), max_keys=2, scope=scope
    )
    assert page.common_prefixes == ["b/"]
    assert page.next_cursor is not None
    assert decode_cursor(page.next_cursor, scope) == Position("b/", True)


def test_entries_already_rolled_up_by_the_source() -> None:
    scope = listing_scope("bucket", "", "/")
    entries = [Entry("a", loader("a")), Entry("b/"), Entry("b/x", loader("b/x")), Entry("c", loader("c"))]
    page = paginate(iter(entries), prefix="", delimiter="/", position=Position(), max_keys=10, scope=scope)
    assert [o.key for o in page.objects] == ["a", "c"]
    assert page.common_prefixes == ["b/"]
    assert page.next_cursor is None
    assert Entry("b/").is_prefix
    assert not Entry("a", loader("a")).is_prefix


def test_empty_listing() -> None:
    page = paginate(iter([]), prefix="", delimiter=None, position=Position(), max_keys=5, scope=SCOPE)
    assert page == ListPage([], [], None)


def test_loads_are_lazy() -> None:
    loaded: list[str] = []

    def lazy(key: str) -> InfoLoader:
        def load() -> ObjectInfo:
            loaded.append(key)
            return info(key)

        return load

    keys = [f"k{i:03d}" for i in range(100)]
    page = paginate(
        (Entry(k, lazy(k)) for k in keys), prefix="", delimiter=None, position=Position(), max_keys=3, scope=SCOPE
    )
    assert [o.key for o in page.objects] == ["k000", "k001", "k002"]
    assert loaded == ["k000", "k001", "k002"]
