"""``azure_transfer``: put and get of a 256 MiB object through ``AzureDriver`` vs the Azure SDK's
own best transfer calls, against one Azurite blob service on 127.0.0.1 started for the run.

Peers, with the settings that were fastest on this machine against Azurite:

- ``BlobClient.upload_blob(file, max_concurrency=4)`` (4 MiB blocks, the SDK's default block
  size, 64 MiB single-put limit) — more threads did not help: Azurite (Node, one thread) is
  the bottleneck;
- ``BlobClient.download_blob(max_concurrency=2).readinto(file)`` (4 MiB ranges, the SDK's
  default; more threads were not faster).

Ours is the driver with its defaults (4 MiB blocks, 4 in flight; reads of 2 MiB ranges, 2 in
flight): a put from the same file opened ``"rb"``, a get streamed in 1 MiB reads into a file.
Each put's object is deleted outside the timed region; each download file is deleted after it
is checked.  Peak RSS growth of our put and get is measured in fresh interpreters
(``python -m bench.azure_transfer probe …``), as ``s3_transfer`` does.  Azurite's own memory is
not counted.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from azure.storage.blob import BlobServiceClient

from bench.machine import REPO
from bench.measure import MB, MiB, Stopwatch, interleave, write_random_file
from bench.model import Context, Measurement, Outcome, Series
from tests.servers.azure import azurite_server
from trove_dist.driver.registry import open_driver

BUCKET = "bench"
READ_CHUNK = 1 * MiB
TARGET = 0.9
RSS_BUDGET_MIB = 64.0
SDK_UPLOAD_CONCURRENCY = 4
SDK_DOWNLOAD_CONCURRENCY = 2


def run(ctx: Context) -> Outcome:
    size = 32 * MiB if ctx.quick else 256 * MiB
    repeats = 2 if ctx.quick else 3
    source = ctx.scratch / "source.bin"
    ctx.log(f"writing a {size // MiB} MiB random source file")
    write_random_file(source, size)
    outcome = Outcome(
        parameters={
            "object_bytes": size,
            "repeats": repeats,
            "read_chunk_bytes": READ_CHUNK,
            "server": "Azurite blob service (in-memory, Node) on 127.0.0.1",
            "ours": "AzureDriver defaults: block_size=4MiB, concurrency=4; reads of 2 MiB ranges, 2 in flight",
            "sdk_upload": f"upload_blob(file, max_concurrency={SDK_UPLOAD_CONCURRENCY})",
            "sdk_download": f"download_blob(max_concurrency={SDK_DOWNLOAD_CONCURRENCY}).readinto(file)",
        },
        notes=["Azurite is single-threaded Node: figures say how close each client gets to it"],
    )
    with azurite_server(ctx.scratch) as server:
        ours = open_driver(server.dsn())
        sdk = BlobServiceClient.from_connection_string(server.connection_string)
        try:
            ours.create_bucket(BUCKET)
            outcome.measurements.append(_puts(ctx, ours, sdk, source, size, repeats))
            outcome.measurements.append(_gets(ctx, ours, sdk, source, size, repeats))
            outcome.measurements += _rss(ctx, server.dsn(), source, size, repeats, outcome)
        finally:
            ours.close()
            sdk.close()
    return outcome


def _rate(size: int, seconds: float) -> float:
    return size / seconds / MB


def _puts(ctx: Context, ours: Any, sdk: BlobServiceClient, source: Path, size: int, repeats: int) -> Measurement:
    container = sdk.get_container_client(BUCKET)

    def timed(put: Callable[[str], object]) -> Callable[[int], float]:
        def run(round_: int) -> float:
            key = f"put-{round_}"
            with Stopwatch() as sw:
                put(key)
            container.delete_blob(key)
            return _rate(size, sw.seconds)

        return run

    def driver_put(key: str) -> None:
        with source.open("rb") as f:
            ours.put(BUCKET, key, f)

    def sdk_put(key: str) -> None:
        with source.open("rb") as f:
            container.get_blob_client(key).upload_blob(f, overwrite=True, max_concurrency=SDK_UPLOAD_CONCURRENCY)

    contenders = [("ours", timed(driver_put)), ("sdk", timed(sdk_put))]
    ctx.log("put: warm-up")
    for _, warm in contenders:
        warm(-1)
    ctx.log(f"put: {repeats} interleaved rounds")
    runs = interleave(contenders, repeats)
    return _measurement("put", size, runs, "AzureDriver.put(file opened 'rb')", "upload_blob")


def _gets(ctx: Context, ours: Any, sdk: BlobServiceClient, source: Path, size: int, repeats: int) -> Measurement:
    with source.open("rb") as f:
        ours.put(BUCKET, "object", f)
    blob = sdk.get_blob_client(BUCKET, "object")
    target = ctx.scratch / "download.bin"

    def timed(get: Callable[[Path], object]) -> Callable[[int], float]:
        def run(round_: int) -> float:
            with Stopwatch() as sw:
                get(target)
            if target.stat().st_size != size:
                raise RuntimeError(f"a download wrote {target.stat().st_size} bytes, not {size}")
            target.unlink()
            return _rate(size, sw.seconds)

        return run

    def driver_get(path: Path) -> None:
        with ours.get(BUCKET, "object") as reader, path.open("wb") as out:
            shutil.copyfileobj(reader, out, READ_CHUNK)

    def sdk_get(path: Path) -> None:
        with path.open("wb") as out:
            blob.download_blob(max_concurrency=SDK_DOWNLOAD_CONCURRENCY).readinto(out)

    contenders = [("ours", timed(driver_get)), ("sdk", timed(sdk_get))]
    ctx.log("get: warm-up")
    for _, warm in contenders:
        warm(-1)
    ctx.log(f"get: {repeats} interleaved rounds")
    runs = interleave(contenders, repeats)
    return _measurement("get", size, runs, "AzureDriver.get, 1 MiB reads", "download_blob().readinto")


def _measurement(op: str, size: int, runs: dict[str, list[float]], ours: str, sdk_call: str) -> Measurement:
    return Measurement(
        name=f"{op} {size // MiB} MiB vs azure-storage-blob",
        unit="MB/s",
        better="higher",
        ours=Series(ours, runs["ours"], "ours"),
        peer=Series(f"azure-storage-blob {sdk_call} (tuned max_concurrency)", runs["sdk"]),
        target=TARGET,
        cache="source file warm; Azurite holds objects in memory",
    )


def _rss(ctx: Context, dsn: str, source: Path, size: int, repeats: int, outcome: Outcome) -> list[Measurement]:
    growth: dict[str, list[float]] = {"put": [], "get": []}
    probes: list[dict[str, Any]] = []
    for round_ in range(repeats):
        ctx.log(f"rss: round {round_ + 1}/{repeats}")
        for op in ("put", "get"):
            result = _probe(op, dsn, source, size)
            probes.append(result)
            growth[op].append(int(result["growth"]) / MiB)
    outcome.parameters["rss_probes"] = probes
    budget = Series(f"budget {RSS_BUDGET_MIB:g} MiB", [RSS_BUDGET_MIB], "limit")
    how = {"put": "put from a file opened 'rb'", "get": "get, 1 MiB reads"}
    return [
        Measurement(
            name=f"peak RSS growth, AzureDriver {op} {size // MiB} MiB",
            unit="MiB",
            better="lower",
            ours=Series(f"AzureDriver: {how[op]}", growth[op], "ours"),
            peer=budget,
            target=1.0,
            note="fresh process per probe; VmHWM reset through /proc/self/clear_refs",
        )
        for op in ("put", "get")
    ]


def _probe(op: str, dsn: str, source: Path, size: int) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.azure_transfer", "probe", op, dsn, str(source), str(size)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"azure rss probe {op} failed:\n{completed.stderr}")
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


# ---- the RSS probe, run in a fresh interpreter ----------------------------------------------


def _status_bytes(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"/proc/self/status has no {field}")
    return int(match.group(1)) * 1024


def probe(op: str, dsn: str, source: Path, size: int) -> dict[str, Any]:
    """Peak RSS growth of one put (from ``source``) or get (of what the put stored)."""
    driver = open_driver(dsn)
    driver.ping()  # connections and lazy imports are set up before the baseline
    key = "rss-probe"
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_bytes("VmRSS")
    with Stopwatch() as sw:
        if op == "put":
            with source.open("rb") as f:
                driver.put(BUCKET, key, f)
            moved = size
        else:
            moved = 0
            with driver.get(BUCKET, key) as reader:
                while chunk := reader.read(READ_CHUNK):
                    moved += len(chunk)
    peak = _status_bytes("VmHWM")
    driver.close()
    if moved != size:
        raise RuntimeError(f"{op} moved {moved} bytes, not {size}")
    return {
        "operation": op,
        "bytes": size,
        "rss_before": before,
        "peak_hwm": peak,
        "growth": peak - before,
        "seconds": sw.seconds,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 5 or argv[0] != "probe" or argv[1] not in ("put", "get"):
        print("usage: python -m bench.azure_transfer probe {put|get} DSN SOURCE SIZE", file=sys.stderr)
        return 2
    print(json.dumps(probe(argv[1], argv[2], Path(argv[3]), int(argv[4]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
