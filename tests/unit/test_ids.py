"""TypeIDs: the right prefix, parse back, sort by creation, refuse what they are not."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trove_dist import ids
from trove_dist.errors import InvalidID

MAKERS: dict[ids.Kind, Callable[[], str]] = {
    ids.Kind.OBJECT: ids.new_object_id,
    ids.Kind.BUCKET: ids.new_bucket_id,
    ids.Kind.UPLOAD: ids.new_upload_id,
    ids.Kind.DOWNLOAD: ids.new_download_id,
    ids.Kind.STREAM: ids.new_stream_id,
    ids.Kind.POOL: ids.new_pool_id,
    ids.Kind.VERSION: ids.new_version_id,
    ids.Kind.CHUNK: ids.new_chunk_id,
}


def test_every_kind_has_a_maker() -> None:
    assert set(MAKERS) == set(ids.Kind)
    assert {k.value for k in ids.Kind} == {"obj", "bkt", "upl", "dwn", "str", "pol", "ver", "chk"}


@pytest.mark.parametrize("kind", list(ids.Kind))
def test_new_id_has_prefix_and_parses_back(kind: ids.Kind) -> None:
    text = MAKERS[kind]()
    prefix, _, suffix = text.partition("_")
    assert prefix == kind.value
    assert len(suffix) == 26
    assert suffix == suffix.lower()
    assert text.isascii()
    parsed = ids.parse_id(text, kind)
    assert parsed.prefix == kind.value
    assert str(parsed) == text
    assert ids.parse_id(text).prefix == kind.value  # without a kind, any known prefix
    assert parsed.uuid.version == 7
    assert ids.new_id(kind).startswith(kind.value + "_")


@pytest.mark.parametrize("kind", list(ids.Kind))
def test_ids_sort_in_creation_order(kind: ids.Kind) -> None:
    made = [MAKERS[kind]() for _ in range(20_000)]  # many per millisecond
    assert len(set(made)) == len(made)
    assert made == sorted(made)


def test_ids_of_one_kind_are_unique_across_kinds_too() -> None:
    made = [maker() for maker in MAKERS.values() for _ in range(100)]
    suffixes = [m.partition("_")[2] for m in made]
    assert len(set(suffixes)) == len(suffixes)


@pytest.mark.parametrize(
    ("make", "kind"),
    [(ids.new_upload_id, ids.Kind.STREAM), (ids.new_object_id, ids.Kind.BUCKET), (ids.new_chunk_id, ids.Kind.POOL)],
)
def test_wrong_kind(make: Callable[[], str], kind: ids.Kind) -> None:
    with pytest.raises(InvalidID, match=f"expected '{kind.value}'"):
        ids.parse_id(make(), kind)


def test_unknown_prefix() -> None:
    suffix = ids.new_object_id().partition("_")[2]
    for text in (f"foo_{suffix}", f"objx_{suffix}", suffix):
        with pytest.raises(InvalidID, match="unknown prefix"):
            ids.parse_id(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "_",
        "obj_",
        "obj",
        "obj_123",
        "obj_" + "0" * 25,
        "obj_" + "0" * 27,
        "obj_" + "8" + "0" * 25,  # first character above 7 overflows 128 bits
        "obj_" + "0" * 25 + "u",  # 'u' is not in Crockford base32
        "obj_" + "0" * 25 + "U",
        "OBJ_" + "0" * 26,
        "obj__" + "0" * 26,
        "obj-" + "0" * 26,
        " obj_" + "0" * 26,
        "obj_" + "0" * 26 + " ",
        "obj_" + "0" * 26 + "\n",
        "ob j_" + "0" * 26,
    ],
)
def test_malformed(text: str) -> None:
    with pytest.raises(InvalidID):
        ids.parse_id(text)
    with pytest.raises(InvalidID):
        ids.parse_id(text, ids.Kind.OBJECT)


def test_upper_case_suffix_is_malformed() -> None:
    text = ids.new_object_id()
    with pytest.raises(InvalidID):
        ids.parse_id(text.upper())
    with pytest.raises(InvalidID):
        ids.parse_id("obj_" + text.partition("_")[2].upper())


@pytest.mark.parametrize("value", [None, 42, b"obj_01h455vb4pex5vsknk084sn02q"])
def test_non_string(value: object) -> None:
    with pytest.raises(InvalidID):
        ids.parse_id(value)  # type: ignore[arg-type]


@given(st.text(max_size=40))
def test_any_text_parses_or_is_invalid_id(text: str) -> None:
    try:
        parsed = ids.parse_id(text)
    except InvalidID:
        return
    assert parsed.prefix in {k.value for k in ids.Kind}


def test_invalid_id_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="malformed"):
        ids.parse_id("nope")
