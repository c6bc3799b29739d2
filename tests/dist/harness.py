"""Real Celery worker processes and a private Redis for the pipeline tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers.process import stop, wait_until

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Workers:
    """Worker processes, one per queue list, started and killed like production ones."""

    env: dict[str, str]
    logs: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, queues: str, concurrency: int = 1) -> None:
        log = self.logs / f"{name}-{len(list(self.logs.glob(name + '*')))}.log"
        argv = [
            sys.executable, "-m", "celery", "-A", "trove_dist.dist.worker", "worker",
            "-Q", queues, "-c", str(concurrency), "-P", "prefork", "-n", f"{name}@%h",
            "--loglevel=INFO", "--without-gossip", "--without-mingle", "-O", "fair",
        ]  # fmt: skip
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                argv, env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.procs[name] = proc
        wait_until(lambda: b"ready." in log.read_bytes(), 60, f"worker {name}", proc)

    def kill(self, name: str) -> None:
        """SIGKILL the worker's whole process group (main process and its pool children)."""
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for proc in self.procs.values():
            stop(proc, grace=10)
        self.procs.clear()


def pipeline_env(broker_url: str, root: Path, key_hex: str, chunk: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TROVE_")}
    env.update(
        {
            "TROVE_BROKER_URL": broker_url,
            "TROVE_CONFIG": "tests.dist.worker_config:make_trove",
            "TROVE_TEST_ROOT": str(root),
            "TROVE_TEST_KEY": key_hex,
            "TROVE_TEST_CHUNK": str(chunk),
            "TROVE_VISIBILITY_TIMEOUT": "20",
            "PYTHONPATH": str(REPO),
        }
    )
    return env


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise TimeoutError(what)
