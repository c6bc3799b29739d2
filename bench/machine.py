"""The machine a result was measured on, recorded with every result file."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
_PACKAGES = ("trove_dist", "fsspec", "obstore", "psutil", "blake3", "xxhash")


def describe(scratch: Path) -> dict[str, Any]:
    memory = psutil.virtual_memory()
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "memory_bytes": memory.total,
        "memory_available_bytes": memory.available,
        "kernel": f"{platform.system()} {platform.release()} {platform.version()}",
        "machine": platform.machine(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "python_executable": sys.executable,
        "scratch_dir": str(scratch),
        "scratch_filesystem": filesystem_of(scratch),
        "git": _git(),
        "packages": {name: _version(name) for name in _PACKAGES},
    }


def load() -> dict[str, Any]:
    """How busy the shared machine is: recorded at the start and end of every run."""
    one, five, fifteen = os.getloadavg()
    return {"loadavg": [one, five, fifteen], "cpu_percent": psutil.cpu_percent(interval=0.5)}


def filesystem_of(path: Path) -> dict[str, str | int]:
    """The mount that holds ``path`` (the longest mount point that is a prefix of it)."""
    path = path.resolve()
    best = None
    for part in psutil.disk_partitions(all=True):
        mount = Path(part.mountpoint)
        if (path == mount or mount in path.parents) and (best is None or len(part.mountpoint) > len(best.mountpoint)):
            best = part
    if best is None:
        return {"fstype": "unknown"}
    usage = psutil.disk_usage(str(path))
    return {
        "fstype": best.fstype,
        "device": best.device,
        "mountpoint": best.mountpoint,
        "options": best.opts,
        "size_bytes": usage.total,
        "free_bytes": usage.free,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()

    try:
        return {
            "commit": git("rev-parse", "HEAD"),
            "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
            # Uncommitted changes to the library mean the figures are not of ``commit`` alone.
            "library_dirty": bool(git("status", "--porcelain", "--", "trove_dist")),
        }
    except (OSError, subprocess.CalledProcessError):
        return {"commit": "unknown"}


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
