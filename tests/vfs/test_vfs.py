"""The VFS on every backend: looking (stat, read_dir, walk, find), directories, removing,
renaming and metadata.  Reading and writing files are in ``test_vfs_files.py``."""

from __future__ import annotations

import pickle
import time

import pytest

from tests.vfs.storage_wrappers import FailingCopies, SlowListings
from trove_dist.errors import AlreadyExists, BackendUnavailable, InvalidKey, NotFound, TroveError
from trove_dist.vfs import (
    VFS,
    DirectoryNotEmpty,
    InvalidMove,
    IsADirectory,
    NotADirectory,
    PathExists,
    PathNotFound,
)
from trove_dist.vfs.parallel import for_each


def _fill(vfs: VFS, paths: list[str], data: bytes = b"x") -> None:
    """Many files at once: the remote backends take a round trip per file."""
    for_each(lambda path: vfs.write_bytes(path, data), paths, workers=8)


# ---- looking ----------------------------------------------------------------------------------


def test_stat_finds_the_file_first_then_the_directory(vfs: VFS) -> None:
    vfs.write_bytes("docs/readme.md", b"# hi")
    vfs.mkdir("empty")

    file = vfs.stat("docs/readme.md")
    assert (file.is_file, file.size, file.name) == (True, 4, "readme.md")
    assert file.modified is not None
    assert file.etag
    implied = vfs.stat("docs")
    assert (implied.is_dir, implied.path) == (True, "docs")
    marked = vfs.stat("empty")
    assert marked.is_dir
    assert marked.modified is not None
    assert vfs.stat("").is_dir
    with pytest.raises(FileNotFoundError):
        vfs.stat("docs/missing")
    with pytest.raises(NotFound):  # the same error, for code written against trove's errors
        vfs.stat("nothing")
    assert vfs.exists("docs")
    assert vfs.is_dir("docs")
    assert not vfs.is_file("docs")
    assert vfs.is_file("docs/readme.md")
    assert not vfs.is_dir("docs/readme.md")


def test_read_dir_lists_files_and_directories_without_the_marker(vfs: VFS) -> None:
    vfs.mkdir("d")
    _fill(vfs, ["d/b.txt", "d/a.txt", "d/sub/x", "d/sub/deeper/y"])
    vfs.mkdir("d/empty")

    entries = vfs.read_dir("d")
    assert [(e.name, e.is_dir) for e in entries] == [
        ("a.txt", False),
        ("b.txt", False),
        ("empty", True),
        ("sub", True),
    ]
    assert vfs.read_dir("d/empty") == []
    assert [e.name for e in vfs.read_dir("")] == ["d"]
    with pytest.raises(NotADirectoryError):
        vfs.read_dir("d/a.txt")
    with pytest.raises(FileNotFoundError):
        vfs.read_dir("nope")


def test_a_large_directory_is_seen_whole_by_read_dir_find_and_remove_all(vfs: VFS) -> None:
    """More than one 1,000-key page everywhere: listing, walking and deleting."""
    files = [f"big/f{i:04d}" for i in range(1105)]
    nested = [f"big/sub{i}/g" for i in range(3)]
    _fill(vfs, files + nested)

    entries = vfs.read_dir("big")
    assert len(entries) == 1108
    assert sorted(e.path for e in entries if e.is_file) == files
    assert [e.path for e in entries if e.is_dir] == ["big/sub0", "big/sub1", "big/sub2"]
    assert sum(len(f) for _, _, f in vfs.walk("big")) == 1108
    assert len(list(vfs.find("big"))) == 1108

    assert vfs.remove_all("big") == 1108
    assert not vfs.exists("big")
    assert vfs.read_dir("") == []


def test_walk_top_down_with_pruning_and_bottom_up(vfs: VFS) -> None:
    _fill(vfs, ["r/a", "r/x/b", "r/x/y/c", "r/z/d"])
    vfs.mkdir("r/empty")

    steps = [(path, [d.name for d in dirs], [f.name for f in files]) for path, dirs, files in vfs.walk("r")]
    assert steps == [
        ("r", ["empty", "x", "z"], ["a"]),
        ("r/empty", [], []),
        ("r/x", ["y"], ["b"]),
        ("r/x/y", [], ["c"]),
        ("r/z", [], ["d"]),
    ]

    pruned = []
    for path, dirs, _ in vfs.walk("r"):
        pruned.append(path)
        dirs[:] = [d for d in dirs if d.name != "x"]
    assert pruned == ["r", "r/empty", "r/z"]

    assert [path for path, _, _ in vfs.walk("r", topdown=False)] == ["r/empty", "r/x/y", "r/x", "r/z", "r"]
    with pytest.raises(FileNotFoundError):
        list(vfs.walk("missing"))


def test_a_walk_over_waiting_listings_lists_ahead_in_the_same_order(local_vfs: VFS) -> None:
    _fill(local_vfs, [f"w/{a}/{b}/f" for a in "abcdef" for b in "xyz"])
    sequential = [(p, [d.name for d in dirs], [f.name for f in files]) for p, dirs, files in local_vfs.walk("w")]
    slow = SlowListings(local_vfs.storage)
    ahead = VFS(slow, local_vfs.bucket, workers=4)

    started = time.perf_counter()
    steps = []
    for path, dirs, files in ahead.walk("w"):
        steps.append((path, [d.name for d in dirs], [f.name for f in files]))
        dirs[:] = [d for d in dirs if d.name != "b"]  # pruned: never listed
    elapsed = time.perf_counter() - started

    assert steps == [step for step in sequential if not step[0].startswith("w/b")]
    assert not any(prefix.startswith("w/b/") for prefix in slow.listed)
    assert len(slow.listed) == 1 + 5 + 15
    assert elapsed < 21 * 0.02  # the listings overlapped
    assert [p for p, _, _ in ahead.walk("w", topdown=False)] == [p for p, _, _ in local_vfs.walk("w", topdown=False)]


def test_find_lists_a_subtree_flat_and_can_name_its_directories(vfs: VFS) -> None:
    _fill(vfs, ["t/a", "t/b/c", "t/b/d/e", "tx"])
    vfs.mkdir("t/m")

    assert [f.path for f in vfs.find("t")] == ["t/a", "t/b/c", "t/b/d/e"]
    assert sorted(f.path for f in vfs.find("t", dirs=True)) == ["t/a", "t/b", "t/b/c", "t/b/d", "t/b/d/e", "t/m"]
    assert [f.path for f in vfs.find("")] == ["t/a", "t/b/c", "t/b/d/e", "tx"]


# ---- paths ------------------------------------------------------------------------------------


def test_paths_are_normalized(vfs: VFS) -> None:
    vfs.write_bytes("/a//b/./c", b"1")
    assert vfs.read_bytes("a/b/c") == b"1"
    assert vfs.stat("a/x/../b/c/").path == "a/b/c"
    assert [e.path for e in vfs.read_dir("/a/")] == ["a/b"]


@pytest.mark.parametrize("path", ["..", "../x", "a/../../x", "/../etc/passwd", "a/b/../../../c"])
def test_dot_dot_out_of_the_bucket_is_refused(vfs: VFS, path: str) -> None:
    with pytest.raises(InvalidKey, match="above the bucket root"):
        vfs.write_bytes(path, b"no")
    with pytest.raises(InvalidKey):
        vfs.stat(path)
    assert vfs.read_dir("") == []


# ---- directories ------------------------------------------------------------------------------


def test_mkdir_stores_a_marker_every_driver_keeps(vfs: VFS) -> None:
    vfs.mkdir("m")
    assert vfs.is_dir("m")
    assert vfs.read_dir("m") == []
    assert vfs.storage.head(vfs.bucket, "m/").size == 0

    vfs.mkdir("m/n")
    with pytest.raises(FileExistsError):
        vfs.mkdir("m")
    vfs.mkdir("m", exist_ok=True)
    with pytest.raises(FileNotFoundError):
        vfs.mkdir("p/q")
    vfs.mkdir("p/q/r", parents=True)
    assert vfs.is_dir("p/q/r")
    assert vfs.is_dir("p")

    vfs.write_bytes("f", b"file")
    with pytest.raises(FileExistsError):
        vfs.mkdir("f", exist_ok=True)
    with pytest.raises(NotADirectoryError):
        vfs.mkdir("f/sub")


def test_remove_takes_files_and_empty_directories(vfs: VFS) -> None:
    _fill(vfs, ["k/file"])
    vfs.mkdir("k/empty")

    vfs.remove("k/empty")
    assert not vfs.exists("k/empty")
    with pytest.raises(DirectoryNotEmpty) as caught:
        vfs.remove("k")
    assert caught.value.errno == 39
    vfs.remove("k/file")
    assert not vfs.exists("k")
    with pytest.raises(FileNotFoundError):
        vfs.remove("k/file")
    with pytest.raises(InvalidKey):
        vfs.remove("")


def test_remove_all_of_a_missing_path_is_not_an_error(vfs: VFS) -> None:
    assert vfs.remove_all("nothing/here") == 0
    vfs.write_bytes("single", b"1")
    assert vfs.remove_all("single") == 1
    assert not vfs.exists("single")


# ---- rename -----------------------------------------------------------------------------------


def test_rename_a_file(vfs: VFS) -> None:
    vfs.write_bytes("a.txt", b"content", metadata={"owner": "ann"})
    vfs.rename("a.txt", "moved/b.txt")
    assert not vfs.exists("a.txt")
    assert vfs.read_bytes("moved/b.txt") == b"content"
    assert vfs.get_metadata("moved/b.txt") == {"owner": "ann"}

    vfs.write_bytes("c.txt", b"replaces")
    vfs.rename("c.txt", "moved/b.txt")
    assert vfs.read_bytes("moved/b.txt") == b"replaces"
    with pytest.raises(IsADirectoryError):
        vfs.rename("moved/b.txt", "moved")
    with pytest.raises(FileNotFoundError):
        vfs.rename("gone", "elsewhere")


def test_rename_a_directory_recursively(vfs: VFS) -> None:
    vfs.mkdir("src")
    _fill(vfs, ["src/a", "src/sub/b", "src/sub/deep/c"])
    vfs.mkdir("src/hollow")

    vfs.rename("src", "dst/inner")
    assert not vfs.exists("src")
    assert [f.path for f in vfs.find("dst")] == ["dst/inner/a", "dst/inner/sub/b", "dst/inner/sub/deep/c"]
    assert vfs.is_dir("dst/inner/hollow")
    assert vfs.read_dir("dst/inner/hollow") == []

    vfs.mkdir("empty")
    vfs.rename("dst/inner", "empty")  # a directory may replace an empty one
    assert [f.path for f in vfs.find("empty")] == ["empty/a", "empty/sub/b", "empty/sub/deep/c"]

    _fill(vfs, ["full/x"])
    with pytest.raises(DirectoryNotEmpty):
        vfs.rename("empty", "full")
    with pytest.raises(InvalidMove):
        vfs.rename("empty", "empty/sub/inside")
    _fill(vfs, ["plain"])
    with pytest.raises(NotADirectoryError):
        vfs.rename("empty", "plain")


@pytest.mark.parametrize("workers", [1, 8])
def test_rename_of_a_directory_keeps_the_source_when_a_copy_fails(vfs: VFS, workers: int) -> None:
    tree = [f"src/{i:02d}" for i in range(12)] + ["src/sub/a", "src/sub/b"]
    vfs.mkdir("src")
    _fill(vfs, tree)
    before = {f.path: vfs.read_bytes(f.path) for f in vfs.find("src")}
    faulty = VFS(FailingCopies(vfs.storage, fail_on=7), vfs.bucket, workers=workers)

    with pytest.raises(BackendUnavailable, match="injected failure of copy #7"):
        faulty.rename("src", "dst")

    assert {f.path: vfs.read_bytes(f.path) for f in vfs.find("src")} == before
    assert vfs.stat("src").modified is not None  # the marker is still there too
    assert not vfs.exists("dst")  # the copies made before the failure were removed again
    vfs.rename("src", "dst")  # and nothing is in the way of doing it again
    assert len(list(vfs.find("dst"))) == len(tree)


# ---- metadata ---------------------------------------------------------------------------------


def test_set_metadata_keeps_the_content_and_content_type(vfs: VFS) -> None:
    payload = bytes(range(256)) * 100
    vfs.write_bytes("m/data.json", payload, content_type="application/json", metadata={"a": "1"})

    info = vfs.set_metadata("m/data.json", {"b": "2"})
    assert info.metadata == {"b": "2"}
    assert vfs.get_metadata("m/data.json") == {"b": "2"}
    assert vfs.read_bytes("m/data.json") == payload
    stat = vfs.stat("m/data.json")
    assert (stat.size, stat.content_type) == (len(payload), "application/json")
    with pytest.raises(IsADirectoryError):
        vfs.set_metadata("m", {"c": "3"})
    with pytest.raises(FileNotFoundError):
        vfs.get_metadata("m/missing")


# ---- errors -----------------------------------------------------------------------------------


def test_errors_are_builtin_and_trove_errors_and_pickle() -> None:
    from trove_dist.vfs import errors

    samples: list[tuple[OSError, type[OSError], type[TroveError]]] = [
        (errors.not_found("b", "p"), FileNotFoundError, NotFound),
        (errors.exists("b", "p"), FileExistsError, AlreadyExists),
        (errors.not_a_directory("b", "p"), NotADirectoryError, TroveError),
        (errors.is_a_directory("b", "p"), IsADirectoryError, TroveError),
        (errors.not_empty("b", "p"), OSError, TroveError),
    ]
    for error, builtin, trove in samples:
        assert isinstance(error, builtin)
        assert isinstance(error, trove)
        assert error.filename == "b/p"
        copy = pickle.loads(pickle.dumps(error))
        assert (type(copy), copy.errno, copy.filename) == (type(error), error.errno, error.filename)
    assert {PathNotFound, PathExists, NotADirectory, IsADirectory} <= {type(s[0]) for s in samples}
