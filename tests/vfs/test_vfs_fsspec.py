"""``trove://`` through fsspec, pandas and pyarrow (the abstract suite is in
``test_vfs_fsspec_suite.py``)."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

from trove_dist.drivers.local import LocalDriver
from trove_dist.drivers.memory import MemoryDriver
from trove_dist.trove import Trove
from trove_dist.vfs import VFS
from trove_dist.vfs.fsspec_fs import TroveFileSystem

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pa_dataset = pytest.importorskip("pyarrow.dataset")
pa_parquet = pytest.importorskip("pyarrow.parquet")


@pytest.fixture
def dsn(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "store"
    with LocalDriver(root) as driver:
        driver.create_bucket("data")
    yield f"file://{root}?durable=false"
    TroveFileSystem.clear_instance_cache()


def test_fsspec_open_and_url_to_fs_with_a_dsn(dsn: str) -> None:
    with fsspec.open("trove://data/notes/a.txt", "wt", dsn=dsn) as f:
        f.write("hello from fsspec\n")
    with fsspec.open("trove://data/notes/a.txt", "rt", dsn=dsn) as f:
        assert f.read() == "hello from fsspec\n"

    fs, path = fsspec.core.url_to_fs("trove://data//notes/./a.txt", dsn=dsn)
    assert isinstance(fs, TroveFileSystem)
    assert path == "data/notes/a.txt"
    assert fs.cat_file(path) == b"hello from fsspec\n"
    assert fsspec.filesystem("trove", dsn=dsn) is fs  # the same DSN: fsspec's cached instance
    assert pickle.loads(pickle.dumps(fs)).cat_file(path) == b"hello from fsspec\n"


def test_a_filesystem_around_a_live_store_is_never_shared() -> None:
    one, two = MemoryDriver(), MemoryDriver()  # they print alike: "<MemoryDriver private>"
    assert TroveFileSystem(storage=one).storage is one
    assert TroveFileSystem(storage=two).storage is two
    with pytest.raises(ValueError, match="needs a Trove or a Driver"):
        TroveFileSystem()


def test_the_filesystem_over_a_trove_sees_the_vfs_tree() -> None:
    with Trove(MemoryDriver()) as trove:
        fs = TroveFileSystem(storage=trove)
        fs.mkdir("alpha")
        fs.mkdir("beta")
        fs.pipe({"alpha/x/1.bin": b"one", "alpha/2.bin": b"two"})
        fs.makedirs("alpha/empty", exist_ok=True)

        assert fs.ls("", detail=False) == ["alpha", "beta"]
        assert fs.ls("alpha", detail=False) == ["alpha/2.bin", "alpha/empty", "alpha/x"]
        assert fs.ls("alpha/2.bin", detail=False) == ["alpha/2.bin"]
        info = fs.info("trove://alpha/2.bin")
        assert (info["type"], info["size"], info["name"]) == ("file", 3, "alpha/2.bin")
        assert fs.info("alpha")["type"] == "directory"
        assert fs.find("alpha") == ["alpha/2.bin", "alpha/x/1.bin"]
        assert fs.find("alpha", withdirs=True) == ["alpha", "alpha/2.bin", "alpha/empty", "alpha/x", "alpha/x/1.bin"]
        assert fs.du("alpha") == 6
        assert fs.glob("alpha/**/*.bin") == ["alpha/2.bin", "alpha/x/1.bin"]
        assert fs.cat_file("alpha/x/1.bin", start=-2) == b"ne"
        assert fs.cat_file("alpha/x/1.bin", start=1, end=-1) == b"n"
        assert fs.modified("alpha/2.bin") == fs.info("alpha/2.bin")["mtime"]

        fs.mv("alpha/x", "beta/y", recursive=True)
        assert fs.find("beta") == ["beta/y/1.bin"]
        assert not fs.exists("alpha/x")
        assert VFS(trove, "beta").read_bytes("y/1.bin") == b"one"

        before = fs.modified("alpha/2.bin")
        fs.touch("alpha/2.bin", truncate=False)
        assert fs.cat_file("alpha/2.bin") == b"two"
        assert fs.modified("alpha/2.bin") >= before

        fs.pipe_file("alpha/full/f", b"f")
        with pytest.raises(IsADirectoryError):
            fs.rm("alpha/full/g/..")  # a directory with something in it, without recursive=True
        with pytest.raises(OSError, match="not empty"):
            fs.rm("alpha")  # nor the bucket
        fs.rm("alpha/empty")  # an empty directory needs no recursive=True
        assert not fs.exists("alpha/empty")
        fs.rm("alpha", recursive=True)  # the bucket goes too, as with s3fs
        assert not fs.exists("alpha")
        assert fs.exists("beta")
        with pytest.raises(FileNotFoundError):
            fs.rm("alpha/nothing", recursive=True)
        with pytest.raises(NotImplementedError, match="appended"):
            fs.open("beta/y/1.bin", "ab")


def test_pandas_csv_round_trip_through_trove_urls(dsn: str) -> None:
    frame = pd.DataFrame({"city": ["Oslo", "Lima", "Pune"], "population": [709_000, 10_000_000, 3_100_000]})
    options = {"dsn": dsn}

    frame.to_csv("trove://data/tables/cities.csv", index=False, storage_options=options)
    back = pd.read_csv("trove://data/tables/cities.csv", storage_options=options)

    pd.testing.assert_frame_equal(back, frame)
    assert VFS(LocalDriver(dsn.removeprefix("file://").split("?")[0]), "data").is_file("tables/cities.csv")


def test_pandas_parquet_round_trip_through_a_trove_object() -> None:
    with Trove(MemoryDriver()) as trove:
        trove.create_bucket("lake")
        frame = pd.DataFrame({"k": list(range(1000)), "v": [f"value {i}" for i in range(1000)]})
        frame.to_parquet("trove://lake/t.parquet", storage_options={"storage": trove})
        back = pd.read_parquet("trove://lake/t.parquet", storage_options={"storage": trove})
        pd.testing.assert_frame_equal(back, frame)


def test_a_pyarrow_dataset_over_trove(dsn: str) -> None:
    """pyarrow takes an fsspec filesystem and paths without the protocol (as with s3fs):
    ``url_to_fs`` turns a ``trove://`` URL into both."""
    fs, root = fsspec.core.url_to_fs("trove://data/sales", dsn=dsn)
    table = pa.table({"year": [2023, 2023, 2024, 2024, 2024], "amount": [1.5, 2.5, 3.0, 4.0, 5.5]})
    pa_dataset.write_dataset(
        table, root, filesystem=fs, format="parquet", partitioning=["year"], partitioning_flavor="hive"
    )
    assert sorted(fs.ls("data/sales", detail=False)) == ["data/sales/year=2023", "data/sales/year=2024"]

    dataset = pa_dataset.dataset(root, filesystem=fs, format="parquet", partitioning="hive")
    result = dataset.to_table(filter=pa_dataset.field("year") == 2024).sort_by("amount")
    assert result.column("amount").to_pylist() == [3.0, 4.0, 5.5]
    assert pa_parquet.read_table("data/sales/year=2023", filesystem=fs).num_rows == 2
    frame = pd.read_parquet("trove://data/sales", storage_options={"dsn": dsn})
    assert sorted(frame["amount"]) == [1.5, 2.5, 3.0, 4.0, 5.5]
