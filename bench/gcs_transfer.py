"""``gcs_transfer``: put and get of a 256 MiB object through ``GCSDriver`` vs google-cloud-storage's
own transfer calls, against one gcp-storage-emulator on 127.0.0.1 started for the run.

Peers:

- ``Blob.upload_from_file(file)`` with the SDK's defaults: a resumable upload in 100 MiB chunks
  (each chunk is held in memory, so it peaks far above the 64 MiB budget ours must keep);
- the same call with ``blob.chunk_size`` = ours (16 MiB), i.e. at the same memory budget — for
  context: the emulator appends each chunk by copying everything received so far, so the number
  of chunks, not the client, dominates its time;
- ``Blob.download_to_file(file)`` (one streamed GET, CRC32C checked on the fly).

Ours is the driver with its defaults (16 MiB chunks): a put from the same file opened ``"rb"``,
a get streamed in 1 MiB reads into a file.  Each put's object is deleted outside the timed
region; each download is checked for size and deleted.  Peak RSS growth of our put and get is
measured in fresh interpreters (``python -m bench.gcs_transfer probe …``), as ``s3_transfer``
does.  The emulator's own memory is not counted.  obstore is not compared: its GCS store speaks
the XML API's multipart upload for large puts, which the emulator does not implement.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from google.auth.credentials import AnonymousCredentials
from google.cloud.storage import Client

from bench.machine import REPO
from bench.measure import MB, MiB, Stopwatch, interleave, write_random_file
from bench.model import Context, Measurement, Outcome, Series
from tests.servers.gcs import gcs_emulator
from trove_dist.driver.registry import open_driver
from trove_dist.drivers.gcs.config import DEFAULT_CHUNK_SIZE

BUCKET = "bench"
READ_CHUNK = 1 * MiB
TARGET = 0.9
RSS_BUDGET_MIB = 64.0


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
            "server": "gcp-storage-emulator (in-memory, Python, one thread) on 127.0.0.1",
            "ours": f"GCSDriver defaults: chunk_size={DEFAULT_CHUNK_SIZE // MiB}MiB; get in 1 MiB reads",
            "sdk_upload": "Blob.upload_from_file(file) (defaults: 100 MiB resumable chunks)",
            "sdk_upload_same_budget": f"Blob.upload_from_file(file) with chunk_size={DEFAULT_CHUNK_SIZE // MiB}MiB",
            "sdk_download": "Blob.download_to_file(file)",
        },
        notes=[
            "the emulator copies the whole upload so far on every resumable chunk: fewer, larger "
            "chunks are faster there, and larger chunks cost client memory"
        ],
    )
    with gcs_emulator(ctx.scratch) as server:
        dsn = f"gcs://?endpoint={server.endpoint}"
        ours = open_driver(dsn)
        anonymous = AnonymousCredentials()  # type: ignore[no-untyped-call]
        sdk = Client(project="bench", credentials=anonymous, client_options={"api_endpoint": server.endpoint})
        try:
            ours.create_bucket(BUCKET)
            outcome.measurements += _puts(ctx, ours, sdk, source, size, repeats)
            outcome.measurements.append(_gets(ctx, ours, sdk, source, size, repeats))
            outcome.measurements += _rss(ctx, dsn, source, size, repeats, outcome)
        finally:
            ours.close()
            sdk.close()
    return outcome


def _rate(size: int, seconds: float) -> float:
    return size / seconds / MB


def _puts(ctx: Context, ours: Any, sdk: Client, source: Path, size: int, repeats: int) -> list[Measurement]:
    bucket = sdk.bucket(BUCKET)

    def timed(put: Callable[[str], object]) -> Callable[[int], float]:
        def run(round_: int) -> float:
            key = f"put-{round_}"
            with Stopwatch() as sw:
                put(key)
            bucket.blob(key).delete()
            return _rate(size, sw.seconds)

        return run

    def driver_put(key: str) -> None:
        with source.open("rb") as f:
            ours.put(BUCKET, key, f)

    def sdk_put(chunk_size: int | None) -> Callable[[str], None]:
        def put(key: str) -> None:
            blob = bucket.blob(key, chunk_size=chunk_size)
            with source.open("rb") as f:
                blob.upload_from_file(f)

        return put

    contenders = [
        ("ours", timed(driver_put)),
        ("sdk", timed(sdk_put(None))),
        ("sdk_same_budget", timed(sdk_put(DEFAULT_CHUNK_SIZE))),
    ]
    ctx.log("put: warm-up")
    for _, warm in contenders:
        warm(-1)
    ctx.log(f"put: {repeats} interleaved rounds")
    runs = interleave(contenders, repeats)
    ours_series = Series("GCSDriver.put(file opened 'rb')", runs["ours"], "ours")
    return [
        Measurement(
            name=f"put {size // MiB} MiB vs google-cloud-storage",
            unit="MB/s",
            better="higher",
            ours=ours_series,
            peer=Series("upload_from_file (defaults: 100 MiB chunks)", runs["sdk"]),
            target=TARGET,
            cache="source file warm; the emulator holds objects in memory",
        ),
        Measurement(
            name=f"put {size // MiB} MiB vs google-cloud-storage at the same chunk size",
            unit="MB/s",
            better="higher",
            ours=ours_series,
            peer=Series(f"upload_from_file (chunk_size={DEFAULT_CHUNK_SIZE // MiB} MiB)", runs["sdk_same_budget"]),
            target=None,
            cache="source file warm; the emulator holds objects in memory",
            note="context: the same number of resumable chunks, so the same work inside the emulator",
        ),
    ]


def _gets(ctx: Context, ours: Any, sdk: Client, source: Path, size: int, repeats: int) -> Measurement:
    with source.open("rb") as f:
        ours.put(BUCKET, "object", f)
    blob = sdk.bucket(BUCKET).blob("object")
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
            while chunk := reader.read(READ_CHUNK):
                out.write(chunk)

    def sdk_get(path: Path) -> None:
        with path.open("wb") as out:
            blob.download_to_file(out)

    contenders = [("ours", timed(driver_get)), ("sdk", timed(sdk_get))]
    ctx.log("get: warm-up")
    for _, warm in contenders:
        warm(-1)
    ctx.log(f"get: {repeats} interleaved rounds")
    runs = interleave(contenders, repeats)
    return Measurement(
        name=f"get {size // MiB} MiB vs google-cloud-storage",
        unit="MB/s",
        better="higher",
        ours=Series("GCSDriver.get, 1 MiB reads", runs["ours"], "ours"),
        peer=Series("download_to_file", runs["sdk"]),
        target=TARGET,
        cache="the emulator holds objects in memory; downloads written to the scratch disk",
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
            name=f"peak RSS growth, GCSDriver {op} {size // MiB} MiB",
            unit="MiB",
            better="lower",
            ours=Series(f"GCSDriver: {how[op]}", growth[op], "ours"),
            peer=budget,
            target=1.0,
            note="fresh process per probe; VmHWM reset through /proc/self/clear_refs",
        )
        for op in ("put", "get")
    ]


def _probe(op: str, dsn: str, source: Path, size: int) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.gcs_transfer", "probe", op, dsn, str(source), str(size)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"gcs rss probe {op} failed:\n{completed.stderr}")
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
        print("usage: python -m bench.gcs_transfer probe {put|get} DSN SOURCE SIZE", file=sys.stderr)
        return 2
    print(json.dumps(probe(argv[1], argv[2], Path(argv[3]), int(argv[4]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
