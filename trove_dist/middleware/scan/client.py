"""A client for clamd's INSTREAM protocol, one connection per scan.

``zINSTREAM\\0``, then the content as frames each prefixed by its length (4 bytes, big-endian),
then a zero length; clamd scans what it received and answers ``stream: OK`` or
``stream: NAME FOUND`` (NUL-terminated, as every ``z``-command reply), and closes the
connection.  Content is sent as it arrives, frame by frame, from views of the caller's
buffers: nothing is copied or held back, and each send is bounded by ``frame_size`` and by
``io_timeout``.

Two ways clamd ends a stream early, both of which this client reports instead of hiding:

* past its ``StreamMaxLength`` clamd answers ``INSTREAM size limit exceeded. ERROR`` and
  closes while the client may still be sending — so after a failed send the client still reads
  the reply, which says why;
* if the client pauses longer than clamd's ``ReadTimeout`` between frames, clamd drops the
  connection.  That server setting must exceed the longest pause of the writer (for a tee into
  a slow upload: the time to store one chunk).
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from trove_dist.middleware.scan.errors import ScannerUnavailable

#: ``(host, port)`` for TCP, or the path of clamd's unix socket (``LocalSocket``).
Address = tuple[str, int] | str | os.PathLike[str]

#: Signature names clamd gives (with ``AlertExceedsMax yes``) when one of its own limits
#: stopped the scan: MaxFileSize, MaxScanSize, MaxRecursion, MaxFiles, ...
LIMITS_EXCEEDED = "Heuristics.Limits.Exceeded."

_LENGTH = struct.Struct(">I")
_END_OF_STREAM = _LENGTH.pack(0)
#: A verdict is one short line; anything longer is not clamd.
_MAX_REPLY = 4096
#: How long to wait for clamd's explanation after a send failed (it normally sent it first).
_REPLY_GRACE = 2.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """What clamd said about one stream: ``signature`` is ``None`` for clean content."""

    signature: str | None = None

    @property
    def clean(self) -> bool:
        return self.signature is None

    @property
    def limits_exceeded(self) -> bool:
        """Not a detection: clamd could not scan all of the content within its limits."""
        return self.signature is not None and self.signature.startswith(LIMITS_EXCEEDED)


class Clamd:
    """Where clamd listens and how long to wait for it.

    ``connect_timeout`` bounds connecting, ``io_timeout`` each send (a stalled clamd fails the
    write instead of hanging it), ``scan_timeout`` the wait for the verdict once the stream is
    complete (a large archive takes a while to unpack).
    """

    def __init__(
        self,
        address: Address,
        *,
        connect_timeout: float = 5.0,
        io_timeout: float = 30.0,
        scan_timeout: float = 120.0,
        frame_size: int = 64 * 1024,
    ) -> None:
        if isinstance(address, tuple):
            host, port = address
            if not host or not 0 < port < 65536:
                raise ValueError(f"not a TCP address: {address!r}")
            self.address: tuple[str, int] | str = (host, port)
        else:
            self.address = os.fspath(address)
            if not self.address:
                raise ValueError("the unix socket path is empty")
        for name, value in (
            ("connect_timeout", connect_timeout),
            ("io_timeout", io_timeout),
            ("scan_timeout", scan_timeout),
        ):
            if not value > 0:
                raise ValueError(f"{name} must be positive, not {value!r}")
        if not 0 < frame_size < 2**32:
            raise ValueError("frame_size must be between 1 and 2**32 - 1")
        self.connect_timeout = connect_timeout
        self.io_timeout = io_timeout
        self.scan_timeout = scan_timeout
        self.frame_size = frame_size

    @property
    def name(self) -> str:
        """The address as errors and logs show it: ``tcp://127.0.0.1:3310``, ``unix:/run/…``."""
        if isinstance(self.address, tuple):
            host, port = self.address
            return f"tcp://[{host}]:{port}" if ":" in host else f"tcp://{host}:{port}"
        return f"unix:{self.address}"

    def __repr__(self) -> str:
        return f"Clamd({self.name})"

    def _connect(self) -> socket.socket:
        try:
            if isinstance(self.address, tuple):
                sock = socket.create_connection(self.address, timeout=self.connect_timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            else:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.settimeout(self.connect_timeout)
                    sock.connect(self.address)
                except BaseException:
                    sock.close()
                    raise
        except OSError as exc:
            raise ScannerUnavailable(
                self.name, f"cannot connect: {_describe(exc, f'connect_timeout={self.connect_timeout} s')}"
            ) from exc
        sock.settimeout(self.io_timeout)
        return sock

    def ping(self) -> None:
        """Check that clamd answers (``PING`` → ``PONG``); ``ScannerUnavailable`` otherwise."""
        with self._connect() as sock:
            try:
                sock.sendall(b"zPING\0")
                reply = _read_reply(sock, self.name)
            except OSError as exc:
                raise ScannerUnavailable(
                    self.name, f"PING failed: {_describe(exc, f'io_timeout={self.io_timeout} s')}"
                ) from exc
        if reply != "PONG":
            raise ScannerUnavailable(self.name, f"answered {reply!r} to PING")

    def instream(self) -> InStream:
        """Open a connection and start one INSTREAM scan."""
        sock = self._connect()
        stream = InStream(self, sock)
        stream._send(b"zINSTREAM\0")
        return stream

    def scan(self, chunks: Iterable[bytes | bytearray | memoryview]) -> Verdict:
        """Scan content given whole or in pieces."""
        with self.instream() as stream:
            for chunk in chunks:
                stream.send(chunk)
            return stream.finish()


class InStream:
    """One INSTREAM scan in progress: ``send`` the content in order, then ``finish``."""

    def __init__(self, clamd: Clamd, sock: socket.socket) -> None:
        self._clamd = clamd
        self._sock: socket.socket | None = sock
        #: Content bytes sent so far (framing excluded).
        self.sent = 0

    def send(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        frame = self._clamd.frame_size
        for start in range(0, len(view), frame):  # an empty chunk sends nothing: 0 ends the stream
            part = view[start : start + frame]
            self._send(_LENGTH.pack(len(part)), part)
            self.sent += len(part)

    def finish(self) -> Verdict:
        """End the stream and wait for the verdict; the connection is closed either way."""
        try:
            self._send(_END_OF_STREAM)
            sock = self._open()
            sock.settimeout(self._clamd.scan_timeout)
            try:
                reply = _read_reply(sock, self._clamd.name)
            except TimeoutError as exc:
                raise ScannerUnavailable(
                    self._clamd.name, f"no verdict within scan_timeout={self._clamd.scan_timeout} s"
                ) from exc
            except OSError as exc:
                raise ScannerUnavailable(self._clamd.name, f"reading the verdict failed: {_describe(exc, '')}") from exc
            return self._verdict(reply)
        finally:
            self.close()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _open(self) -> socket.socket:
        if self._sock is None:
            raise RuntimeError("this INSTREAM scan is finished; open another with Clamd.instream()")
        return self._sock

    def _send(self, *buffers: bytes | memoryview) -> None:
        sock = self._open()
        views = [memoryview(b) for b in buffers]
        try:
            while views:
                done = sock.sendmsg(views)
                while done:
                    if done >= len(views[0]):
                        done -= len(views.pop(0))
                    else:
                        views[0] = views[0][done:]
                        done = 0
        except OSError as exc:
            # clamd may have stopped the stream on purpose and said why before closing.
            reply = self._reply_after_failure(sock)
            self.close()
            if reply:
                raise ScannerUnavailable(
                    self._clamd.name, f"answered {reply!r} after {self.sent} bytes{_hint(reply)}"
                ) from exc
            raise ScannerUnavailable(
                self._clamd.name,
                f"sending failed after {self.sent} bytes: {_describe(exc, f'io_timeout={self._clamd.io_timeout} s')}",
            ) from exc

    def _reply_after_failure(self, sock: socket.socket) -> str | None:
        try:
            sock.settimeout(min(_REPLY_GRACE, self._clamd.io_timeout))
            return _read_reply(sock, self._clamd.name)
        except (OSError, ScannerUnavailable):
            return None  # no explanation to add; the caller reports the send failure itself

    def _verdict(self, reply: str) -> Verdict:
        if reply == "stream: OK":
            return Verdict()
        if reply.startswith("stream: ") and reply.endswith(" FOUND"):
            signature = reply[len("stream: ") : -len(" FOUND")].strip()
            if signature:
                return Verdict(signature)
        if reply.endswith("ERROR"):
            raise ScannerUnavailable(self._clamd.name, f"answered {reply!r}{_hint(reply)}")
        raise ScannerUnavailable(self._clamd.name, f"answered {reply!r}, which is not a verdict")


def _read_reply(sock: socket.socket, scanner: str) -> str:
    """One NUL-terminated reply (or all the peer sent before closing)."""
    data = bytearray()
    while b"\0" not in data:
        if len(data) > _MAX_REPLY:
            raise ScannerUnavailable(scanner, f"sent a reply longer than {_MAX_REPLY} bytes")
        received = sock.recv(1024)
        if not received:
            break
        data += received
    reply = bytes(data).split(b"\0", 1)[0].decode("utf-8", "replace").strip()
    if not reply:
        raise ScannerUnavailable(scanner, "closed the connection without a reply")
    return reply


def _hint(reply: str) -> str:
    if "size limit exceeded" in reply:
        return (
            " — the stream is longer than clamd's StreamMaxLength: the scanner's max_stream_bytes must not "
            "exceed that setting"
        )
    return ""


def _describe(exc: OSError, timeout: str) -> str:
    if isinstance(exc, TimeoutError):
        return f"timed out ({timeout})" if timeout else "timed out"
    return exc.strerror or str(exc) or type(exc).__name__
