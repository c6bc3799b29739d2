"""``trove migrate`` on embedded defaults (no broker: the steps run in this process), and the
planner's decisions.  Fast: local directories and in-memory stores only."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.migrate.harness import SMALL_SETTINGS, THRESHOLD, migrate, mixed_dataset, payload, put_all, read_all
from trove_dist.checksum import digest
from trove_dist.driver.base import PutOptions
from trove_dist.driver.body import MeteredChunks
from trove_dist.driver.dsn import DSN
from trove_dist.driver.models import ListPage, ObjectInfo
from trove_dist.driver.registry import register, unregister
from trove_dist.drivers.local import LocalDriver
from trove_dist.middleware.encrypt import Encrypt, EnvKeyProvider
from trove_dist.migrate.planner import compare
from trove_dist.migrate.spec import Endpoint, MigrationSpec
from trove_dist.trove import Trove

KEY = base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def env() -> dict[str, str]:
    return {"TROVE_ENCRYPTION_KEY": KEY}


def test_local_to_local_compressed_and_encrypted_reads_back(env: dict[str, str], tmp_path: Path) -> None:
    data = mixed_dataset("embedded")
    put_all(LocalDriver(tmp_path / "a"), "photos", data, root="2024/")
    args = [f"file://{tmp_path}/a#photos/2024", f"file://{tmp_path}/b#backup/photos", "--verify", "--json"]
    result = migrate(env, *args, "--transform", "encrypt", "--transform", "compress", *SMALL_SETTINGS)
    assert result.code == 0, result.stderr
    report = result.report
    assert report["transforms"] == ["compress", "encrypt"]  # applied in that order whatever the flags' order
    assert report["objects"]["verified"] == report["objects"]["copied"] == len(data)
    with Trove(f"file://{tmp_path}/b") as back:
        back.use(_encrypt())
        for key, body in data.items():
            with back.get("backup", "photos/" + key) as reader:
                assert reader.read() == body
    text = migrate(env, *args[:2], "--transform", "compress", "--transform", "encrypt", *SMALL_SETTINGS)
    assert text.code == 0, text.stderr
    assert "copied:  " in text.stdout
    assert "failed:  0 objects" in text.stdout


def _encrypt() -> Encrypt:
    """The migration's key-encryption key, for this process's own Trove."""
    os.environ["TROVE_ENCRYPTION_KEY"] = KEY
    try:
        return Encrypt(EnvKeyProvider("TROVE_ENCRYPTION_KEY"))
    finally:
        del os.environ["TROVE_ENCRYPTION_KEY"]


def test_an_encrypted_source_is_decoded_on_the_way(env: dict[str, str], tmp_path: Path) -> None:
    """Framed sources — large ones too — are read through the middleware, not copied as ranges."""
    data = {"small.txt": payload(3000, "s"), "large.bin": payload(THRESHOLD * 3, "l")}
    with Trove(f"file://{tmp_path}/a", chunk_size=64 * 1024) as source:
        source.use(_encrypt())
        source.create_bucket("vault")
        for key, body in data.items():
            source.put("vault", key, body)
    result = migrate(env, f"file://{tmp_path}/a#vault", f"file://{tmp_path}/b#plain", "--json", *SMALL_SETTINGS)
    assert result.code == 0, result.stderr
    assert {o["method"] for o in result.report["outcomes"]} == {"batch"}
    assert read_all(LocalDriver(tmp_path / "b"), "plain") == data


def test_one_backend_copies_server_side_and_filters_apply(tmp_path: Path) -> None:
    store = f"file://{tmp_path}/one"
    put_all(
        LocalDriver(tmp_path / "one"),
        "src",
        {"logs/a.log": b"a", "logs/b.txt": b"b", "logs/c/d.log": b"d", "x.log": b"x"},
    )
    result = migrate(
        {},
        f"{store}#src",
        f"{store}#dst",
        "--prefix",
        "logs/",
        "--include",
        "*.log",
        "--exclude",
        "logs/c/**",
        "--json",
    )
    assert result.code == 0, result.stderr
    outcomes = {o["key"]: o["method"] for o in result.report["outcomes"]}
    assert outcomes == {"logs/a.log": "server-copy"}
    assert read_all(LocalDriver(tmp_path / "one"), "dst") == {"logs/a.log": b"a"}


def test_the_plain_progress_line_and_a_failed_migration(tmp_path: Path) -> None:
    put_all(LocalDriver(tmp_path / "a"), "src", {f"k{i}": b"v" * i for i in range(5)})
    ok = migrate({}, f"file://{tmp_path}/a#src", f"file://{tmp_path}/b#dst", "--progress")
    assert ok.code == 0, ok.stderr
    assert "migrate: 5/5 objects, " in ok.stderr
    assert "0 failed" in ok.stderr
    missing = migrate({}, f"file://{tmp_path}/a#no-such-bucket", f"file://{tmp_path}/b#dst")
    assert missing.code == 1
    assert "(failed)" in missing.stdout
    assert "error: planning page 0: BucketNotFound" in missing.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--transform", "encrypt"], "needs the key-encryption key in TROVE_ENCRYPTION_KEY"),
        (["--transform", "gzip"], "unknown transform(s) gzip"),
        (["--dry-run", "--id", "x"], "cannot take --id"),
        (["--id", "bad id!"], "migration id 'bad id!'"),
        (["--include", ""], "empty glob pattern"),
        (["--chunk-size", "lots"], "--chunk-size 'lots'"),
        (["--chunk-size", "1M", "--stream-threshold", "4k"], "at least one chunk"),
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(args: list[str], message: str, tmp_path: Path) -> None:
    result = migrate({}, f"file://{tmp_path}/a#src", f"file://{tmp_path}/b#dst", *args)
    assert result.code == 2, result.stdout
    assert message in result.stderr
    assert not (tmp_path / "b").exists()


def test_a_folder_cannot_be_migrated_into_itself(tmp_path: Path) -> None:
    result = migrate({}, f"file://{tmp_path}/a#src/x", f"file://{tmp_path}/a#src/x/y")
    assert result.code == 2
    assert "overlap" in result.stderr


def _info(size: int, etag: str, checksum: bytes | None = None) -> ObjectInfo:
    return ObjectInfo(
        "b", "k", size, etag, datetime.now(UTC), checksum=digest("blake3", checksum) if checksum else None
    )


@pytest.mark.parametrize(
    ("source", "destination", "memory", "same_backend", "transforms", "expected"),
    [
        (_info(3, "e"), None, None, False, (), (True, "new")),
        (_info(3, "e"), _info(9, "d"), ("e", "d"), False, (), (False, "unchanged since it was last migrated")),
        (_info(3, "e"), _info(4, "d"), None, False, (), (True, "size differs")),
        (_info(3, "e", b"abc"), _info(3, "d", b"abc"), None, False, (), (False, "same checksum")),
        (_info(3, "e", b"abc"), _info(3, "d", b"xyz"), None, False, (), (True, "checksum differs")),
        (_info(3, "e", b"abc"), _info(99, "d", b"abc"), None, False, ("compress",), (False, "same checksum")),
        (_info(3, "e"), _info(3, "e"), None, True, (), (False, "same etag")),
        (_info(3, "e"), _info(3, "f"), None, True, (), (True, "etag differs")),
        (_info(3, "e"), _info(3, "e"), None, False, (), (True, "no checksum to compare")),
    ],
)
def test_compare_decides_from_listings_alone(
    source: ObjectInfo,
    destination: ObjectInfo | None,
    memory: tuple[str, str] | None,
    same_backend: bool,
    transforms: tuple[str, ...],
    expected: tuple[bool, str],
) -> None:
    spec = MigrationSpec(
        "m", Endpoint("mem://a", "s"), Endpoint("mem://a" if same_backend else "mem://b", "d"), transforms=transforms
    )
    decision = compare(source, destination, memory, spec)
    assert (decision.copy, decision.reason) == expected


class _Corrupting(LocalDriver):
    """Stores what it is given, then flips a byte of every ``*.bad`` object on disk — the kind
    of damage only reading the copy back can find."""

    schemes = ("corrupting",)

    @classmethod
    def from_dsn(cls, dsn: DSN) -> _Corrupting:
        return cls(dsn.path, durable=False)

    def _put(self, bucket: str, key: str, body: MeteredChunks, options: PutOptions) -> ObjectInfo:
        info = super()._put(bucket, key, body, options)
        if key.endswith(".bad"):
            with open(Path(self.root) / bucket / key, "r+b") as stored:
                first = stored.read(1)
                stored.seek(0)
                stored.write(bytes([first[0] ^ 0xFF]))
        return info


class _Crashing(LocalDriver):
    """Lists by raising an error no step expects (a bug, as far as the migration can tell)."""

    schemes = ("crashing",)

    @classmethod
    def from_dsn(cls, dsn: DSN) -> _Crashing:
        return cls(dsn.path, durable=False)

    def _list(self, *args: object, **kwargs: object) -> ListPage:
        raise RuntimeError("listing exploded")


def test_verify_reports_a_copy_that_does_not_read_back_as_its_source(tmp_path: Path) -> None:
    register("corrupting", _Corrupting)
    try:
        put_all(LocalDriver(tmp_path / "a"), "src", {"ok.txt": b"fine", "broken.bad": b"bytes that get damaged"})
        result = migrate({}, f"file://{tmp_path}/a#src", f"corrupting://{tmp_path}/b#dst", "--verify", "--json")
        unverified = migrate({}, f"file://{tmp_path}/a#src", f"corrupting://{tmp_path}/c#dst", "--json")
    finally:
        unregister("corrupting")
    assert result.code == 1
    report = result.report
    assert report["failures"] == [
        {"key": "broken.bad", "reason": "verification failed: the destination's blake3 differs from the source's"}
    ]
    assert (report["objects"]["copied"], report["objects"]["verified"]) == (1, 1)
    assert unverified.code == 0  # without --verify nothing reads the copy back


def test_a_step_that_crashes_ends_the_migration_with_its_reason(tmp_path: Path) -> None:
    register("crashing", _Crashing)
    try:
        result = migrate({}, f"crashing://{tmp_path}/a#src", f"file://{tmp_path}/b#dst")
    finally:
        unregister("crashing")
    assert result.code == 1
    assert "(failed)" in result.stdout
    assert "error: a step crashed: RuntimeError: listing exploded" in result.stdout
