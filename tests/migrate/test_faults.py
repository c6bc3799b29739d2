"""Faults during a migration through real workers.

* A worker SIGKILLed in the middle of a 200-object migration: its unacknowledged tasks are
  delivered again to the restarted worker, and the migration completes with every object
  verified (read back and compared with the source).
* The CLI and the worker killed in the middle of a large object's stream, with every queued
  step lost: resuming by ``--id`` goes on with the same stream from the chunks it had not stored.
* A destination that fails some writes — ``tests.migrate.flaky``, a local driver wrapped to
  refuse chosen keys (a put half-way through its body, a streamed object's part upload): each
  failure is reported with its reason, no failed object is visible at the destination, and a
  re-run of the same migration, once the destination works, finishes the job.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import redis as redis_client

from tests.migrate.harness import SMALL_SETTINGS, MigrationWorkers, migrate, migrate_process, payload, put_all, read_all
from tests.servers.redis_server import RedisServer
from trove_dist.dist.redis_store import RedisStreamStore
from trove_dist.drivers.local import LocalDriver
from trove_dist.migrate.redis_state import RedisMigrationStore

pytestmark = pytest.mark.timeout(240)


def test_a_worker_killed_mid_migration_is_replaced_and_every_object_arrives_verified(
    workers: MigrationWorkers, worker_env: dict[str, str], redis: RedisServer, tmp_path: Path
) -> None:
    source, target = LocalDriver(tmp_path / "src", durable=False), LocalDriver(tmp_path / "dst", durable=False)
    data = {f"objects/{i % 7}/{i:03d}.bin": payload(64 * 1024 + 997 * i, f"kill-{i}") for i in range(200)}
    put_all(source, "src", data)
    cli = migrate_process(
        worker_env,
        f"file://{tmp_path}/src#src", f"file://{tmp_path}/dst#dst",
        "--verify", "--json", "--batch-objects", "5", "--id", "killed-worker",
    )  # fmt: skip
    store = RedisMigrationStore.from_url(redis.url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if store.counters("killed-worker").objects_copied >= 10:  # zero until the CLI has created it
            break
        time.sleep(0.02)
    workers.kill("worker")
    assert store.counters("killed-worker").objects_copied < 200, "the migration ended before the kill"
    workers.start("worker", "middleware,writer", concurrency=2)
    out, err = cli.communicate(timeout=180)
    assert cli.returncode == 0, err.decode()
    report = json.loads(out)
    assert report["objects"]["copied"] == report["objects"]["verified"] == 200
    assert report["objects"]["failed"] == 0
    assert read_all(target, "dst") == data


def test_failed_writes_are_reported_leave_nothing_and_a_rerun_finishes(
    workers: MigrationWorkers, worker_env: dict[str, str], tmp_path: Path
) -> None:
    source = LocalDriver(tmp_path / "src", durable=False)
    data = {f"docs/{i:02d}.txt": payload(2000 + i, f"ok-{i}") for i in range(20)}
    bad = {
        "docs/bad-1.txt": payload(300_000, "bad1"),
        "docs/deep/bad-2.txt": b"x",
        "big/bad.bin": payload(900_000, "b"),
    }
    data |= bad | {"big/good.bin": payload(800_000, "good")}
    put_all(source, "src", data)
    switch = tmp_path / "failing"
    switch.touch()
    root = tmp_path / "dst"
    flaky = f"flaky://{root}?fail=bad*&switch={switch}"
    args = [f"file://{tmp_path}/src#src", f"{flaky}#dst/copy", "--json", "--id", "flaky", *SMALL_SETTINGS]

    first = migrate(worker_env, *args)
    assert first.code == 1
    report = first.report
    assert report["state"] == "completed_with_failures"
    reasons = {f["key"]: f["reason"] for f in report["failures"]}
    assert set(reasons) == set(bad)
    assert all("PermissionDenied: permission denied by flaky destination" in r for r in reasons.values()), reasons
    assert report["objects"]["copied"] == len(data) - len(bad)
    target = LocalDriver(root, durable=False)
    visible = read_all(target, "dst", "copy/")
    assert visible == {k: v for k, v in data.items() if k not in bad}  # no failed object, not even in part
    leftovers = [p for p in root.rglob("*") if p.is_file() and "bad" in p.name]
    assert leftovers == []

    os.unlink(switch)  # the destination works again
    second = migrate(worker_env, *args)
    assert second.code == 0, second.stderr
    assert second.report["runs"] == 2
    assert second.report["objects"]["failed"] == 0
    retried = {o["key"]: o["reason"] for o in second.report["outcomes"] if o["reason"].startswith("retrying")}
    assert set(retried) == set(bad)
    assert read_all(target, "dst", "copy/") == data


def test_a_resumed_migration_continues_a_partial_stream_from_its_missing_chunks(
    workers: MigrationWorkers, worker_env: dict[str, str], redis: RedisServer, tmp_path: Path
) -> None:
    """The CLI and the worker are killed mid-stream and every queued task is lost (the broker's
    lists wiped); ``--id`` resumes the same stream, which goes on from the chunks not stored."""
    source, target = LocalDriver(tmp_path / "src", durable=False), LocalDriver(tmp_path / "dst", durable=False)
    data = {"big.bin": payload(48 * 1024 * 1024, "resume"), "small.txt": b"small"}
    put_all(source, "src", data)
    args = [
        f"file://{tmp_path}/src#src",
        f"file://{tmp_path}/dst#dst",
        "--json",
        "--id",
        "resumed-stream",
        *SMALL_SETTINGS,
    ]
    cli = migrate_process(worker_env, *args)
    migrations, streams = RedisMigrationStore.from_url(redis.url), RedisStreamStore.from_url(redis.url)
    deadline = time.monotonic() + 60
    stream_id = ""
    while time.monotonic() < deadline:
        outcome = migrations.outcomes("resumed-stream", ["big.bin"])["big.bin"]
        if outcome is not None and outcome.task.startswith("str_") and streams.status(outcome.task).stored >= 8:
            stream_id = outcome.task
            break
        time.sleep(0.02)
    cli.kill()
    workers.kill("worker")
    cli.communicate()
    stored_before = streams.status(stream_id).stored
    assert 8 <= stored_before < 192, "the stream was not caught half-way"
    client = redis_client.Redis.from_url(redis.url)
    client.delete("middleware", "writer", "unacked", "unacked_index")  # every queued step is lost
    workers.start("worker", "middleware,writer", concurrency=2)

    resumed = migrate(worker_env, *args)
    assert resumed.code == 0, resumed.stderr
    report = resumed.report
    assert report["runs"] == 2
    assert {o["key"]: o["task"] for o in report["outcomes"]}["big.bin"] == stream_id  # the same stream went on
    assert streams.status(stream_id).stored == 192
    assert read_all(target, "dst") == data
