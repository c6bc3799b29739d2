"""``parse_dsn`` and ``DSN``: what each documented form parses to, and that a password never
leaks through ``str``, ``repr`` or an error message."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trove_dist.driver.dsn import parse_dsn
from trove_dist.errors import InvalidDSN, TroveError

SECRET = "s3cr3t-Pa55"


def test_file_absolute_path() -> None:
    dsn = parse_dsn("file:///srv/data")
    assert (dsn.scheme, dsn.host, dsn.port, dsn.path) == ("file", "", None, "/srv/data")
    assert dsn.username is None
    assert dsn.password is None
    assert dict(dsn.params) == {}


def test_file_relative_path_is_host_plus_path() -> None:
    # A relative path lands in the host part; a driver reads it back as host + path.
    dsn = parse_dsn("file://./relative/dir")
    assert dsn.host == "."
    assert dsn.path == "/relative/dir"
    assert dsn.host + dsn.path == "./relative/dir"


def test_mem_named_and_private() -> None:
    assert parse_dsn("mem://scratch").host == "scratch"
    anonymous = parse_dsn("mem://")
    assert (anonymous.scheme, anonymous.host, anonymous.path) == ("mem", "", "")


def test_host_keeps_its_case_and_scheme_is_lowercased() -> None:
    dsn = parse_dsn("MEM://Scratch")
    assert dsn.scheme == "mem"
    assert dsn.host == "Scratch"


def test_s3_query_value_with_scheme_and_port() -> None:
    dsn = parse_dsn("s3://bucket?endpoint=http://127.0.0.1:9000&region=us-east-1")
    assert dsn.scheme == "s3"
    assert dsn.host == "bucket"
    assert dsn.port is None
    assert dsn.path == ""
    assert dict(dsn.params) == {"endpoint": "http://127.0.0.1:9000", "region": "us-east-1"}
    assert dsn.param("endpoint") == "http://127.0.0.1:9000"
    assert dsn.param("missing") is None
    assert dsn.param("missing", "fallback") == "fallback"


def test_s3_without_bucket() -> None:
    dsn = parse_dsn("s3://?endpoint=http://127.0.0.1:9000")
    assert dsn.host == ""
    assert dsn.param("endpoint") == "http://127.0.0.1:9000"


def test_sftp_full_form_with_percent_encoded_password() -> None:
    dsn = parse_dsn("sftp://user:p%40ss@host:2222/srv/data?known_hosts=/x")
    assert dsn.scheme == "sftp"
    assert dsn.username == "user"
    assert dsn.password == "p@ss"
    assert dsn.host == "host"
    assert dsn.port == 2222
    assert dsn.path == "/srv/data"
    assert dict(dsn.params) == {"known_hosts": "/x"}


def test_percent_decoding_of_user_password_path_and_host() -> None:
    dsn = parse_dsn("sftp://us%40er:p%3As%2Fs%20w@ho%2Dst/srv/my%20data%2Fx")
    assert dsn.username == "us@er"
    assert dsn.password == "p:s/s w"
    assert dsn.host == "ho-st"
    assert dsn.path == "/srv/my data/x"


def test_empty_password_is_not_none() -> None:
    dsn = parse_dsn("sftp://user:@host")
    assert dsn.username == "user"
    assert dsn.password == ""


def test_azure_and_gcs() -> None:
    azure = parse_dsn("azure://account/container")
    assert (azure.scheme, azure.host, azure.path) == ("azure", "account", "/container")
    gcs = parse_dsn("gcs://bucket")
    assert (gcs.scheme, gcs.host, gcs.path, gcs.port) == ("gcs", "bucket", "", None)


def test_ipv6_host_round_trips_through_str() -> None:
    dsn = parse_dsn("s3://[::1]:9000/b")
    assert dsn.host == "::1"
    assert dsn.port == 9000
    assert str(dsn) == "s3://[::1]:9000/b"
    assert parse_dsn(str(dsn)) == dsn


def test_params_are_read_only() -> None:
    dsn = parse_dsn("s3://b?region=x")
    with pytest.raises(TypeError):
        dsn.params["region"] = "y"  # type: ignore[index]


def test_dsn_is_hashable() -> None:
    a = parse_dsn("s3://b?region=x")
    b = parse_dsn("s3://b?region=x")
    assert a == b
    assert hash(a) == hash(b)
    assert {a: 1}[b] == 1


# ---- the password never shows ----------------------------------------------------------


def test_password_not_in_str_or_repr() -> None:
    dsn = parse_dsn(f"sftp://deploy:{SECRET}@files.example.com:2222/srv?known_hosts=/k")
    assert dsn.password == SECRET
    assert SECRET not in str(dsn)
    assert SECRET not in repr(dsn)
    assert SECRET not in f"{dsn}"
    assert str(dsn) == "sftp://deploy:***@files.example.com:2222/srv?known_hosts=/k"


def test_str_round_trips_everything_but_the_password() -> None:
    dsn = parse_dsn("sftp://us%40er:pw@host:22/my%20dir?a=1&b=x%26y&c=http://h:1/p")
    again = parse_dsn(str(dsn))
    assert again.password == "***"
    assert (again.username, again.host, again.port, again.path) == ("us@er", "host", 22, "/my dir")
    assert dict(again.params) == {"a": "1", "b": "x&y", "c": "http://h:1/p"}


@pytest.mark.parametrize(
    "text",
    [
        f"sftp://user:{SECRET}@host:notaport/x",  # bad port
        f"sftp://user:{SECRET}@host:99999/x",  # port out of range
        f"sftp://user:{SECRET[:4]}/{SECRET[4:]}@host",  # unescaped '/' in the password
        f"sftp://user:{SECRET[:4]}?{SECRET[4:]}@host",  # unescaped '?' in the password
        f"sftp://user:{SECRET[:4]}@{SECRET[4:]}@host:x",  # unescaped '@' in the password
        f"sftp://user:{SECRET}＠x@host/",  # a fullwidth '@': urlsplit's error quotes the netloc
        f"sftp://user:{SECRET}@[::1/x",  # unclosed IPv6 bracket
        f"sftp//user:{SECRET}@host",  # no scheme
        f"sftp:/user:{SECRET}@host",  # one slash
        f"sftp:user:{SECRET}@host",  # no slashes
        f"user:{SECRET}@host",  # no scheme at all
        f"1sftp://user:{SECRET}@host",  # bad scheme
        f"sftp://user:{SECRET}@host/x#frag",  # fragment
        f"sftp://user:{SECRET}@host/x?a=1&a=2",  # duplicate parameter
    ],
)
def test_errors_never_show_the_password(text: str) -> None:
    with pytest.raises(InvalidDSN) as caught:
        parse_dsn(text)
    pieces = {SECRET, SECRET[:4], SECRET[4:]}
    messages = [str(caught.value), repr(caught.value)]
    # nor in a chained exception that a traceback would print
    cause = caught.value.__cause__
    if cause is not None:
        messages.append(str(cause))
    if caught.value.__context__ is not None and not caught.value.__suppress_context__:
        messages.append(str(caught.value.__context__))
    for message in messages:
        for piece in pieces:
            assert piece not in message


@given(
    middle=st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\t\n\r%"), max_size=12),
    tail=st.sampled_from(["", ":x", ":99999", "/p?a=1&a=2", "/p#f", ":1/p?x=http://a:1", "/p?mail=a@b"]),
)
def test_no_password_shows_whatever_it_contains(middle: str, tail: str) -> None:
    # The password may hold '@', '/', '?', '#' or ':' unescaped: however it then parses or fails,
    # the part right after "user:" (the marker) must never be shown.
    marker = "Zq9Marker"
    text = f"sftp://user:{marker}{middle}@host{tail}"
    try:
        dsn = parse_dsn(text)
    except InvalidDSN as exc:
        error: InvalidDSN | None = exc
    else:
        error = None
    if error is not None:
        assert marker not in str(error)
        assert marker not in repr(error)
    else:
        assert dsn.password is not None
        assert dsn.password.startswith(marker)
        assert marker not in str(dsn)
        assert marker not in repr(dsn)


# ---- malformed inputs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("/srv/data", "scheme"),
        ("srv/data", "scheme"),
        ("://host", "scheme"),
        ("1s3://bucket", "scheme"),
        ("s_3://bucket", "scheme"),
        ("s 3://bucket", "scheme"),
        ("s3:bucket", "'//'"),
        ("s3:/bucket", "'//'"),
        ("sftp://host:abc/x", "port"),
        ("sftp://host:-1/x", "port"),
        ("sftp://host:65536/x", "port"),
        ("sftp://host:+22/x", "port"),
        ("sftp://[::1]x/", "']'"),
        ("sftp://[::1/", "malformed"),
        ("s3://b?x=1&x=2", "given twice"),
        ("s3://b?x=1&x=1", "given twice"),
        ("s3://b#frag", "fragment"),
        ("s3://b?x=1#frag", "fragment"),
    ],
)
def test_malformed(text: str, reason: str) -> None:
    with pytest.raises(InvalidDSN, match=reason if reason != "'//'" else "//") as caught:
        parse_dsn(text)
    assert isinstance(caught.value, TroveError)
    assert isinstance(caught.value, ValueError)


def test_non_string_is_invalid() -> None:
    with pytest.raises(InvalidDSN):
        parse_dsn(None)  # type: ignore[arg-type]


def test_port_bounds() -> None:
    assert parse_dsn("sftp://h:0/").port == 0
    assert parse_dsn("sftp://h:65535/").port == 65535
    assert parse_dsn("sftp://h:/").port is None


# ---- flags -----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "True", "yes", "on", "ON"])
def test_flag_true(raw: str) -> None:
    assert parse_dsn(f"s3://b?tls={raw}").flag("tls", False) is True


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "off", "Off"])
def test_flag_false(raw: str) -> None:
    assert parse_dsn(f"s3://b?tls={raw}").flag("tls", True) is False


@pytest.mark.parametrize("default", [True, False])
def test_flag_default(default: bool) -> None:
    assert parse_dsn("s3://b?other=1").flag("tls", default) is default


@pytest.mark.parametrize("raw", ["maybe", "2", "", "tru", "yes please"])
def test_flag_invalid(raw: str) -> None:
    dsn = parse_dsn(f"s3://b?tls={raw.replace(' ', '%20')}")
    with pytest.raises(InvalidDSN, match="tls"):
        dsn.flag("tls", True)
