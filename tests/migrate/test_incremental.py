"""Incremental re-runs, local -> local through the workers: after changing, adding and deleting
source objects, a re-run copies exactly the changes, and --delete-extraneous removes what the
source no longer has; resuming a finished migration by its id copies nothing again."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.migrate.harness import SMALL_SETTINGS, MigrationWorkers, migrate, payload, put_all, read_all
from trove_dist.drivers.local import LocalDriver

pytestmark = pytest.mark.timeout(180)


def test_a_rerun_copies_exactly_what_changed(
    workers: MigrationWorkers, worker_env: dict[str, str], tmp_path: Path
) -> None:
    source, target = LocalDriver(tmp_path / "src", durable=False), LocalDriver(tmp_path / "dst", durable=False)
    data = {f"set/{i:03d}/item-{i}.txt": payload(1000 + 37 * i, f"v1-{i}") for i in range(40)}
    data["set/big.bin"] = payload(700 * 1024, "big")  # a stream
    put_all(source, "src", data)
    args = [f"file://{tmp_path}/src#src", f"file://{tmp_path}/dst#dst", "--json", *SMALL_SETTINGS]
    first = migrate(worker_env, *args, "--id", "incremental-1")
    assert first.code == 0, first.stderr
    assert first.report["objects"]["copied"] == len(data)
    resumed = migrate(worker_env, *args, "--id", "incremental-1")  # done already: nothing to copy again
    assert resumed.code == 0, resumed.stderr
    assert (resumed.report["runs"], resumed.report["objects"]) == (2, first.report["objects"])
    other = migrate(worker_env, *args, "--id", "incremental-1", "--prefix", "set/00")
    assert other.code == 2
    assert "migration incremental-1 copies" in other.stderr
    assert "other options" in other.stderr

    changed = {"set/003/item-3.txt": payload(1000 + 37 * 3, "v2-3"), "set/big.bin": payload(700 * 1024 + 1, "big2")}
    changed["set/007/item-7.txt"] = payload(len(data["set/007/item-7.txt"]), "same size, new bytes")
    added = {"set/new/one.txt": b"one", "set/new/two.txt": payload(4000, "two")}
    deleted = ["set/010/item-10.txt", "set/011/item-11.txt"]
    put_all(source, "src", {**changed, **added})
    for key in deleted:
        source.delete("src", key)
    expected = {k: v for k, v in {**data, **changed, **added}.items() if k not in deleted}

    second = migrate(worker_env, *args, "--delete-extraneous")  # a new migration id: only the memory of copies
    assert second.code == 0, second.stderr
    report = second.report
    copied = {o["key"]: o["reason"] for o in report["outcomes"] if o["status"] == "copied"}
    assert copied == {
        "set/003/item-3.txt": "checksum differs",
        "set/007/item-7.txt": "checksum differs",
        "set/big.bin": "size differs",
        "set/new/one.txt": "new",
        "set/new/two.txt": "new",
    }
    assert report["objects"]["skipped"] == len(expected) - len(copied)
    assert set(report["skip_reasons"]) == {"unchanged since it was last migrated"}
    assert sorted(report["deleted"]) == deleted
    assert read_all(target, "dst") == expected


def test_a_dry_run_lists_the_plan_and_copies_nothing(
    workers: MigrationWorkers, worker_env: dict[str, str], tmp_path: Path
) -> None:
    source, target = LocalDriver(tmp_path / "src", durable=False), LocalDriver(tmp_path / "dst", durable=False)
    put_all(source, "src", {"keep.txt": b"same", "new.txt": b"new", "changed.txt": b"v2"})
    put_all(target, "dst", {"keep.txt": b"same", "changed.txt": b"v1", "stale.txt": b"gone"})
    args = [f"file://{tmp_path}/src#src", f"file://{tmp_path}/dst#dst", "--dry-run", "--delete-extraneous"]
    text = migrate(worker_env, *args)
    assert text.code == 0, text.stderr
    assert "(planned)" in text.stdout
    assert "would copy: 2 objects" in text.stdout
    assert "    2\tbatch\tchecksum differs\tchanged.txt" in text.stdout
    assert "    3\tbatch\tnew\tnew.txt" in text.stdout
    assert "would skip: 1 object" in text.stdout
    assert "would delete: 1 object absent" in text.stdout
    assert "    stale.txt" in text.stdout
    plan = migrate(worker_env, *args, "--json").report
    assert {o["key"]: o["reason"] for o in plan["outcomes"]} == {
        "changed.txt": "checksum differs",
        "keep.txt": "same checksum",
        "new.txt": "new",
    }
    assert plan["would_delete"] == ["stale.txt"]
    assert read_all(target, "dst") == {"keep.txt": b"same", "changed.txt": b"v1", "stale.txt": b"gone"}
