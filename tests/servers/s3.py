"""moto's S3 server as a separate process on 127.0.0.1, for the S3 driver's tests and benchmark.

A process rather than ``ThreadedMotoServer``: moto is pure Python, and in its own process it
does not compete with the test (or the benchmark's client) for one interpreter lock.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.servers.process import free_port, running

#: moto accepts any key pair; these are what the tests put in their DSNs.
ACCESS_KEY = "trove-test-access"
SECRET_KEY = "trove-test-secret-do-not-log"


@dataclass(frozen=True)
class MotoServer:
    host: str
    port: int

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def dsn(self, **params: str) -> str:
        """A DSN for this server.  The region defaults to eu-west-1: outside us-east-1, S3 (and
        moto) refuse to re-create a bucket one owns, which bucket creation relies on."""
        query = "&".join(f"{k}={v}" for k, v in {"tls": "false", "region": "eu-west-1", **params}.items())
        return f"s3://{ACCESS_KEY}:{SECRET_KEY}@{self.host}:{self.port}?{query}"

    def reset(self) -> None:
        """Forget every bucket, object and upload (moto's own reset endpoint)."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def moto_server(log_dir: Path) -> Iterator[MotoServer]:
    """Run ``moto_server`` on a free loopback port until the with-block ends."""
    port = free_port()
    server = MotoServer("127.0.0.1", port)
    executable = Path(sys.executable).with_name("moto_server")
    with running(
        [str(executable), "-H", server.host, "-p", str(port)],
        port=port,
        name="moto_server",
        log=log_dir / "moto_server.log",
        ready=lambda: _answers(server.endpoint_url),
    ):
        yield server


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 in front of a server that can drop one connection mid-response.

    ``cut_after(n)`` arms it: the next connection whose server-to-client bytes reach ``n`` is
    closed on both sides, as a network failure would.  Everything else is passed through.  It
    is how the tests exercise a connection lost half-way through a download against the real
    server, rather than by faking the SDK's stream.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._armed: int | None = None
        self.cuts = 0
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._accepter = threading.Thread(target=self._accept, name="cutting-proxy", daemon=True)
        self._accepter.start()

    def cut_after(self, count: int) -> None:
        with self._lock:
            self._armed = count

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink, counted in ((client, upstream, False), (upstream, client, True)):
                thread = threading.Thread(
                    target=self._pump, args=(source, sink, counted, client, upstream), daemon=True
                )
                self._threads.append(thread)
                thread.start()

    def _pump(
        self, source: socket.socket, sink: socket.socket, counted: bool, client: socket.socket, upstream: socket.socket
    ) -> None:
        sent = 0
        try:
            while data := source.recv(65536):
                if counted:
                    with self._lock:
                        limit = self._armed
                    if limit is not None and sent + len(data) >= limit:
                        sink.sendall(data[: max(0, limit - sent)])
                        with self._lock:
                            self._armed = None
                            self.cuts += 1
                        for sock in (client, upstream):
                            with contextlib.suppress(OSError):
                                sock.shutdown(socket.SHUT_RDWR)
                        return
                    sent += len(data)
                sink.sendall(data)
        except OSError:
            return
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:  # shutdown wakes a pump blocked in recv; close alone would not
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._accepter.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)
