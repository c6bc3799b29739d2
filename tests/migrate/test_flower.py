"""Flower, as configured in ``flower/``, against the test broker and real workers: the
migration's tasks are listed through the authenticated API with their ids (and nothing secret);
API calls without credentials are refused; ``/metrics`` answers without them (documented in
flower/README.md); the task history survives a restart on the same state file."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.dist.harness import REPO
from tests.migrate.harness import SMALL_SETTINGS, MigrationWorkers, migrate, payload, put_all
from tests.servers.process import free_port, running
from tests.servers.s3 import SECRET_KEY
from trove_dist.drivers.local import LocalDriver

pytestmark = pytest.mark.timeout(120)
pytest.importorskip("flower", reason="Flower is not installed (pip install flower; it belongs in the dist extra)")
USER, PASSWORD = "ops", "flower-test-password"


@contextmanager
def flower(env: dict[str, str], port: int, db: Path, log: Path) -> Iterator[None]:
    flower_env = {
        **env,
        "FLOWER_BASIC_AUTH": f"{USER}:{PASSWORD}",
        "CELERY": str(Path(sys.executable).with_name("celery")),
    }
    argv = [str(REPO / "flower" / "run"), "--address=127.0.0.1", f"--port={port}", f"--db={db}"]
    with running(
        argv, port=port, name="flower", log=log, env=flower_env, ready=lambda: _get(port, "/healthcheck")[0] == 200
    ):
        yield


def _get(port: int, path: str, auth: bool = False) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def _tasks(port: int) -> dict[str, Any]:
    status, body = _get(port, "/api/tasks", auth=True)
    assert status == 200, body
    tasks: dict[str, Any] = json.loads(body)
    return tasks


def test_flower_lists_the_migration_tasks_behind_authentication(
    workers: MigrationWorkers, worker_env: dict[str, str], tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TROVE_")} | worker_env
    env["PYTHONPATH"] = str(REPO)
    port, db = free_port(), tmp_path / "flower.db"
    source = LocalDriver(tmp_path / "src", durable=False)
    put_all(source, "src", {"a.txt": b"a", "b/c.txt": payload(5000, "c"), "big.bin": payload(600 * 1024, "big")})
    with flower(env, port, db, tmp_path / "flower.log"):
        assert _get(port, "/api/tasks")[0] == 401
        assert _get(port, "/api/workers")[0] == 401
        assert _get(port, "/")[0] == 401
        assert _get(port, "/metrics")[0] == 200  # unauthenticated by Flower's design: restrict it at the proxy
        # Flower only sees events sent after its event receiver has bound to the broker, which
        # can be a moment after its HTTP port opens: warm up until a first migration shows.
        deadline = time.monotonic() + 60
        attempt = 0
        while not any("warmup" in (t["args"] or "") for t in _tasks(port).values()):
            assert time.monotonic() < deadline, "Flower never received a task event"
            attempt += 1
            migrate(worker_env, f"file://{tmp_path}/src#src", f"file://{tmp_path}/warm#warm{attempt}",
                    "--id", f"warmup-{attempt}", *SMALL_SETTINGS)  # fmt: skip
            time.sleep(1)
        result = migrate(
            worker_env, f"file://{tmp_path}/src#src", f"file://{tmp_path}/dst#dst",
            "--id", "flower-demo", "--transform", "compress", "--transform", "encrypt", "--json", *SMALL_SETTINGS,
        )  # fmt: skip
        assert result.code == 0, result.stderr
        stream_id = next(o["task"] for o in result.report["outcomes"] if o["method"] == "stream")

        wanted = {"trove.migrate.plan", "trove.migrate.batch", "trove.migrate.settle", "trove.migrate.finish"}

        def listed() -> set[str]:
            return {t["name"] for t in _tasks(port).values() if "flower-demo" in (t["args"] or "")}

        deadline = time.monotonic() + 60
        while not wanted <= listed() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert wanted <= listed(), f"Flower lists {sorted(listed())} for the migration"
        tasks = _tasks(port)
        chunk_args = {t["args"] for t in tasks.values() if t["name"] == "trove.transform"}
        assert chunk_args >= {f"['{stream_id}', 0]", f"['{stream_id}', 1]", f"['{stream_id}', 2]"}
        text = json.dumps(tasks)
        for secret in (SECRET_KEY, worker_env["TROVE_ENCRYPTION_KEY"], PASSWORD):
            assert secret not in text
    assert list(tmp_path.glob("flower.db*")), "Flower saved no state file"

    with flower(env, port, db, tmp_path / "flower-2.log"):
        remembered = {t["name"] for t in _tasks(port).values() if "flower-demo" in (t["args"] or "")}
        assert "trove.migrate.plan" in remembered


def test_flower_refuses_to_start_without_credentials(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FLOWER_BASIC_AUTH"}
    env |= {"TROVE_BROKER_URL": "redis://127.0.0.1:1/0", "CELERY": str(Path(sys.executable).with_name("celery"))}
    done = subprocess.run([str(REPO / "flower" / "run")], env=env, capture_output=True, timeout=60)
    assert done.returncode != 0
    assert b"FLOWER_BASIC_AUTH" in done.stderr
