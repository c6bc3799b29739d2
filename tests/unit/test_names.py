"""Bucket names, object keys and listing prefixes: one rule set for every backend."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from trove_dist.driver.names import MAX_KEY_BYTES, validate_bucket, validate_key, validate_prefix
from trove_dist.errors import InvalidBucket, InvalidKey, TroveError

# ---- buckets ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["abc", "my-bucket", "my.bucket", "my_bucket", "a1b", "123", "0.a", "a" * 63, "x-y.z_0", "1.2.3"],
)
def test_bucket_accepted(name: str) -> None:
    assert validate_bucket(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "ab",  # too short
        "a" * 64,  # too long
        "Abc",  # upper case
        "-abc",
        "abc-",
        ".abc",
        "abc.",
        "_abc",
        "abc_",
        "a..b",
        "a b",
        "a/b",
        "a\\b",
        "abc\n",  # '$' would let a trailing newline through
        "\nabc",
        "ab\x00c",
        "ábc",
        "192.168.0.1",
        "1.2.3.4",
    ],
)
def test_bucket_refused(name: str) -> None:
    with pytest.raises(InvalidBucket) as caught:
        validate_bucket(name)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, TroveError)


@pytest.mark.parametrize("value", [None, b"abc", 123])
def test_bucket_not_a_string(value: object) -> None:
    with pytest.raises(InvalidBucket, match="string"):
        validate_bucket(value)  # type: ignore[arg-type]


_bucket_names = st.from_regex(r"\A[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]\Z")


@given(_bucket_names)
def test_bucket_property(name: str) -> None:
    looks_like_ip = len(name.split(".")) == 4 and all(p.isdigit() and 1 <= len(p) <= 3 for p in name.split("."))
    if ".." in name or looks_like_ip:
        with pytest.raises(InvalidBucket):
            validate_bucket(name)
    else:
        assert validate_bucket(name) == name


# ---- keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "a/b/c.txt",
        "/leading",
        "trailing/",
        "double//slash",
        "/",
        "//",
        ".hidden",
        "a/.hidden",
        "...",
        "a/.../b",
        "..a",
        "a..",
        "a/..b/c",
        "spaces are fine",
        "ünïcödé/日本語/😀",
        "quotes'\"<>&?#%*",
        "a" * MAX_KEY_BYTES,
        "é" * (MAX_KEY_BYTES // 2),  # 2 bytes each
        "\u2028",  # a line separator is not a control character
    ],
)
def test_key_accepted(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "empty"),
        (".", "segment"),
        ("..", "segment"),
        ("a/./b", "segment"),
        ("a/../b", "segment"),
        ("../etc/passwd", "segment"),
        ("a/..", "segment"),
        ("a/.", "segment"),
        ("./a", "segment"),
        ("a//../b", "segment"),
        ("a\\b", "backslash"),
        ("..\\..\\windows", "backslash"),
        ("a\x00b", "control"),
        ("a\nb", "control"),
        ("a\rb", "control"),
        ("a\tb", "control"),
        ("a\x1fb", "control"),
        ("a\x7fb", "control"),
        ("a\x85b", "control"),  # NEL, a C1 control that some parsers treat as a line break
        ("a\x9fb", "control"),
        ("a" * (MAX_KEY_BYTES + 1), "limit"),
        ("é" * (MAX_KEY_BYTES // 2) + "a", "limit"),
        ("a\ud800b", "UTF-8"),  # lone surrogates cannot be encoded
        ("\udfff", "UTF-8"),
        ("\udc80abc", "UTF-8"),  # what os.fsdecode makes of an undecodable byte
    ],
)
def test_key_refused(key: str, reason: str) -> None:
    with pytest.raises(InvalidKey, match=reason) as caught:
        validate_key(key)
    assert isinstance(caught.value, ValueError)
    assert caught.value.reason


def test_long_key_message_is_truncated() -> None:
    with pytest.raises(InvalidKey) as caught:
        validate_key("k" * 5000)
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize("value", [None, b"abc", 1])
def test_key_not_a_string(value: object) -> None:
    with pytest.raises(InvalidKey, match="string"):
        validate_key(value)  # type: ignore[arg-type]


# Every character that is not a control character, a backslash, a surrogate or '/'.
_safe_char = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters="\\/")
_segment = st.text(_safe_char, max_size=20).filter(lambda s: s not in (".", ".."))
_safe_keys = (
    st.lists(_segment, min_size=1, max_size=12)
    .map("/".join)
    .filter(lambda k: bool(k) and len(k.encode("utf-8")) <= MAX_KEY_BYTES)
)


@given(_safe_keys)
def test_any_safe_key_is_accepted(key: str) -> None:
    assert validate_key(key) == key
    assert validate_prefix(key) == key  # a key is always a valid prefix


@given(
    st.lists(_segment, max_size=5),
    st.sampled_from([".", ".."]),
    st.lists(_segment, max_size=5),
)
def test_any_dot_segment_is_refused(before: list[str], dots: str, after: list[str]) -> None:
    key = "/".join([*before, dots, *after])
    assume(len(key.encode("utf-8")) <= MAX_KEY_BYTES)
    with pytest.raises(InvalidKey):
        validate_key(key)


_CONTROLS = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))]  # Unicode category Cc


@given(st.text(_safe_char, min_size=1, max_size=40), st.sampled_from(_CONTROLS))
def test_any_control_character_is_refused(text: str, control: str) -> None:
    with pytest.raises(InvalidKey):
        validate_key(text[:5] + control + text[5:])


@given(st.text(_safe_char, max_size=10), st.integers(0xD800, 0xDFFF).map(chr), st.text(_safe_char, max_size=10))
def test_any_lone_surrogate_is_refused(before: str, surrogate: str, after: str) -> None:
    with pytest.raises(InvalidKey):
        validate_key(before + surrogate + after)
    with pytest.raises(InvalidKey):
        validate_prefix(before + surrogate + after)


@given(st.text(_safe_char, min_size=MAX_KEY_BYTES // 4 + 1, max_size=MAX_KEY_BYTES + 50))
def test_key_length_is_counted_in_utf8_bytes(key: str) -> None:
    key = key.replace(".", "x")  # no dot segments
    if len(key.encode("utf-8")) <= MAX_KEY_BYTES:
        assert validate_key(key) == key
    else:
        with pytest.raises(InvalidKey, match="limit"):
            validate_key(key)


# ---- prefixes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prefix",
    ["", "a", "a/", "a/b", "photos/2024/", "/", ".", "..", "a/.", "a/..", ".hid", "a/..b/", "k" * MAX_KEY_BYTES],
)
def test_prefix_accepted(prefix: str) -> None:
    # '.' and '..' are allowed as the last, possibly partial, segment ("a/." matches "a/.x").
    assert validate_prefix(prefix) == prefix


@pytest.mark.parametrize(
    "prefix",
    [
        "a\x00",
        "a\n",
        "a\x85",
        "a\\b",
        "a\ud800",
        "\udc80",
        "k" * (MAX_KEY_BYTES + 1),
        "../",
        "./",
        "a/../",
        "a/./b",
        "../etc",
    ],
)
def test_prefix_refused(prefix: str) -> None:
    with pytest.raises(InvalidKey):
        validate_prefix(prefix)


@pytest.mark.parametrize("value", [None, b"a", 3])
def test_prefix_not_a_string(value: object) -> None:
    with pytest.raises(InvalidKey, match="string"):
        validate_prefix(value)  # type: ignore[arg-type]
