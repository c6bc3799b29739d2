"""The SFTP driver against a real OpenSSH sshd (tests/servers/sftp.py), chrooted, on loopback."""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import paramiko
import pytest
from paramiko.message import Message

from tests.servers.sftp import SFTPServer, sftp_server
from trove_dist.checksum import Checksum, digest
from trove_dist.driver.capabilities import RangeDriver, ServerCopyDriver, capabilities_of
from trove_dist.driver.dsn import parse_dsn
from trove_dist.driver.registry import driver_class, open_driver
from trove_dist.driver.retry import RetryPolicy
from trove_dist.drivers.sftp import HostKeyRejected, SFTPDriver, SFTPServerCopyDriver, SFTPSettings
from trove_dist.drivers.sftp.hostkeys import fingerprint_of
from trove_dist.drivers.sftp.protocol import ExtendedSFTPClient, ReplySink
from trove_dist.drivers.sftp.records import RETENTION
from trove_dist.errors import (
    BackendUnavailable,
    BucketNotFound,
    ChecksumMismatch,
    InvalidDSN,
    InvalidKey,
    KeyConflict,
    ObjectNotFound,
    PermissionDenied,
    TroveError,
    UnsupportedCapability,
)
from trove_dist.testing import BucketFactory, DriverConformance, DriverFactory
from trove_dist.testing.harness import payload


@pytest.fixture(scope="session")
def sftp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SFTPServer]:
    with sftp_server(tmp_path_factory.mktemp("sshd")) as server:
        yield server


# ---- the conformance suite ------------------------------------------------------------------


class TestSFTPConformance(DriverConformance):
    """The whole suite against sshd, 256 MiB large-object cases included (about 2 s each way)."""

    @pytest.fixture
    def driver_factory(self, sftp: SFTPServer) -> DriverFactory:
        return lambda: open_driver(sftp.dsn())


@pytest.fixture
def fresh_sftp(tmp_path: Path) -> Iterator[SFTPServer]:
    """A server of the test's own, for tests that stop, restart or break it."""
    with sftp_server(tmp_path) as server:
        yield server


@pytest.fixture
def make_driver(sftp: SFTPServer) -> Iterator[Callable[..., SFTPDriver]]:
    """Drivers on the session's server, closed after the test."""
    opened: list[SFTPDriver] = []

    def make(server: SFTPServer = sftp, **params: str) -> SFTPDriver:
        driver = open_driver(server.dsn(**params))
        assert isinstance(driver, SFTPDriver)
        opened.append(driver)
        return driver

    yield make
    for driver in opened:
        driver.close()


@pytest.fixture
def driver(make_driver: Callable[..., SFTPDriver]) -> SFTPDriver:
    return make_driver()


@pytest.fixture
def bucket(driver: SFTPDriver) -> Iterator[str]:
    factory = BucketFactory(driver)
    yield factory()
    factory.cleanup()


def on_disk(sftp: SFTPServer, bucket: str, *parts: str) -> Path:
    """Where the server keeps ``parts`` of a bucket, as seen from this (root) process."""
    return sftp.data.joinpath(bucket, *parts)


def tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


# ---- DSN and settings -------------------------------------------------------------------------


def test_dsn_parameters_are_read(tmp_path: Path) -> None:
    key = tmp_path / "id"
    key.write_text("not read until connecting")
    known = tmp_path / "known_hosts"
    known.write_text("")
    settings = SFTPSettings.from_dsn(
        parse_dsn(
            f"sftp://deploy:s3cret@files.example.com:2222/srv/objects/?key={key}&known_hosts={known}"
            "&connections=3&timeout=7.5&durable=false&create=false&retries=2&retry_base=0.5&retry_max=3"
        )
    )
    assert (settings.host, settings.port, settings.username, settings.password) == (
        "files.example.com",
        2222,
        "deploy",
        "s3cret",
    )
    assert (settings.root, settings.key_file, settings.known_hosts) == ("/srv/objects", key, known)
    assert (settings.connections, settings.timeout, settings.durable, settings.create) == (3, 7.5, False, False)
    assert settings.retry == RetryPolicy(attempts=2, base_delay=0.5, max_delay=3.0)
    assert "s3cret" not in repr(settings)
    assert settings.describe() == "sftp://deploy@files.example.com:2222/srv/objects"


def test_dsn_defaults() -> None:
    settings = SFTPSettings.from_dsn(parse_dsn("sftp://files.example.com"))
    assert (settings.port, settings.root, settings.username, settings.key_file, settings.host_key) == (
        22,
        ".",
        None,
        None,
        None,
    )
    assert settings.known_hosts == Path("~/.ssh/known_hosts").expanduser()
    assert (settings.connections, settings.durable, settings.create) == (4, True, True)


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        ("sftp:///srv/objects", "needs a host"),
        ("sftp://h/r?knwon_hosts=/x", "unknown sftp DSN parameter"),
        ("sftp://h/r?known_hosts=/nonexistent/known_hosts", "does not exist"),
        ("sftp://h/r?key=/nonexistent/id_ed25519", "does not exist"),
        ("sftp://h/r?connections=0", "at least 1"),
        ("sftp://h/r?connections=many", "not a int"),
        ("sftp://h/r?timeout=-1", "positive"),
        ("sftp://h/r?durable=maybe", "not a boolean"),
        ("sftp://h/r?host_key=SHA256:abc", "32 bytes"),
        ("sftp://h/r?host_key=AAAAnot-a-key", "not a public key"),
    ],
)
def test_bad_dsns_are_refused(dsn: str, message: str) -> None:
    with pytest.raises(InvalidDSN, match=message):
        SFTPSettings.from_dsn(parse_dsn(dsn))


def test_known_hosts_and_host_key_together_are_refused(sftp: SFTPServer) -> None:
    with pytest.raises(InvalidDSN, match="either known_hosts or host_key"):
        SFTPSettings.from_dsn(
            parse_dsn(sftp.dsn(known_hosts=str(sftp.known_hosts), host_key=sftp.host_key_fingerprint))
        )


def test_registered_under_sftp(driver: SFTPDriver) -> None:
    assert driver_class("sftp") is SFTPDriver
    assert driver.name == "sftp"


# ---- host keys: verified, never silently accepted --------------------------------------------


def _other_key() -> paramiko.Ed25519Key:
    """A host key the server does not have."""
    blob = Message()
    blob.add_string("ssh-ed25519")
    blob.add_string(bytes(range(32)))
    return paramiko.Ed25519Key(data=blob.asbytes())


@pytest.mark.parametrize("form", ["fingerprint", "blob", "pub-line", "pub-line-with-plus-as-space"])
def test_pinned_host_key_is_accepted(make_driver: Callable[..., SFTPDriver], sftp: SFTPServer, form: str) -> None:
    pins = {
        "fingerprint": sftp.host_key_fingerprint,
        "blob": sftp.host_key_base64,
        "pub-line": sftp.host_key_line,
        # an unescaped "+" in a query string arrives as a space
        "pub-line-with-plus-as-space": sftp.host_key_line.replace("+", " "),
    }
    driver = make_driver(host_key=pins[form])
    driver.ping()


def test_known_hosts_file_is_accepted(make_driver: Callable[..., SFTPDriver], sftp: SFTPServer) -> None:
    make_driver(known_hosts=str(sftp.known_hosts)).ping()


@pytest.mark.parametrize("form", ["key", "fingerprint"])
def test_wrong_pinned_host_key_is_refused(sftp: SFTPServer, form: str) -> None:
    other = _other_key()
    pin = f"{other.get_name()} {other.get_base64()}" if form == "key" else fingerprint_of(other)
    with pytest.raises(HostKeyRejected) as caught:
        open_driver(sftp.dsn(host_key=pin))
    message = str(caught.value)
    assert sftp.host_key_fingerprint in message, "the error must show the key the server presented"
    assert fingerprint_of(other) in message, "and the key that was expected"
    assert isinstance(caught.value, PermissionDenied)


def test_host_key_differing_from_known_hosts_is_refused(sftp: SFTPServer, tmp_path: Path) -> None:
    other = _other_key()
    known = tmp_path / "known_hosts"
    line = f"[127.0.0.1]:{sftp.port} {other.get_name()} {other.get_base64()}\n"
    known.write_text(line)
    with pytest.raises(HostKeyRejected, match="expects"):
        open_driver(sftp.dsn(known_hosts=str(known)))
    assert known.read_text() == line


def test_host_missing_from_known_hosts_is_refused_and_never_added(sftp: SFTPServer, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    unrelated = f"[127.0.0.1]:{sftp.port + 1} {sftp.host_key_line}\n"  # same key, other port
    known.write_text(unrelated)
    for _ in range(2):  # refused again: nothing was remembered the first time
        with pytest.raises(HostKeyRejected, match="is not in"):
            open_driver(sftp.dsn(known_hosts=str(known)))
    assert known.read_text() == unrelated


def test_default_known_hosts_is_the_users(sftp: SFTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    dsn = f"sftp://{sftp.user}@127.0.0.1:{sftp.port}/data?key={sftp.client_key}"
    with pytest.raises(HostKeyRejected, match=str(tmp_path / ".ssh" / "known_hosts")):
        open_driver(dsn)  # no ~/.ssh/known_hosts at all: every host is unknown
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "known_hosts").write_text(sftp.known_hosts.read_text())
    with open_driver(dsn) as driver:
        driver.ping()


# ---- credentials --------------------------------------------------------------------------------


def test_password_login(make_driver: Callable[..., SFTPDriver], sftp: SFTPServer) -> None:
    driver = make_driver(password=sftp.password)
    driver.ping()
    assert sftp.password not in repr(driver)
    assert sftp.password not in repr(driver.settings)


def test_wrong_password_is_permission_denied_without_the_password(sftp: SFTPServer) -> None:
    wrong = "wrong-" + sftp.password
    with pytest.raises(PermissionDenied) as caught:
        open_driver(sftp.dsn(password=wrong))
    assert caught.value.operation == "login"
    assert wrong not in str(caught.value)
    assert sftp.password not in str(caught.value)
    assert not isinstance(caught.value, HostKeyRejected)


def test_password_never_in_errors(make_driver: Callable[..., SFTPDriver], fresh_sftp: SFTPServer) -> None:
    driver = make_driver(fresh_sftp, password=fresh_sftp.password, retries="2", retry_base="0.01")
    with pytest.raises(BucketNotFound) as missing:
        driver.head("no-such-bucket", "k")
    fresh_sftp.stop()
    with pytest.raises(BackendUnavailable) as down:
        driver.list_buckets()
    for error in (missing.value, down.value):
        text = f"{error} {error!r} {error.__cause__!r}"
        assert fresh_sftp.password not in text


# ---- layout and path safety -------------------------------------------------------------------


def test_objects_are_plain_files_under_the_root(driver: SFTPDriver, bucket: str, sftp: SFTPServer) -> None:
    driver.put(bucket, "docs/readme.md", b"# hi", metadata={"k": "v"})
    assert on_disk(sftp, bucket, "docs", "readme.md").read_bytes() == b"# hi"
    assert tree(on_disk(sftp, bucket)) == [
        "docs",
        "docs/.trove-meta.readme.md",
        f"docs/.trove-meta.readme.md/{_record_name(sftp, bucket, 'docs', 'readme.md')}",
        "docs/readme.md",
    ]


def _record_name(sftp: SFTPServer, bucket: str, *parts: str) -> str:
    st = on_disk(sftp, bucket, *parts).stat()
    return f"{int(st.st_mtime)}-{st.st_size}"


def test_no_key_reaches_the_drivers_own_files(driver: SFTPDriver, bucket: str, sftp: SFTPServer) -> None:
    driver.put(bucket, "obj", b"data", metadata={"owner": "real"})
    record_dir = ".trove-meta.obj"
    assert on_disk(sftp, bucket, record_dir).is_dir()
    with pytest.raises(ObjectNotFound):
        driver.head(bucket, record_dir + "/" + _record_name(sftp, bucket, "obj"))
    driver.put(bucket, record_dir, b"a key that looks internal")
    assert on_disk(sftp, bucket, "%2Etrove-meta.obj").read_bytes() == b"a key that looks internal"
    assert dict(driver.head(bucket, "obj").metadata) == {"owner": "real"}
    assert sorted(o.key for o in driver.iter_list(bucket)) == [record_dir, "obj"]  # type: ignore[union-attr]


@pytest.fixture
def outside(sftp: SFTPServer) -> Iterator[Path]:
    """A directory inside the chroot but outside the storage root, writable by the SFTP user."""
    path = sftp.chroot / f"outside-{secrets.token_hex(4)}"
    path.mkdir()
    (path / "secret").write_bytes(b"secret")
    user = pwd.getpwnam(sftp.user)
    os.chown(path, user.pw_uid, user.pw_gid)
    yield path
    shutil.rmtree(path)


def test_symlinked_directory_is_refused_not_followed(
    driver: SFTPDriver, bucket: str, sftp: SFTPServer, outside: Path
) -> None:
    # Relative, so that it resolves the same inside the chroot and from this process.
    os.symlink(f"../../{outside.name}", on_disk(sftp, bucket, "link"))
    assert on_disk(sftp, bucket, "link", "secret").read_bytes() == b"secret"
    for attempt in (
        lambda: driver.get(bucket, "link/secret"),
        lambda: driver.head(bucket, "link/secret"),
        lambda: driver.put(bucket, "link/planted", b"x"),
        lambda: driver.delete(bucket, "link/secret"),
    ):
        with pytest.raises(InvalidKey, match="symbolic link"):
            attempt()
    assert sorted(p.name for p in outside.iterdir()) == ["secret"], "something was written through the link"
    assert (outside / "secret").read_bytes() == b"secret"
    assert list(driver.iter_list(bucket)) == []


def test_symlinked_file_is_refused_and_replaced_not_written_through(
    driver: SFTPDriver, bucket: str, sftp: SFTPServer, outside: Path
) -> None:
    os.symlink(f"../../{outside.name}/secret", on_disk(sftp, bucket, "alias"))
    with pytest.raises(InvalidKey, match="symbolic link"):
        driver.get(bucket, "alias")
    with pytest.raises(InvalidKey, match="symbolic link"):
        driver.head(bucket, "alias")
    assert [o.key for o in driver.iter_list(bucket)] == []  # type: ignore[union-attr]
    driver.put(bucket, "alias", b"replaced")  # the rename replaces the link itself, never its target
    assert (outside / "secret").read_bytes() == b"secret"
    assert not on_disk(sftp, bucket, "alias").is_symlink()
    assert driver.get(bucket, "alias").read() == b"replaced"


def test_symlinked_bucket_is_not_a_bucket(driver: SFTPDriver, sftp: SFTPServer, outside: Path) -> None:
    name = f"linked-{secrets.token_hex(4)}"
    os.symlink(f"../{outside.name}", sftp.data / name)
    try:
        assert not driver.bucket_exists(name)
        assert name not in [b.name for b in driver.list_buckets()]
        with pytest.raises(BucketNotFound):
            driver.put(name, "k", b"x")
        assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    finally:
        (sftp.data / name).unlink()


def test_files_put_there_by_other_tools(driver: SFTPDriver, bucket: str, sftp: SFTPServer) -> None:
    driver.put(bucket, "report.csv", b"a,b\n", metadata={"stale": "yes"}, content_type="text/x-mine")
    # Another tool overwrites the file in place (new size, new mtime): the record no longer applies.
    on_disk(sftp, bucket, "report.csv").write_bytes(b"a,b\n1,2\n")
    os.utime(on_disk(sftp, bucket, "report.csv"), (1_000_000, 1_000_000))
    (on_disk(sftp, bucket, "dropped.txt")).write_bytes(b"dropped in by hand")
    (on_disk(sftp, bucket, "50%.txt")).write_bytes(b"a name no key maps to")
    head = driver.head(bucket, "report.csv")
    assert (head.size, dict(head.metadata), head.content_type) == (8, {}, "text/csv")
    assert driver.get(bucket, "report.csv").read() == b"a,b\n1,2\n"
    assert driver.head(bucket, "dropped.txt").content_type == "text/plain"
    assert [o.key for o in driver.iter_list(bucket)] == ["dropped.txt", "report.csv"]  # type: ignore[union-attr]


# ---- metadata records ---------------------------------------------------------------------------


def test_each_version_has_its_own_record(driver: SFTPDriver, bucket: str, sftp: SFTPServer) -> None:
    """Same-size rewrites within one second cannot share an (mtime, size) stamp: each one's
    metadata stays paired with its own data."""
    versions = [(payload(1000, i), {"v": str(i)}) for i in range(6)]
    for data, meta in versions:
        info = driver.put(bucket, "k", data, metadata=meta, checksum="sha256")
        head = driver.head(bucket, "k")
        assert (head.etag, dict(head.metadata), head.checksum) == (info.etag, meta, digest("sha256", data))
        with driver.get(bucket, "k") as reader:
            assert (reader.read(), dict(reader.info.metadata)) == (data, meta)
    records = sorted(p.name for p in on_disk(sftp, bucket, ".trove-meta.k").iterdir())
    assert len(records) == len(set(records)) == len(versions), "superseded records linger for RETENTION"
    assert _record_name(sftp, bucket, "k") == max(records, key=lambda n: int(n.split("-")[0]))


def test_expired_records_are_collected_but_never_the_current_one(
    driver: SFTPDriver, bucket: str, sftp: SFTPServer
) -> None:
    driver.put(bucket, "k", b"current", metadata={"v": "current"})
    records = on_disk(sftp, bucket, ".trove-meta.k")
    (original,) = records.iterdir()
    now = int(time.time())
    old = now - RETENTION - 100
    # The current version, made to look old: its data's mtime and its record's name.
    os.utime(on_disk(sftp, bucket, "k"), (old, old))
    shutil.copy(original, records / f"{old}-7")
    # Garbage: two expired records of earlier versions, one recent one.
    for stamp in (f"{old - 5}-7", f"{old - 9}-3", f"{now}-1"):
        (records / stamp).write_text("{}")
    assert driver.remove_stale_temporaries(bucket) == 2
    assert sorted(p.name for p in records.iterdir()) == sorted([f"{old}-7", original.name, f"{now}-1"])
    assert dict(driver.head(bucket, "k").metadata) == {"v": "current"}


def test_stale_temporaries_are_removed_fresh_ones_kept(driver: SFTPDriver, bucket: str, sftp: SFTPServer) -> None:
    driver.put(bucket, "dir/k", b"x")
    stale, fresh = on_disk(sftp, bucket, "dir", ".trove-tmp-stale"), on_disk(sftp, bucket, "dir", ".trove-tmp-fresh")
    stale.write_bytes(b"left by a crashed writer")
    fresh.write_bytes(b"an upload in progress")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    assert driver.remove_stale_temporaries(bucket) == 1
    assert not stale.exists()
    assert fresh.exists()
    assert driver.get(bucket, "dir/k").read() == b"x"


def test_deleted_keys_leave_nothing_once_their_records_expire(
    driver: SFTPDriver, bucket: str, sftp: SFTPServer
) -> None:
    driver.put(bucket, "d1/d2/k", b"x")
    driver.delete(bucket, "d1/d2/k")
    assert list(driver.iter_list(bucket, delimiter="/")) == [], "no object and no prefix is left visible"
    (record,) = on_disk(sftp, bucket, "d1", "d2", ".trove-meta.k").iterdir()
    assert driver.remove_stale_temporaries(bucket) == 0, "a recent record is kept (see records.RETENTION)"
    record.rename(record.with_name(f"{int(time.time()) - RETENTION - 1}-1"))
    assert driver.remove_stale_temporaries(bucket) == 1
    assert tree(on_disk(sftp, bucket)) == [], "expired record, its directory and the empty prefixes are gone"


# ---- atomicity ----------------------------------------------------------------------------------


def _internal_files(sftp: SFTPServer, bucket: str) -> list[str]:
    return [name for name in tree(on_disk(sftp, bucket)) if Path(name).name.startswith(".trove-tmp-")]


def test_failed_body_leaves_no_temporary_file(driver: SFTPDriver, bucket: str, sftp: SFTPServer) -> None:
    driver.put(bucket, "a/k", b"previous")

    def broken() -> Iterator[bytes]:
        yield b"partial" * 10_000
        raise OSError("the source failed mid-stream")

    with pytest.raises(OSError, match="mid-stream"):
        driver.put(bucket, "a/k", broken())
    with pytest.raises(ChecksumMismatch):
        driver.put(bucket, "a/k", b"other", checksum=Checksum("sha256", "0" * 64))
    assert _internal_files(sftp, bucket) == []
    assert on_disk(sftp, bucket, "a", "k").read_bytes() == b"previous"
    assert driver.get(bucket, "a/k").read() == b"previous"


def test_put_on_a_key_used_as_prefix_is_a_key_conflict(driver: SFTPDriver, bucket: str, sftp: SFTPServer) -> None:
    driver.put(bucket, "a/b", b"below")
    with pytest.raises(KeyConflict):
        driver.put(bucket, "a", b"above")
    assert _internal_files(sftp, bucket) == []
    assert [o.key for o in driver.iter_list(bucket)] == ["a/b"]  # type: ignore[union-attr]


def test_connection_lost_mid_put_keeps_the_previous_version(
    make_driver: Callable[..., SFTPDriver], fresh_sftp: SFTPServer
) -> None:
    driver = make_driver(fresh_sftp, retries="3", retry_base="0.01")
    driver.create_bucket("bkt")
    driver.put("bkt", "k", b"previous", metadata={"v": "1"})

    def body() -> Iterator[bytes]:
        yield payload(1 << 20, "first")
        fresh_sftp.kill_sessions()
        yield payload(1 << 20, "second")

    with pytest.raises(BackendUnavailable, match="connection broke while writing"):
        driver.put("bkt", "k", body())
    assert driver.get("bkt", "k").read() == b"previous"
    assert dict(driver.head("bkt", "k").metadata) == {"v": "1"}
    # The temporary file was removed over a new connection.
    assert _internal_files(fresh_sftp, "bkt") == []


# ---- dropped connections and restarts --------------------------------------------------------------


def test_dropped_connections_between_operations_reconnect(
    make_driver: Callable[..., SFTPDriver], fresh_sftp: SFTPServer
) -> None:
    driver = make_driver(fresh_sftp)
    driver.create_bucket("bkt")
    driver.put("bkt", "k", b"v1")
    opened = driver._pool.opened
    assert fresh_sftp.kill_sessions() >= 1
    assert driver.get("bkt", "k").read() == b"v1"
    driver.put("bkt", "k", b"v2")
    assert [o.key for o in driver.iter_list("bkt")] == ["k"]  # type: ignore[union-attr]
    assert driver._pool.opened > opened


@pytest.mark.parametrize("operation", ["head", "get", "list", "delete", "put-commit", "create_bucket"])
def test_connection_dropped_during_an_operation_is_retried(
    make_driver: Callable[..., SFTPDriver], fresh_sftp: SFTPServer, monkeypatch: pytest.MonkeyPatch, operation: str
) -> None:
    """The session is killed right before the operation's first ``lstat`` reaches the server, so
    the request fails on a dead connection and the retry policy replays it on a new one."""
    driver = make_driver(fresh_sftp, retries="3", retry_base="0.01")
    driver.create_bucket("bkt")
    driver.put("bkt", "k", b"data", metadata={"m": "1"})
    kills: list[int] = []
    real_lstat = ExtendedSFTPClient.lstat
    real_utime = ExtendedSFTPClient.utime

    def drop_once(self: ExtendedSFTPClient, path: str) -> paramiko.SFTPAttributes:
        if not kills:
            kills.append(fresh_sftp.kill_sessions())
        return real_lstat(self, path)

    def drop_before_stamping(self: ExtendedSFTPClient, path: str, times: tuple[float, float] | None) -> None:
        if not kills:
            kills.append(fresh_sftp.kill_sessions())
        real_utime(self, path, times)

    if operation == "put-commit":
        monkeypatch.setattr(ExtendedSFTPClient, "utime", drop_before_stamping)
    else:
        monkeypatch.setattr(ExtendedSFTPClient, "lstat", drop_once)
    opened = driver._pool.opened
    if operation == "head":
        assert dict(driver.head("bkt", "k").metadata) == {"m": "1"}
    elif operation == "get":
        with driver.get("bkt", "k") as reader:
            assert reader.read() == b"data"
    elif operation == "list":
        assert [o.key for o in driver.list("bkt").objects] == ["k"]
    elif operation == "delete":
        driver.delete("bkt", "k")
        assert not driver.exists("bkt", "k")
    elif operation == "put-commit":
        driver.put("bkt", "k", b"new data", metadata={"m": "2"})
        assert (driver.get("bkt", "k").read(), dict(driver.head("bkt", "k").metadata)) == (b"new data", {"m": "2"})
        assert _internal_files(fresh_sftp, "bkt") == []
    else:
        driver.create_bucket("second")
        assert driver.bucket_exists("second")
    assert kills, "the session was never dropped"
    assert kills[0] >= 1, "no session to drop"
    assert driver._pool.opened > opened, "no new connection was opened: nothing was retried"


def test_server_restart_between_operations(make_driver: Callable[..., SFTPDriver], fresh_sftp: SFTPServer) -> None:
    driver = make_driver(fresh_sftp, retries="5", retry_base="0.05")
    driver.create_bucket("bkt")
    driver.put("bkt", "k", b"before")
    fresh_sftp.stop()
    fresh_sftp.start()
    assert driver.get("bkt", "k").read() == b"before"
    driver.put("bkt", "k", b"after")
    assert driver.get("bkt", "k").read() == b"after"


def test_server_down_is_backend_unavailable_after_bounded_retries(
    make_driver: Callable[..., SFTPDriver], fresh_sftp: SFTPServer
) -> None:
    driver = make_driver(fresh_sftp, retries="3", retry_base="0.01", retry_max="0.02")
    driver.create_bucket("bkt")
    fresh_sftp.stop()
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="after 3 attempts") as caught:
        driver.head("bkt", "k")
    assert time.monotonic() - started < 10
    assert f"127.0.0.1:{fresh_sftp.port}" in str(caught.value)


def test_connection_lost_while_reading_resumes_the_same_version(
    make_driver: Callable[..., SFTPDriver], fresh_sftp: SFTPServer
) -> None:
    driver = make_driver(fresh_sftp, retries="3", retry_base="0.01")
    driver.create_bucket("bkt")
    data = payload(8 << 20, "read")
    driver.put("bkt", "k", data)
    with driver.get("bkt", "k", offset=100) as reader:
        first = reader.read(1000)
        fresh_sftp.kill_sessions()
        rest = reader.read()
    assert first + rest == data[100:], "the read resumed on a new connection at the right byte"
    assert driver.get("bkt", "k").read() == data


def test_connection_lost_while_reading_a_replaced_object_fails(
    make_driver: Callable[..., SFTPDriver], fresh_sftp: SFTPServer
) -> None:
    driver = make_driver(fresh_sftp, retries="3", retry_base="0.01")
    driver.create_bucket("bkt")
    old, new = payload(8 << 20, "old"), payload(8 << 20, "new")
    driver.put("bkt", "k", old)
    with driver.get("bkt", "k") as reader:
        assert reader.read(1000) == old[:1000]
        driver.put("bkt", "k", new)  # same size: only the stamp tells the versions apart
        fresh_sftp.kill_sessions()
        with pytest.raises(BackendUnavailable, match="replaced or deleted since it was opened"):
            reader.read()
    assert driver.get("bkt", "k").read() == new


# ---- server-side copy ---------------------------------------------------------------------------


def test_server_copy_claimed_when_the_server_offers_copy_data(driver: SFTPDriver) -> None:
    assert "copy-data" in driver.server_extensions  # OpenSSH >= 9.0; Debian 12 ships 9.2
    assert isinstance(driver, SFTPServerCopyDriver)
    assert capabilities_of(driver) == ["range", "server_copy"]


def test_server_copy_moves_no_bytes_through_the_client(
    driver: SFTPDriver, bucket: str, sftp: SFTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = payload(20 << 20, "copy")
    driver.put(bucket, "src", data, metadata={"m": "1"}, checksum="blake3")
    moved: list[int] = []
    real_read, real_write = ExtendedSFTPClient.send_read, ExtendedSFTPClient.send_write

    def counted_read(self: ExtendedSFTPClient, sink: ReplySink, handle: bytes, offset: int, length: int) -> int:
        moved.append(length)
        return real_read(self, sink, handle, offset, length)

    def counted_write(self: ExtendedSFTPClient, sink: ReplySink, handle: bytes, offset: int, data: bytes) -> int:
        moved.append(len(data))
        return real_write(self, sink, handle, offset, data)

    monkeypatch.setattr(ExtendedSFTPClient, "send_read", counted_read)
    monkeypatch.setattr(ExtendedSFTPClient, "send_write", counted_write)
    info = driver.copy(bucket, "src", bucket, "dst/copy")
    assert sum(moved) == 0, f"{sum(moved)} bytes went through the client"
    assert on_disk(sftp, bucket, "dst", "copy").read_bytes() == data
    head = driver.head(bucket, "dst/copy")
    assert (head.etag, head.checksum, dict(head.metadata)) == (info.etag, digest("blake3", data), {"m": "1"})


def test_without_copy_data_server_copy_is_not_claimed(sftp: SFTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """sshd cannot be told to stop announcing copy-data, so the announcement is filtered on the
    client: a real server that (as far as the driver knows) lacks the extension."""
    real = ExtendedSFTPClient._send_version

    def without_copy_data(self: ExtendedSFTPClient) -> int:
        version = real(self)
        self.extensions.pop("copy-data", None)
        return version

    monkeypatch.setattr(ExtendedSFTPClient, "_send_version", without_copy_data)
    with open_driver(sftp.dsn()) as driver:
        assert not isinstance(driver, ServerCopyDriver)
        assert capabilities_of(driver) == ["range"]
        driver.create_bucket("nocopy")
        try:
            driver.put("nocopy", "src", b"streamed", metadata={"m": "1"})
            driver.copy("nocopy", "src", "nocopy", "dst")  # Driver.copy streams instead
            assert driver.get("nocopy", "dst").read() == b"streamed"
            assert dict(driver.head("nocopy", "dst").metadata) == {"m": "1"}
        finally:
            driver.delete_bucket("nocopy", force=True)
    with pytest.raises(UnsupportedCapability, match="copy-data"):
        SFTPServerCopyDriver(SFTPSettings.from_dsn(parse_dsn(sftp.dsn())))


# ---- range reads, durability ---------------------------------------------------------------------


def test_range_reads_fetch_only_the_range(driver: SFTPDriver, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = payload(4 << 20, "range")
    driver.put(bucket, "k", data)
    requested: list[tuple[int, int]] = []
    real = ExtendedSFTPClient.send_read

    def recorded(self: ExtendedSFTPClient, sink: ReplySink, handle: bytes, offset: int, length: int) -> int:
        requested.append((offset, length))
        return real(self, sink, handle, offset, length)

    monkeypatch.setattr(ExtendedSFTPClient, "send_read", recorded)
    assert isinstance(driver, RangeDriver)
    with driver.get_range(bucket, "k", 3_000_000, 1000) as reader:
        assert reader.read() == data[3_000_000:3_001_000]
    assert requested == [(3_000_000, 1000)]


@pytest.mark.parametrize("durable", [True, False])
def test_durable_puts_fsync_on_the_server(
    make_driver: Callable[..., SFTPDriver], monkeypatch: pytest.MonkeyPatch, durable: bool
) -> None:
    driver = make_driver(durable=str(durable).lower())
    synced: list[bytes] = []
    real = ExtendedSFTPClient.fsync

    def recorded(self: ExtendedSFTPClient, handle: bytes) -> None:
        synced.append(handle)
        real(self, handle)

    monkeypatch.setattr(ExtendedSFTPClient, "fsync", recorded)
    factory = BucketFactory(driver)
    try:
        driver.put(factory(), "k", b"x")
    finally:
        factory.cleanup()
    assert len(synced) == (2 if durable else 0)  # the data file and its record


# ---- the connection pool --------------------------------------------------------------------------


def test_pool_is_bounded_and_says_so(make_driver: Callable[..., SFTPDriver], sftp: SFTPServer) -> None:
    driver = make_driver(connections="1", timeout="1")
    factory = BucketFactory(driver)
    bucket = factory()
    try:
        driver.put(bucket, "k", b"x")
        with driver.get(bucket, "k") as reader:  # holds the only connection
            with pytest.raises(BackendUnavailable, match="all 1 connections stayed busy"):
                driver.head(bucket, "k")
            assert reader.read() == b"x"
        assert driver.head(bucket, "k").size == 1
        assert driver._pool.open_connections == 1
    finally:
        factory.cleanup()


def test_close_closes_every_connection_and_thread(make_driver: Callable[..., SFTPDriver], sftp: SFTPServer) -> None:
    before = {t for t in threading.enumerate() if isinstance(t, paramiko.Transport)}
    driver = open_driver(sftp.dsn(connections="3"))
    factory = BucketFactory(driver)
    bucket = factory()
    driver.put(bucket, "k", b"x")
    readers = [driver.get(bucket, "k") for _ in range(2)]  # two connections leased, left open
    driver.head(bucket, "k")
    assert len({t for t in threading.enumerate() if isinstance(t, paramiko.Transport)} - before) == 3
    factory.cleanup()
    driver.close()
    assert {t for t in threading.enumerate() if isinstance(t, paramiko.Transport)} - before == set()
    for reader in readers:
        with pytest.raises(BackendUnavailable):
            reader.read()
        reader.close()


def test_a_server_without_posix_rename_is_refused(sftp: SFTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without posix-rename an object could not be replaced atomically.  sshd always offers it,
    so its announcement is filtered on the client, as for copy-data above."""
    real = ExtendedSFTPClient._send_version

    def without_posix_rename(self: ExtendedSFTPClient) -> int:
        version = real(self)
        self.extensions.pop("posix-rename@openssh.com", None)
        return version

    monkeypatch.setattr(ExtendedSFTPClient, "_send_version", without_posix_rename)
    with pytest.raises(TroveError, match="posix-rename"):
        open_driver(sftp.dsn())


def test_listing_fetches_records_ahead(driver: SFTPDriver, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Records are read 64 at a time in three round trips, not one object at a time."""
    for i in range(100):
        driver.put(bucket, f"k{i:03d}", b"x" * i, metadata={"i": str(i)})
    batches: list[int] = []
    real = ExtendedSFTPClient.read_small_files

    def counted(self: ExtendedSFTPClient, paths: Sequence[str], limit: int) -> list[bytes | None]:
        batches.append(len(paths))
        return real(self, paths, limit)

    monkeypatch.setattr(ExtendedSFTPClient, "read_small_files", counted)
    monkeypatch.setattr(ExtendedSFTPClient, "read_small_file", None)  # one at a time would fail loudly
    listed = driver.list(bucket).objects
    assert [(o.key, o.size, dict(o.metadata)) for o in listed] == [(f"k{i:03d}", i, {"i": str(i)}) for i in range(100)]
    assert batches == [64, 36]


def test_unresolvable_host_is_backend_unavailable(sftp: SFTPServer) -> None:
    dsn = sftp.dsn().replace("127.0.0.1", "no-such-host.invalid")
    with pytest.raises(BackendUnavailable, match=re.escape("cannot connect to sftp://trove-sftp@no-such-host.invalid")):
        open_driver(dsn)
