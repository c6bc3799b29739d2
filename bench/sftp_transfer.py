"""``sftp_transfer``: put and get of a 256 MiB object through ``SFTPDriver`` vs paramiko's own
transfer calls, both against one OpenSSH sshd on 127.0.0.1 started for the run.

The peer is paramiko's best: ``SFTPClient.putfo`` (pipelined 32 KiB writes) and ``getfo``
(prefetch, all reads queued at once), on a connection opened with paramiko's defaults.  Tried on
this machine and slower: an 8 MiB SSH window for ``getfo`` (several times slower — paramiko's
receive buffer moves its whole content on every 32 KiB read), and AES-GCM instead of paramiko's
default AES-CTR for both calls.  obstore has no SFTP store, so there is no second peer.

Ours is the driver as a DSN opens it, with ``durable=false`` for the ratio (``putfo`` does not
fsync); the default ``durable=true`` put is reported for context.  A put reads the same file
opened ``"rb"``; a get is streamed into a file in 1 MiB reads, as ``getfo`` writes one.  Each
put's output is deleted outside the timed region.  Peak RSS growth of our put and get is measured
in fresh interpreters (``python -m bench.sftp_transfer probe …``), from the kernel's high-water
mark after resetting it through ``/proc/self/clear_refs`` (sshd's own memory is not counted).

Needs root (sshd's chroot must belong to root), as the tests do.
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

import paramiko

from bench.machine import REPO
from bench.measure import MB, MiB, Stopwatch, interleave, write_random_file
from bench.model import Context, Measurement, Outcome, Series
from tests.servers.sftp import SFTPServer, sftp_server
from trove_dist.driver.base import Driver
from trove_dist.driver.registry import open_driver

BUCKET = "bench"
READ_CHUNK = 1 * MiB
TARGET = 0.9
RSS_BUDGET_MIB = 64.0


def run(ctx: Context) -> Outcome:
    size = 32 * MiB if ctx.quick else 256 * MiB
    repeats = 2 if ctx.quick else 5
    source = ctx.scratch / "source.bin"
    ctx.log(f"writing a {size // MiB} MiB random source file")
    write_random_file(source, size)
    outcome = Outcome(
        parameters={
            "object_bytes": size,
            "repeats": repeats,
            "read_chunk_bytes": READ_CHUNK,
            "server": "OpenSSH sshd (internal-sftp, chrooted) on 127.0.0.1",
            "ours": "SFTPDriver from a DSN: 255 KiB requests, 16 in flight, 8 MiB SSH window",
            "paramiko": "SSHClient defaults (2 MiB window); putfo / getfo (prefetch)",
        },
        notes=["client and server share the machine's two cores: encryption on both ends is the bottleneck"],
    )
    (ctx.scratch / "sshd").mkdir()
    with sftp_server(ctx.scratch / "sshd") as server:
        fast = open_driver(server.dsn(durable="false"))
        durable = open_driver(server.dsn())
        client, sftp = _paramiko(server)
        try:
            fast.create_bucket(BUCKET)
            outcome.measurements += _puts(ctx, fast, durable, sftp, server, source, size, repeats)
            outcome.measurements += _gets(ctx, fast, sftp, source, size, repeats)
            outcome.measurements += _rss(ctx, server.dsn(durable="false"), source, size, outcome)
        finally:
            fast.close()
            durable.close()
            client.close()
    return outcome


def _paramiko(server: SFTPServer) -> tuple[paramiko.SSHClient, paramiko.SFTPClient]:
    client = paramiko.SSHClient()
    client.load_host_keys(str(server.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        server.host,
        port=server.port,
        username=server.user,
        key_filename=str(server.client_key),
        look_for_keys=False,
        allow_agent=False,
    )
    return client, client.open_sftp()


def _rate(size: int, seconds: float) -> float:
    return size / seconds / MB


def _puts(
    ctx: Context,
    fast: Driver,
    durable: Driver,
    sftp: paramiko.SFTPClient,
    server: SFTPServer,
    source: Path,
    size: int,
    repeats: int,
) -> list[Measurement]:
    def driver_put(driver: Driver) -> Callable[[int], float]:
        def run(round_: int) -> float:
            key = f"put-{round_}"
            with Stopwatch() as sw, source.open("rb") as f:
                driver.put(BUCKET, key, f)
            driver.delete(BUCKET, key)
            return _rate(size, sw.seconds)

        return run

    def paramiko_put(round_: int) -> float:
        path = f"/data/{BUCKET}/putfo-{round_}"
        with Stopwatch() as sw, source.open("rb") as f:
            sftp.putfo(f, path)
        sftp.remove(path)
        return _rate(size, sw.seconds)

    contenders = [("ours", driver_put(fast)), ("durable", driver_put(durable)), ("paramiko", paramiko_put)]
    ctx.log(f"put: {repeats} interleaved rounds")
    runs = interleave(contenders, repeats)
    human = f"{size // MiB} MiB"
    peer = Series("paramiko SFTPClient.putfo(file opened 'rb')", runs["paramiko"])
    return [
        Measurement(
            name=f"put {human} vs paramiko",
            unit="MB/s",
            better="higher",
            ours=Series("SFTPDriver.put(file opened 'rb'), durable=false", runs["ours"], "ours"),
            peer=peer,
            target=TARGET,
            cache="source file warm; server writes into its page cache",
        ),
        Measurement(
            name=f"put {human} vs paramiko, durable=true",
            unit="MB/s",
            better="higher",
            ours=Series("SFTPDriver.put(file opened 'rb'), durable=true (fsync@openssh.com)", runs["durable"], "ours"),
            peer=peer,
            target=None,
            cache="source file warm; ours waits for the server's disk",
            note="report only: putfo does not fsync",
        ),
    ]


def _gets(
    ctx: Context, driver: Driver, sftp: paramiko.SFTPClient, source: Path, size: int, repeats: int
) -> list[Measurement]:
    with source.open("rb") as f:
        driver.put(BUCKET, "object", f)
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
        with driver.get(BUCKET, "object") as reader, path.open("wb") as out:
            shutil.copyfileobj(reader, out, READ_CHUNK)

    def paramiko_get(path: Path) -> None:
        with path.open("wb") as out:
            sftp.getfo(f"/data/{BUCKET}/object", out)

    ctx.log(f"get: {repeats} interleaved rounds")
    runs = interleave([("ours", timed(driver_get)), ("paramiko", timed(paramiko_get))], repeats)
    return [
        Measurement(
            name=f"get {size // MiB} MiB vs paramiko",
            unit="MB/s",
            better="higher",
            ours=Series("SFTPDriver.get → file, 1 MiB reads", runs["ours"], "ours"),
            peer=Series("paramiko SFTPClient.getfo(prefetch) → file", runs["paramiko"]),
            target=TARGET,
            cache="object in the server's page cache; download into this machine's page cache",
        )
    ]


def _rss(ctx: Context, dsn: str, source: Path, size: int, outcome: Outcome) -> list[Measurement]:
    growth: dict[str, list[float]] = {"put": [], "get": []}
    probes: list[dict[str, Any]] = []
    for round_ in range(2):
        ctx.log(f"rss: round {round_ + 1}/2")
        for op in ("put", "get"):
            result = _probe(op, dsn, source, size)
            probes.append(result)
            growth[op].append(int(result["growth"]) / MiB)
    outcome.parameters["rss_probes"] = probes
    budget = Series(f"budget {RSS_BUDGET_MIB:g} MiB", [RSS_BUDGET_MIB], "limit")
    how = {"put": "put from a file opened 'rb'", "get": "get, 1 MiB reads"}
    return [
        Measurement(
            name=f"peak RSS growth, SFTPDriver {op} {size // MiB} MiB",
            unit="MiB",
            better="lower",
            ours=Series(f"SFTPDriver: {how[op]}", growth[op], "ours"),
            peer=budget,
            target=1.0,
            note="fresh process per probe; VmHWM reset through /proc/self/clear_refs",
        )
        for op in ("put", "get")
    ]


def _probe(op: str, dsn: str, source: Path, size: int) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.sftp_transfer", "probe", op, dsn, str(source), str(size)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"sftp rss probe {op} failed:\n{completed.stderr}")
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
    driver.ping()  # the connection and lazy imports are set up before the baseline
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
        print("usage: python -m bench.sftp_transfer probe {put|get} DSN SOURCE SIZE", file=sys.stderr)
        return 2
    print(json.dumps(probe(argv[1], argv[2], Path(argv[3]), int(argv[4]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
