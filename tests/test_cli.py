"""The ``trove`` command.

The session, the store selection, the progress bar and the failure modes that matter most run
``python -m trove_dist.cli`` as a real process, the way a user runs it; the many small cases
(each error path, awkward keys, flags) run in-process through typer's ``CliRunner`` with the
same helpers, which is ten times faster.  Every test gets its own store
(``TROVE_STORE=file://<tmp>/store``) and working directory.  Error tests check the whole
contract: the exit code, exactly one ``trove: error:`` line on stderr, no traceback, nothing on
stdout.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import subprocess
import sys
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from trove_dist.cli.addressing import split_store
from trove_dist.cli.app import app
from trove_dist.cli.output import human_size, print_entry
from trove_dist.cli.progress import PROGRESS_THRESHOLD, wants_progress
from trove_dist.cli.transfer import PARTIAL_SUFFIX
from trove_dist.driver.models import CommonPrefix, ListPage, ObjectInfo
from trove_dist.trove import Trove

OBJECT_FIELDS = {field.name for field in dataclasses.fields(ObjectInfo)}
#: Variables that would make rich draw colours or a live bar on a pipe.
_TERMINAL_HINTS = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES")


@dataclass(frozen=True)
class Run:
    code: int
    stdout: bytes
    stderr: str

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8")

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


@dataclass
class Cli:
    """Runs ``python -m trove_dist.cli`` in ``cwd`` with ``TROVE_STORE`` pointing at ``store``."""

    cwd: Path
    store: str | None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _TERMINAL_HINTS and k != "TROVE_STORE"}
        if self.store is not None:
            env["TROVE_STORE"] = self.store
        return env

    def __call__(self, *args: str, stdin: bytes = b"") -> Run:
        done = subprocess.run(
            [sys.executable, "-m", "trove_dist.cli", *args],
            cwd=self.cwd,
            env=self.env(),
            input=stdin,
            capture_output=True,
            timeout=60,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr.decode("utf-8"))

    def ok(self, *args: str, stdin: bytes = b"") -> Run:
        result = self(*args, stdin=stdin)
        assert result.code == 0, f"trove {' '.join(args)} exited {result.code}: {result.stderr}"
        assert "Traceback" not in result.stderr
        return result

    def fails(self, code: int, *args: str, message: str, stdin: bytes = b"") -> Run:
        result = self(*args, stdin=stdin)
        assert_one_error(result, code, message)
        return result


@dataclass
class InProcessCli(Cli):
    """The same commands through ``CliRunner`` (the test must run in ``cwd``: see the ``quick`` fixture)."""

    def __call__(self, *args: str, stdin: bytes = b"") -> Run:
        result = CliRunner().invoke(app, list(args), input=stdin, env={"TROVE_STORE": self.store})
        stderr = result.stderr
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            stderr += "".join(traceback.format_exception(result.exception))  # what the user would see
        return Run(result.exit_code, result.stdout_bytes, stderr)


def assert_one_error(result: Run, code: int, message: str) -> None:
    assert result.code == code, f"exit {result.code}, stderr: {result.stderr}"
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("trove: error: "), result.stderr
    assert message in result.stderr
    assert result.stdout == b""


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    work = tmp_path / "work"
    work.mkdir()
    return Cli(work, f"file://{tmp_path}/store")


@pytest.fixture
def quick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> InProcessCli:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return InProcessCli(work, f"file://{tmp_path}/store")


def with_photos(cli: Cli) -> Cli:
    """``cli``'s store with bucket ``photos`` holding ``a.txt`` ("hello world")."""
    cli.ok("buckets", "create", "photos")
    (cli.cwd / "a.txt").write_bytes(b"hello world")
    cli.ok("put", "a.txt", "photos/a.txt")
    return cli


@pytest.fixture
def photos(cli: Cli) -> Cli:
    return with_photos(cli)


@pytest.fixture
def quick_photos(quick: InProcessCli) -> Cli:
    return with_photos(quick)


def listed_keys(result: Run) -> list[str]:
    return [line.split("\t")[2] for line in result.lines]


def stray_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(PARTIAL_SUFFIX))


# ---- a whole session ---------------------------------------------------------------------------


def test_session_reads_like_a_log(cli: Cli, tmp_path: Path) -> None:
    src = cli.cwd / "src"
    src.mkdir()
    cat = b"\xff\xd8 not really a jpeg"
    (src / "cat.jpg").write_bytes(cat)
    notes = b"line one\nline two\n"

    assert cli.ok("buckets", "create", "photos").out == "created bucket photos\n"
    put = cli.ok("put", "src/cat.jpg", "photos/2024/cat.jpg", "--meta", "Author=ana", "--content-type", "image/x-test")
    assert put.out.startswith(f"put photos/2024/cat.jpg ({len(cat)} bytes, etag ")
    assert cli.ok("put", "-", "photos/notes.txt", stdin=notes).out.startswith("put photos/notes.txt (18 bytes, ")

    flat = cli.ok("ls", "photos").lines
    assert flat[0] == "\tPRE\t2024/"
    modified, size, key = flat[1].split("\t")
    assert (size, key) == ("18", "notes.txt")
    assert modified.endswith("Z")
    assert listed_keys(cli.ok("ls", "-r", "photos")) == ["2024/cat.jpg", "notes.txt"]
    assert listed_keys(cli.ok("ls", "photos/2024/")) == ["2024/cat.jpg"]
    records = json.loads(cli.ok("ls", "--json", "-r", "photos").out)
    assert [r["key"] for r in records] == ["2024/cat.jpg", "notes.txt"]
    assert set(records[0]) == OBJECT_FIELDS

    stat = cli.ok("stat", "photos/2024/cat.jpg").out
    for expected in ("key:", "2024/cat.jpg", "content_type:", "image/x-test", '{"author": "ana"}', "blake3:"):
        assert expected in stat
    info = json.loads(cli.ok("stat", "--json", "photos/2024/cat.jpg").out)
    assert set(info) == OBJECT_FIELDS
    assert (info["size"], info["metadata"], info["content_type"]) == (len(cat), {"author": "ana"}, "image/x-test")
    assert info["checksum"].startswith("blake3:")

    got = cli.ok("get", "photos/2024/cat.jpg")
    assert got.out == f"got photos/2024/cat.jpg -> cat.jpg ({len(cat)} bytes)\n"
    assert (cli.cwd / "cat.jpg").read_bytes() == cat
    assert cli.ok("get", "photos/notes.txt", "-").stdout == notes
    assert cli.ok("get", "photos/notes.txt", "-", "--offset", "5", "--length", "3").stdout == notes[5:8]
    assert "blake3 checksum verified" in cli.ok("get", "--verify", "photos/notes.txt", "n.txt").out

    copied = cli.ok("cp", "photos/2024/cat.jpg", "photos/copy.jpg").out
    assert copied.startswith(f"copied photos/2024/cat.jpg -> photos/copy.jpg ({len(cat)} bytes, etag ")
    other = f"file://{tmp_path}/other"
    assert cli.ok("buckets", "create", f"{other}#backup").out == f"created bucket {other}#backup\n"
    assert cli.ok("cp", "photos/2024/cat.jpg", f"{other}#backup/").out.startswith(
        f"copied photos/2024/cat.jpg -> {other}#backup/cat.jpg ("
    )
    assert cli.ok("get", f"{other}#backup/cat.jpg", "-").stdout == cat
    copy_info = json.loads(cli.ok("--store", other, "stat", "--json", "backup/cat.jpg").out)
    assert (copy_info["metadata"], copy_info["content_type"]) == ({"author": "ana"}, "image/x-test")

    assert cli.ok("rm", "photos/copy.jpg").out == "deleted photos/copy.jpg\n"
    cli.ok("put", "src/cat.jpg", "photos/2024/deep/er.jpg")
    assert cli.ok("rm", "-r", "photos/2024").lines == ["deleted photos/2024/cat.jpg", "deleted photos/2024/deep/er.jpg"]
    assert listed_keys(cli.ok("ls", "-r", "photos")) == ["notes.txt"]
    assert cli.ok("buckets", "delete", "--force", "photos").out == "deleted bucket photos\n"
    assert cli.ok("buckets", "list").out == ""
    assert cli.ok("ls").out == ""


def test_awkward_keys_round_trip(quick_photos: Cli, tmp_path: Path) -> None:
    keys = ["dir with space/naïve café.txt", "tag#1/a#b", "日本/データ #2.bin", "brackets [x]/{y}.txt"]
    for n, key in enumerate(keys):
        body = f"body {n}".encode()
        assert quick_photos.ok("put", "-", f"photos/{key}", stdin=body).out.startswith(f"put photos/{key} (")
        assert quick_photos.ok("get", f"photos/{key}", "-").stdout == body
        assert json.loads(quick_photos.ok("stat", "--json", f"photos/{key}").out)["key"] == key
    assert sorted(listed_keys(quick_photos.ok("ls", "-r", "photos"))) == sorted([*keys, "a.txt"])

    other = f"file://{tmp_path}/other"
    quick_photos.ok("buckets", "create", f"{other}#hash-keys")
    # Everything after the first '#' following the DSN is bucket and key, '#' included.
    quick_photos.ok("cp", "photos/tag#1/a#b", f"{other}#hash-keys/x#y #z")
    assert quick_photos.ok("get", f"{other}#hash-keys/x#y #z", "-").stdout == b"body 1"

    quick_photos.ok("get", "photos/日本/データ #2.bin")
    assert (quick_photos.cwd / "データ #2.bin").read_bytes() == b"body 2"
    removed = quick_photos.ok("rm", "photos/dir with space/naïve café.txt").out
    assert removed == "deleted photos/dir with space/naïve café.txt\n"


def test_put_into_a_folder_and_get_into_a_directory(quick_photos: Cli) -> None:
    assert quick_photos.ok("put", "a.txt", "photos/docs/").out.startswith("put photos/docs/a.txt (")
    assert quick_photos.ok("put", "a.txt", "photos").out.startswith("put photos/a.txt (")
    (quick_photos.cwd / "downloads").mkdir()
    quick_photos.ok("get", "photos/docs/a.txt", "downloads")
    assert (quick_photos.cwd / "downloads" / "a.txt").read_bytes() == b"hello world"


def test_rm_r_takes_the_object_and_the_folder_of_that_name(quick: InProcessCli) -> None:
    # A memory store, because a filesystem cannot hold both "a.txt" and "a.txt/inside".
    mem = InProcessCli(quick.cwd, f"mem://cli-{secrets.token_hex(4)}")
    mem.ok("buckets", "create", "photos")
    for key in ("a.txt", "a.txt/inside", "a.txt-sibling"):
        mem.ok("put", "-", f"photos/{key}", stdin=b"x")
    assert mem.ok("rm", "-r", "photos/a.txt").lines == ["deleted photos/a.txt", "deleted photos/a.txt/inside"]
    assert listed_keys(mem.ok("ls", "-r", "photos")) == ["a.txt-sibling"]


def test_verify_warns_when_there_is_no_checksum(quick_photos: Cli, tmp_path: Path) -> None:
    (tmp_path / "store" / "photos" / "dropped-in.txt").write_bytes(b"put here by another tool")
    result = quick_photos.ok("get", "--verify", "photos/dropped-in.txt", "-")
    assert result.stdout == b"put here by another tool"
    assert result.stderr == "trove: warning: photos/dropped-in.txt has no stored checksum: nothing to verify\n"


def test_a_directory_in_the_way_of_a_download_is_named(quick_photos: Cli) -> None:
    (quick_photos.cwd / "out" / "a.txt").mkdir(parents=True)
    quick_photos.fails(1, "get", "photos/a.txt", "out", message="out/a.txt: Is a directory")
    (quick_photos.cwd / "a.txt").unlink()
    (quick_photos.cwd / "a.txt").mkdir()
    quick_photos.fails(1, "get", "photos/a.txt", message="trove: error: a.txt: Is a directory")
    assert stray_files(quick_photos.cwd) == stray_files(quick_photos.cwd / "out") == []


def test_conditional_puts(quick_photos: Cli) -> None:
    etag = json.loads(quick_photos.ok("stat", "--json", "photos/a.txt").out)["etag"]
    quick_photos.ok("put", "a.txt", "photos/fresh.txt", "--if-none-match")
    quick_photos.ok("put", "-", "photos/a.txt", "--if-match", etag, stdin=b"v2")
    assert quick_photos.ok("get", "photos/a.txt", "-").stdout == b"v2"


def test_ls_limit_and_buckets_json(quick_photos: Cli) -> None:
    for n in range(5):
        quick_photos.ok("put", "a.txt", f"photos/many/{n}.txt")
    assert len(quick_photos.ok("ls", "-r", "--limit", "2", "photos/many/").lines) == 2
    assert json.loads(quick_photos.ok("ls", "--json", "--limit", "1", "photos/many/").out) == [
        json.loads(quick_photos.ok("stat", "--json", "photos/many/0.txt").out)
    ]
    assert json.loads(quick_photos.ok("ls", "--json", "photos/nothing-here/").out) == []
    assert [b["name"] for b in json.loads(quick_photos.ok("buckets", "list", "--json").out)] == ["photos"]
    assert quick_photos.ok("buckets").out.endswith("\tphotos\n")


# ---- stores --------------------------------------------------------------------------------------


def test_store_flag_overrides_the_environment(quick: InProcessCli, tmp_path: Path) -> None:
    flagged = f"file://{tmp_path}/flagged"
    quick.ok("--store", flagged, "buckets", "create", "only-here")
    quick.ok("-s", flagged, "put", "-", "only-here/k", stdin=b"x")
    assert quick.ok("buckets", "list").out == ""  # $TROVE_STORE's store has no buckets
    assert quick.ok("-s", flagged, "buckets", "list").out.endswith("\tonly-here\n")
    assert (tmp_path / "flagged" / "only-here").is_dir()


def test_default_store_is_a_directory_in_the_working_directory(tmp_path: Path) -> None:
    cli = Cli(tmp_path, store=None)
    cli.ok("buckets", "create", "local")
    assert (tmp_path / "trove-data" / "local").is_dir()


def test_copy_into_a_memory_store(quick: InProcessCli) -> None:
    """``mem://`` stores live as long as their process, so this one runs in-process."""
    mem = f"mem://cli-{secrets.token_hex(4)}"
    quick.ok("buckets", "create", "src")
    quick.ok("buckets", "create", f"{mem}#dst")
    quick.ok("put", "-", "src/k#1", stdin=b"payload")
    copied = quick.ok("cp", "src/k#1", f"{mem}#dst/k#2").out
    assert copied.startswith(f"copied src/k#1 -> {mem}#dst/k#2 (7 bytes, etag ")
    assert quick.ok("get", f"{mem}#dst/k#2", "-").stdout == b"payload"
    assert listed_keys(quick.ok("ls", "-r", f"{mem}#dst")) == ["k#2"]


def test_ls_pages_through_the_listing_lazily(quick: InProcessCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("trove_dist.cli.app.PAGE_SIZE", 2)
    quick.ok("buckets", "create", "paged")
    for n in range(7):
        quick.ok("put", "-", f"paged/k{n}", stdin=b"x")
    pages: list[str | None] = []
    list_page = Trove.list

    def counting_list(self: Trove, *args: Any, **kwargs: Any) -> ListPage:
        pages.append(kwargs.get("cursor"))
        return list_page(self, *args, **kwargs)

    monkeypatch.setattr(Trove, "list", counting_list)
    assert listed_keys(quick.ok("ls", "-r", "paged")) == [f"k{n}" for n in range(7)]
    assert len(pages) == 4  # pages of 2, 2, 2 and 1
    pages.clear()
    assert listed_keys(quick.ok("ls", "-r", "--limit", "3", "paged")) == ["k0", "k1", "k2"]
    assert len(pages) == 2  # stopped as soon as it had 3 entries
    assert quick.ok("rm", "-r", "paged").out.count("deleted") == 7


# ---- addresses -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "store", "rest"),
    [
        ("photos/cat.jpg", None, "photos/cat.jpg"),
        ("photos/a#b", None, "photos/a#b"),
        ("file:///tmp/a#photos/cat.jpg", "file:///tmp/a", "photos/cat.jpg"),
        ("mem://x#b/k#1 #2", "mem://x", "b/k#1 #2"),
        ("s3://?endpoint=http://h:9000#b/k", "s3://?endpoint=http://h:9000", "b/k"),
        ("mem://x#", "mem://x", ""),
    ],
)
def test_inline_store_splits_at_the_first_hash_after_the_scheme(text: str, store: str | None, rest: str) -> None:
    assert split_store(text) == (store, rest)


@pytest.mark.parametrize(
    ("choice", "size", "terminal", "shown"),
    [
        (None, PROGRESS_THRESHOLD + 1, True, True),
        (None, PROGRESS_THRESHOLD, True, False),
        (None, None, True, False),
        (None, PROGRESS_THRESHOLD + 1, False, False),
        (True, 1, False, True),
        (True, None, False, True),
        (False, 10 * PROGRESS_THRESHOLD, True, False),
    ],
)
def test_when_a_progress_bar_is_shown(choice: bool | None, size: int | None, terminal: bool, shown: bool) -> None:
    assert wants_progress(choice, size, terminal) is shown


@pytest.mark.parametrize(
    ("size", "shown"),
    [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (20 * 1024**2, "20.0 MiB"), (3 * 1024**5, "3.0 PiB")],
)
def test_human_sizes(size: int, shown: str) -> None:
    assert human_size(size) == shown


def test_terminal_listing_prints_keys_verbatim(capsys: pytest.CaptureFixture[str]) -> None:
    """Keys are data: rich must not read "[bold]" in a key as markup."""
    moment = datetime(2024, 5, 1, 12, 34, 56, tzinfo=UTC)
    print_entry(ObjectInfo("b", "odd [bold]key[/bold] :smile:", 2048, "e", moment), styled=True)
    print_entry(CommonPrefix("folder [x]/"), styled=True)
    first, second = capsys.readouterr().out.splitlines()
    assert first.split() == ["2024-05-01T12:34:56Z", "2.0", "KiB", "odd", "[bold]key[/bold]", ":smile:"]
    assert second.split() == ["PRE", "folder", "[x]/"]


# ---- errors --------------------------------------------------------------------------------------


@pytest.fixture
def populated(quick: InProcessCli) -> Cli:
    quick.ok("buckets", "create", "photos")
    quick.ok("put", "-", "photos/a.txt", stdin=b"hello world")
    quick.ok("put", "-", "photos/b/c.txt", stdin=b"c")
    (quick.cwd / "a-dir").mkdir()
    return quick


ERROR_CASES = [
    # bad input: 2
    (2, ["get", "photos/../../etc/passwd"], "invalid key '../../etc/passwd'"),
    (2, ["put", "-", "b/../../etc/passwd"], "invalid key '../../etc/passwd'"),
    (2, ["rm", "photos/a/./b"], "invalid key"),
    (2, ["stat", "Bad_Bucket/k"], "invalid bucket name 'Bad_Bucket'"),
    (2, ["stat", "photos"], "names a bucket but no object"),
    (2, ["--store", "no-scheme", "ls"], "DSN must start with a scheme"),
    (2, ["--store", "bogus://x", "ls"], "no driver for scheme 'bogus'"),
    (2, ["get", "file:///tmp/x/photos/a.txt"], "names a store but no bucket"),
    (2, ["get", "photos/a.txt", "-", "--offset", "100"], "range starts at byte 100"),
    (2, ["get", "photos/a.txt", "--verify", "--length", "2"], "--verify checks the whole object"),
    (2, ["put", "-", "photos/x", "--meta", "novalue"], "--meta 'novalue': write NAME=VALUE"),
    (2, ["put", "-", "photos/x", "--meta", "bad name=v"], "invalid metadata name"),
    (2, ["put", "-", "photos/x", "--if-match", "e", "--if-none-match"], "contradict"),
    (2, ["get", "photos//"], "no file name"),
    # not found: 3
    (3, ["get", "photos/missing.txt"], "object not found: photos/missing.txt"),
    (3, ["get", "nobucket/a.txt", "-"], "bucket not found: nobucket"),
    (3, ["ls", "nobucket"], "bucket not found: nobucket"),
    (3, ["stat", "photos/missing.txt"], "object not found: photos/missing.txt"),
    (3, ["rm", "photos/missing.txt"], "object not found: photos/missing.txt"),
    (3, ["rm", "-r", "photos/nothing"], "nothing to delete at photos/nothing"),
    (3, ["cp", "photos/missing.txt", "photos/x"], "object not found: photos/missing.txt"),
    (3, ["put", "missing.txt", "photos/x"], "missing.txt: No such file or directory"),
    (3, ["get", "photos/a.txt", "no/such/dir/a.txt"], "no/such/dir/a.txt: No such file or directory"),
    (3, ["buckets", "delete", "nobucket"], "bucket not found: nobucket"),
    # precondition or conflict: 4
    (4, ["put", "-", "photos/a.txt", "--if-none-match"], "already exists"),
    (4, ["put", "-", "photos/a.txt", "--if-match", "not-the-etag"], "does not have etag not-the-etag"),
    (4, ["buckets", "create", "photos"], "bucket already exists: photos"),
    (4, ["buckets", "delete", "photos"], "bucket not empty: photos (delete its objects first, or use --force)"),
    # other: 1
    (1, ["put", "a-dir", "photos/x"], "a-dir: Is a directory"),
]


@pytest.mark.parametrize(("code", "args", "message"), ERROR_CASES, ids=[" ".join(c[1]) for c in ERROR_CASES])
def test_errors_are_one_line_with_a_distinct_exit_code(
    populated: Cli, code: int, args: list[str], message: str
) -> None:
    populated.fails(code, *args, message=message)
    assert stray_files(populated.cwd) == []


def test_errors_in_a_real_process(photos: Cli) -> None:
    """One of each exit code, as a user's shell sees them."""
    photos.fails(2, "get", "photos/../../etc/passwd", message="invalid key '../../etc/passwd'")
    photos.fails(3, "stat", "photos/missing.txt", message="object not found: photos/missing.txt")
    photos.fails(4, "put", "a.txt", "photos/a.txt", "--if-none-match", message="already exists")
    photos.fails(1, "put", ".", "photos/x", message=".: Is a directory")


def test_usage_errors_exit_2(cli: Cli) -> None:
    result = cli("get")
    assert result.code == 2
    assert "Traceback" not in result.stderr
    assert cli("ls", "--limit", "0", "photos").code == 2


def test_a_traversal_key_touches_nothing(tmp_path: Path) -> None:
    cli = Cli(tmp_path, f"file://{tmp_path}/never-created")
    (tmp_path / "payload").write_bytes(b"x")
    cli.fails(2, "put", "payload", "b/../../etc/passwd", message="invalid key")
    cli.fails(2, "get", "photos/../../../payload", "-", message="invalid key")
    cli.fails(2, "cp", "photos/a", "photos/../../x", message="invalid key")
    assert not (tmp_path / "never-created").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["payload"]


def test_a_failed_download_leaves_no_file(quick_photos: Cli, tmp_path: Path) -> None:
    quick_photos.fails(3, "get", "photos/missing.txt", "out.txt", message="object not found")
    assert not (quick_photos.cwd / "out.txt").exists()

    # Corrupt the stored bytes (same size, so the failure comes at the end of the stream).
    stored = tmp_path / "store" / "photos" / "a.txt"
    with open(stored, "r+b") as file:
        file.write(b"J")
    (quick_photos.cwd / "keep.txt").write_bytes(b"the previous contents")
    quick_photos.fails(1, "get", "--verify", "photos/a.txt", "keep.txt", message="checksum mismatch for photos/a.txt")
    assert (quick_photos.cwd / "keep.txt").read_bytes() == b"the previous contents"
    quick_photos.fails(1, "get", "--verify", "photos/a.txt", "fresh.txt", message="checksum mismatch")
    assert not (quick_photos.cwd / "fresh.txt").exists()
    assert stray_files(quick_photos.cwd) == []
    # Between stores the source is always verified: nothing is written at the target.
    quick_photos.ok("buckets", "create", f"file://{tmp_path}/other#backup")
    quick_photos.fails(1, "cp", "photos/a.txt", f"file://{tmp_path}/other#backup/a.txt", message="checksum mismatch")
    assert quick_photos.ok("ls", f"file://{tmp_path}/other#backup").out == ""


def test_a_closed_pipe_ends_get_quietly(photos: Cli) -> None:
    photos.ok("put", "-", "photos/big.bin", stdin=os.urandom(4 * 1024 * 1024))
    with subprocess.Popen(
        [sys.executable, "-m", "trove_dist.cli", "get", "photos/big.bin", "-"],
        cwd=photos.cwd,
        env=photos.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        assert len(process.stdout.read(10)) == 10
        process.stdout.close()
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=30) == 1
    assert "Traceback" not in stderr


# ---- progress ------------------------------------------------------------------------------------


def test_progress_goes_to_stderr_and_stdout_stays_clean(photos: Cli, tmp_path: Path) -> None:
    big = os.urandom(20 * 1024 * 1024)
    (photos.cwd / "big.bin").write_bytes(big)

    put = photos.ok("put", "--progress", "big.bin", "photos/big.bin")
    assert put.lines == [put.out.strip()]
    assert put.out.startswith("put photos/big.bin (20,971,520 bytes, etag ")
    assert "put photos/big.bin" in put.stderr
    assert "20.0/20.0 MiB" in put.stderr

    got = photos.ok("get", "--progress", "photos/big.bin", "-")
    assert got.stdout == big
    assert "get photos/big.bin" in got.stderr
    assert "20.0/20.0 MiB" in got.stderr

    other = f"file://{tmp_path}/other"
    photos.ok("buckets", "create", f"{other}#backup")
    copied = photos.ok("cp", "--progress", "photos/big.bin", f"{other}#backup/big.bin")
    assert copied.out.startswith(f"copied photos/big.bin -> {other}#backup/big.bin (20,971,520 bytes")
    assert "cp photos/big.bin" in copied.stderr
    assert "20.0/20.0 MiB" in copied.stderr

    piped = photos.ok("put", "--progress", "-", "photos/piped.bin", stdin=big[: 1024 * 1024])
    assert "1.0/? MiB" in piped.stderr  # the size of stdin is unknown until it ends

    # Not a terminal: no bar unless asked for, whatever the size; and never when refused.
    assert photos.ok("get", "photos/big.bin", "copy.bin").stderr == ""
    assert photos.ok("get", "--no-progress", "photos/big.bin", "-").stderr == ""
    assert (photos.cwd / "copy.bin").read_bytes() == big


def test_the_console_script_runs(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("trove")
    if not script.exists():
        pytest.skip("the package is not installed with its console script in this environment")
    done = subprocess.run([script, "--help"], capture_output=True, check=False, timeout=60, cwd=tmp_path)
    assert done.returncode == 0
    assert b"DSN#BUCKET/KEY" in done.stdout


def test_every_command_has_help(quick: InProcessCli) -> None:
    for command in ([], ["put"], ["get"], ["ls"], ["rm"], ["cp"], ["stat"], ["buckets"], ["buckets", "delete"]):
        assert "Usage" in quick.ok(*command, "--help").out
