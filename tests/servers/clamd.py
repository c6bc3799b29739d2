"""A real clamd (Debian's clamav-daemon) on a free loopback port and a unix socket.

Its database is one custom ``.ndb`` signature matching the EICAR test string anywhere in a
stream, so clamd starts in well under a second and needs no network to fetch definitions.
Limits are small so the oversize paths run on objects of a few MiB:

* ``StreamMaxLength`` 1 MiB — the largest INSTREAM clamd accepts;
* ``MaxScanSize`` 4 MiB with ``AlertExceedsMax yes`` — content unpacked from an archive beyond
  it is reported as ``Heuristics.Limits.Exceeded.MaxScanSize`` instead of passing as clean;
* ``MaxFileSize`` 8 MiB, above both (clamd cuts an archive member short at ``MaxFileSize``
  without alerting, so that limit must never be the one reached first).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.servers.process import free_port, running

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Trove-Test-EICAR"
#: clamd appends ``.UNOFFICIAL`` to the names of signatures from a database it did not sign.
DETECTED_AS = f"{SIGNATURE}.UNOFFICIAL"

MiB = 1024 * 1024


@dataclass(frozen=True)
class ClamdServer:
    port: int
    unix_socket: Path
    stream_max_length: int
    max_scan_size: int
    config: Path
    log: Path
    host: str = "127.0.0.1"

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)


def clamd_binary() -> str | None:
    return shutil.which("clamd") or shutil.which("clamd", path="/usr/sbin:/usr/local/sbin")


def ping(address: tuple[str, int] | str) -> bool:
    """Whether clamd answers ``PONG`` (independent of the client under test)."""
    family = socket.AF_INET if isinstance(address, tuple) else socket.AF_UNIX
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(address)
            sock.sendall(b"zPING\0")
            return sock.recv(16) == b"PONG\0"
        except OSError:
            return False


@contextlib.contextmanager
def clamd_server(
    work: Path, *, stream_max_length: int = 1 * MiB, max_scan_size: int = 4 * MiB
) -> Iterator[ClamdServer]:
    """Run clamd with its own database and config under ``work`` until the block ends."""
    binary = clamd_binary()
    if binary is None:
        raise RuntimeError("clamd is not installed (apt-get install clamav-daemon)")
    database = work / "db"
    temporary = work / "tmp"
    database.mkdir()
    temporary.mkdir()
    (database / "trove-test.ndb").write_text(f"{SIGNATURE}:0:*:{EICAR.hex()}\n")
    port = free_port()
    unix_socket = work / "clamd.sock"
    config = work / "clamd.conf"
    config.write_text(
        "\n".join(
            [
                f"TCPSocket {port}",
                "TCPAddr 127.0.0.1",
                f"LocalSocket {unix_socket}",
                "Foreground true",
                f"DatabaseDirectory {database}",
                f"TemporaryDirectory {temporary}",
                f"PidFile {work / 'clamd.pid'}",
                f"LogFile {work / 'clamd.log'}",
                f"StreamMaxLength {stream_max_length}",
                f"MaxScanSize {max_scan_size}",
                f"MaxFileSize {2 * max(max_scan_size, stream_max_length)}",
                "AlertExceedsMax yes",
                "SelfCheck 0",
                "ScanArchive true",
                "",
            ]
        )
    )
    server = ClamdServer(
        port=port,
        unix_socket=unix_socket,
        stream_max_length=stream_max_length,
        max_scan_size=max_scan_size,
        config=config,
        log=work / "clamd.out",
    )
    argv = [binary, "--config-file", str(config)]
    with running(argv, port=port, name="clamd", log=server.log, ready=lambda: ping(server.address), timeout=30):
        yield server
