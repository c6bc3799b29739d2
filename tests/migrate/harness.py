"""What the migration tests share: worker processes running the migration app, the ``trove
migrate`` command (in-process, or as a real process that a test can race against), and data."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from typer.testing import CliRunner

from tests.dist.harness import REPO, Workers
from tests.servers.process import wait_until
from trove_dist.cli.app import app
from trove_dist.driver.base import Driver
from trove_dist.driver.models import ObjectInfo

KIB = 1024
#: Small chunks and stream threshold, so "multi-chunk" objects stay small in tests.
CHUNK = 256 * KIB
THRESHOLD = 512 * KIB
SMALL_SETTINGS = ["--chunk-size", str(CHUNK), "--stream-threshold", str(THRESHOLD)]


class MigrationWorkers(Workers):
    """``tests.dist``'s real worker processes, running the application with the migration
    tasks registered (``trove_dist.migrate.worker``)."""

    def start(self, name: str, queues: str, concurrency: int = 1) -> None:
        log = self.logs / f"{name}-{len(list(self.logs.glob(name + '*')))}.log"
        argv = [
            sys.executable, "-m", "celery", "-A", "trove_dist.migrate.worker", "worker",
            "-Q", queues, "-c", str(concurrency), "-P", "prefork", "-n", f"{name}@%h",
            "--loglevel=INFO", "--without-gossip", "--without-mingle", "-O", "fair",
        ]  # fmt: skip
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                argv, env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.procs[name] = proc
        wait_until(lambda: b"ready." in log.read_bytes(), 60, f"worker {name}", proc)


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.stdout)
        return data


def migrate(env: Mapping[str, str], *args: str) -> Result:
    """``trove migrate ARGS`` in this process, with ``env`` as the environment's TROVE_ and
    credential variables (distributed when it sets TROVE_BROKER_URL)."""
    runner = CliRunner()
    cleared = {name: None for name in os.environ if name.startswith("TROVE_")}
    result = runner.invoke(app, ["migrate", *args], env={**cleared, **env}, catch_exceptions=False)
    return Result(result.exit_code, result.stdout, result.stderr)


def migrate_process(env: Mapping[str, str], *args: str) -> subprocess.Popen[bytes]:
    """``trove migrate ARGS`` as a real process (its stdout is a pipe)."""
    return subprocess.Popen(
        [sys.executable, "-m", "trove_dist.cli", "migrate", *args],
        env={**os.environ, **env},
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def payload(size: int, seed: str) -> bytes:
    """Deterministic bytes, partly compressible."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.blake2b(f"{seed}:{counter}".encode(), digest_size=64).digest() + b"text " * 20
        counter += 1
    return bytes(out[:size])


def mixed_dataset(seed: str) -> dict[str, bytes]:
    """0-byte, small and multi-chunk objects; unicode keys; nested prefixes."""
    return {
        "empty": b"",
        "nested/empty-too": b"",
        "a.txt": payload(100, seed + "a"),
        "deep/er/and/deeper/leaf.txt": payload(3 * KIB, seed + "leaf"),
        "données/été/ñandú.txt": payload(10 * KIB, seed + "fr"),
        "日本/ファイル 1.bin": payload(20 * KIB + 7, seed + "jp"),
        "emoji/🎉 party.json": payload(2 * KIB, seed + "emoji"),
        "big/one.bin": payload(3 * CHUNK + 12_345, seed + "big1"),  # streamed, 4 chunks
        "big/two.bin": payload(2 * CHUNK + 1, seed + "big2"),  # streamed, 3 chunks
        "spaces in/a key.txt": payload(5 * KIB, seed + "sp"),
    }


def put_all(driver: Driver, bucket: str, data: Mapping[str, bytes], root: str = "") -> None:
    driver.create_bucket(bucket, exist_ok=True)
    for key, body in data.items():
        driver.put(bucket, root + key, body, checksum="blake3")


def read_all(driver: Driver, bucket: str, root: str = "") -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for entry in driver.iter_list(bucket, prefix=root):
        assert isinstance(entry, ObjectInfo)
        with driver.get(bucket, entry.key) as reader:
            out[entry.key[len(root) :]] = reader.read()
    return out
