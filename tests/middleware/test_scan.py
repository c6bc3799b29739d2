"""The Scan middleware against a real clamd (tests/servers/clamd.py), through Trove.

Protocol failures a real clamd does not produce on demand (silence, a garbage reply, a hang-up
mid-verdict, a peer that stops reading) are played by small fake servers on loopback.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import socket
import struct
import threading
import zipfile
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest

from tests.servers.clamd import DETECTED_AS, EICAR, ClamdServer, clamd_server
from tests.servers.process import free_port
from trove_dist import Trove
from trove_dist.drivers.local import LocalDriver
from trove_dist.drivers.local.driver import TEMP_PREFIX
from trove_dist.drivers.memory import MemoryDriver
from trove_dist.errors import ContentBlocked, ObjectNotFound
from trove_dist.middleware import ForBuckets, Operation
from trove_dist.middleware.compress import Compress
from trove_dist.middleware.context import Direction
from trove_dist.middleware.encrypt import Encrypt, StaticKeyProvider
from trove_dist.middleware.scan import (
    Clamd,
    InfectedContent,
    Scan,
    ScannerUnavailable,
    TooLargeToScan,
    Verdict,
)

MiB = 1024 * 1024
SCAN_LOG = "trove_dist.middleware.scan.middleware"


@pytest.fixture(scope="session")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClamdServer]:
    with clamd_server(tmp_path_factory.mktemp("clamd")) as server:
        yield server


def _trove(kind: str, root: Path, chunk_size: int = 8 * MiB) -> Trove:
    driver = LocalDriver(root, durable=False) if kind == "local" else MemoryDriver()
    trove = Trove(driver, chunk_size=chunk_size)
    trove.create_bucket("uploads")
    trove.create_bucket("other")
    return trove


@pytest.fixture(params=["local", "memory"])
def trove(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Trove]:
    with _trove(request.param, tmp_path / "store") as t:
        yield t


def _read(trove: Trove, bucket: str, key: str) -> bytes:
    with trove.get(bucket, key) as reader:
        return reader.read()


def _no_temporaries(root: Path) -> bool:
    return not [p for p in root.rglob("*") if p.name.startswith(TEMP_PREFIX)]


def _zip(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def _pattern(size: int) -> bytes:
    """Incompressible-looking, deterministic filler with no EICAR in it."""
    return (bytes(range(256)) * (size // 256 + 1))[:size]


# ---- the verdicts ---------------------------------------------------------------------------


def test_clean_object_is_stored_and_readable(trove: Trove, clamd: ClamdServer) -> None:
    trove.use(Scan(clamd.address))
    info = trove.put("uploads", "notes.txt", b"nothing to see here")
    assert info.size == 19
    assert _read(trove, "uploads", "notes.txt") == b"nothing to see here"


def test_empty_object_is_scanned_and_stored(trove: Trove, clamd: ClamdServer) -> None:
    trove.use(Scan(clamd.address))
    trove.put("uploads", "empty", b"")
    assert _read(trove, "uploads", "empty") == b""


def test_infected_object_is_refused_and_the_previous_version_stays(
    trove: Trove, clamd: ClamdServer, tmp_path: Path
) -> None:
    trove.use(Scan(clamd.address))
    trove.put("uploads", "report.txt", b"version 1")
    with pytest.raises(InfectedContent) as caught:
        trove.put("uploads", "report.txt", b"version 2 carries " + EICAR + b" inside")
    assert isinstance(caught.value, ContentBlocked)
    assert caught.value.signature == DETECTED_AS
    assert DETECTED_AS in str(caught.value)
    assert "uploads/report.txt" in str(caught.value)
    assert _read(trove, "uploads", "report.txt") == b"version 1"

    with pytest.raises(InfectedContent):
        trove.put("uploads", "fresh.txt", EICAR)
    assert not trove.exists("uploads", "fresh.txt")
    with pytest.raises(ObjectNotFound):
        trove.get("uploads", "fresh.txt")
    assert [o.key for o in trove.list("uploads").objects] == ["report.txt"]
    assert _no_temporaries(tmp_path)  # the local driver's staged file is gone too


@pytest.mark.parametrize("cut", [1, 20, 34, 67])
def test_signature_split_across_two_chunks_is_found(clamd: ClamdServer, cut: int) -> None:
    data = b"a" * 100 + EICAR + b"b" * 100
    with Trove(MemoryDriver()) as trove:
        trove.create_bucket("uploads")
        trove.use(Scan(clamd.address))
        with pytest.raises(InfectedContent):
            trove.put("uploads", "split", iter([data[: 100 + cut], data[100 + cut :]]))
        assert not trove.exists("uploads", "split")


@pytest.mark.parametrize("chunk_size", [1, 7, 64])
def test_signature_spread_over_many_small_chunks_is_found(clamd: ClamdServer, chunk_size: int) -> None:
    with Trove(MemoryDriver(), chunk_size=chunk_size) as trove:
        trove.create_bucket("uploads")
        trove.use(Scan(Clamd(clamd.address, frame_size=5)))  # small frames too
        with pytest.raises(InfectedContent):
            trove.put("uploads", "spread", b"x" * 33 + EICAR + b"y" * 33)
        assert not trove.exists("uploads", "spread")


def test_an_empty_chunk_does_not_end_the_stream(clamd: ClamdServer) -> None:
    scanner = Clamd(clamd.address)
    assert scanner.scan([EICAR[:10], b"", EICAR[10:]]) == Verdict(DETECTED_AS)
    assert scanner.scan([b"clean", b"", b"still clean"]).clean


def test_eicar_inside_a_zip_is_found(trove: Trove, clamd: ClamdServer) -> None:
    archive = _zip("readme.txt", EICAR * 3)
    assert EICAR not in archive  # deflated: only unpacking finds it
    trove.use(Scan(clamd.address))
    with pytest.raises(InfectedContent, match=DETECTED_AS):
        trove.put("uploads", "bundle.zip", archive)
    assert not trove.exists("uploads", "bundle.zip")
    trove.put("uploads", "fine.zip", _zip("readme.txt", b"harmless"))
    assert trove.exists("uploads", "fine.zip")


def test_clamd_limit_inside_an_archive_refuses_instead_of_passing(trove: Trove, clamd: ClamdServer) -> None:
    """A small zip whose member unpacks past clamd's MaxScanSize: clamd cannot scan it all and
    says so (AlertExceedsMax); that is a refusal, not a detection."""
    detections: list[str] = []
    archive = _zip("bomb.bin", bytes(clamd.max_scan_size + MiB) + EICAR)
    assert len(archive) < clamd.stream_max_length
    trove.use(Scan(clamd.address, on_detect=lambda op, sig: detections.append(sig)))
    with pytest.raises(TooLargeToScan, match=r"Heuristics\.Limits\.Exceeded\.MaxScanSize") as caught:
        trove.put("uploads", "bomb.zip", archive)
    assert "MaxScanSize" in caught.value.reason
    assert not trove.exists("uploads", "bomb.zip")
    assert detections == []


def test_unix_socket(trove: Trove, clamd: ClamdServer) -> None:
    scan = Scan(str(clamd.unix_socket))
    scan.check()
    trove.use(scan)
    trove.put("uploads", "ok", b"fine")
    with pytest.raises(InfectedContent, match=f"unix:{clamd.unix_socket}"):
        trove.put("uploads", "bad", EICAR)
    assert not trove.exists("uploads", "bad")


# ---- on_detect, scope, composition ----------------------------------------------------------


def test_on_detect_is_called_once_with_the_operation_and_signature(trove: Trove, clamd: ClamdServer) -> None:
    calls: list[tuple[Operation, str]] = []
    trove.use(Scan(clamd.address, on_detect=lambda op, sig: calls.append((op, sig))))
    trove.put("uploads", "clean", b"clean")
    assert calls == []
    with pytest.raises(InfectedContent):
        trove.put("uploads", "dir/bad.bin", EICAR)
    assert len(calls) == 1
    op, signature = calls[0]
    assert (op.direction, op.bucket, op.key, signature) == (Direction.WRITE, "uploads", "dir/bad.bin", DETECTED_AS)


def test_a_failing_on_detect_hook_still_refuses(
    trove: Trove, clamd: ClamdServer, caplog: pytest.LogCaptureFixture
) -> None:
    def hook(op: Operation, signature: str) -> None:
        raise RuntimeError("alerting is down")

    trove.use(Scan(clamd.address, on_detect=hook))
    with caplog.at_level(logging.ERROR, logger=SCAN_LOG), pytest.raises(InfectedContent) as caught:
        trove.put("uploads", "bad", EICAR)
    assert any("alerting is down" in note for note in caught.value.__notes__)
    assert "on_detect hook failed" in caplog.text
    assert not trove.exists("uploads", "bad")


def test_scope_scans_only_the_registered_bucket(trove: Trove, clamd: ClamdServer) -> None:
    trove.use(Scan(clamd.address), scope=ForBuckets("uploads"))
    trove.put("other", "sample.com", EICAR)  # out of scope: stored as is
    assert _read(trove, "other", "sample.com") == EICAR
    with pytest.raises(InfectedContent):
        trove.put("uploads", "sample.com", EICAR)
    assert not trove.exists("uploads", "sample.com")


@pytest.mark.parametrize("scan_priority", [-10, 10])
def test_scan_sees_plaintext_under_compression_and_encryption(
    trove: Trove, clamd: ClamdServer, scan_priority: int
) -> None:
    trove.use(Compress(min_size=1))
    trove.use(Encrypt(StaticKeyProvider(os.urandom(32))), priority=5)
    trove.use(Scan(clamd.address), priority=scan_priority)
    infected = b"=" * 5000 + EICAR + b"=" * 5000  # compresses well: the stored bytes hide the string
    with pytest.raises(InfectedContent):
        trove.put("uploads", "hidden.txt", infected)
    assert not trove.exists("uploads", "hidden.txt")

    clean = b"plain words " * 1000
    trove.put("uploads", "clean.txt", clean)
    assert _read(trove, "uploads", "clean.txt") == clean
    with trove.driver.get("uploads", "clean.txt") as raw:
        stored = raw.read()
    assert b"plain words" not in stored  # framed, compressed and encrypted on disk


# ---- scanner failures: fail-closed by default ----------------------------------------------


def test_scanner_down_refuses_the_write(trove: Trove) -> None:
    port = free_port()  # nothing listens there
    trove.use(Scan(("127.0.0.1", port)))
    with pytest.raises(ScannerUnavailable) as caught:
        trove.put("uploads", "doc.txt", b"harmless")
    assert isinstance(caught.value, ContentBlocked)
    assert f"tcp://127.0.0.1:{port}" in str(caught.value)
    assert "cannot connect" in str(caught.value)
    assert any("fail-closed" in note for note in caught.value.__notes__)
    assert not trove.exists("uploads", "doc.txt")
    with pytest.raises(ScannerUnavailable):
        Scan(("127.0.0.1", port)).check()


def test_fail_open_lets_the_write_through_with_a_warning(trove: Trove, caplog: pytest.LogCaptureFixture) -> None:
    trove.use(Scan(("127.0.0.1", free_port()), fail_open=True))
    with caplog.at_level(logging.WARNING, logger=SCAN_LOG):
        trove.put("uploads", "doc.txt", b"harmless")
    assert _read(trove, "uploads", "doc.txt") == b"harmless"
    assert "UNSCANNED" in caplog.text
    assert "uploads/doc.txt" in caplog.text


def test_fail_open_never_lets_a_detection_through(trove: Trove, clamd: ClamdServer) -> None:
    trove.use(Scan(clamd.address, fail_open=True))
    with pytest.raises(InfectedContent):
        trove.put("uploads", "bad", EICAR)
    assert not trove.exists("uploads", "bad")


def test_missing_unix_socket_refuses(tmp_path: Path) -> None:
    path = tmp_path / "no-clamd.sock"
    with Trove(MemoryDriver()) as trove:
        trove.create_bucket("uploads")
        trove.use(Scan(path))
        with pytest.raises(ScannerUnavailable, match=f"unix:{path}.*cannot connect"):
            trove.put("uploads", "a", b"a")
        assert not trove.exists("uploads", "a")


def test_connect_timeout_refuses() -> None:
    with socket.create_server(("127.0.0.1", 0), backlog=0) as listener:
        address = listener.getsockname()[:2]
        with socket.create_connection(address):  # fills the accept queue: the next SYN is dropped
            scanner = Clamd(address, connect_timeout=0.3)
            with pytest.raises(ScannerUnavailable, match=r"cannot connect: timed out \(connect_timeout=0.3 s\)"):
                scanner.instream()


# ---- the stream limit ----------------------------------------------------------------------


def test_oversize_refuse_stops_before_the_limit(trove: Trove, clamd: ClamdServer, tmp_path: Path) -> None:
    limit = clamd.stream_max_length
    trove.use(Scan(clamd.address, max_stream_bytes=limit))
    trove.put("uploads", "exactly", _pattern(limit))  # the limit itself fits
    assert trove.head("uploads", "exactly").size == limit
    with pytest.raises(TooLargeToScan) as caught:
        trove.put("uploads", "too-big", _pattern(limit + 1))
    assert f"stream limit of {limit} bytes" in str(caught.value)
    assert "oversize='segments'" in str(caught.value)
    assert not trove.exists("uploads", "too-big")
    assert _no_temporaries(tmp_path)


def test_oversize_refuse_raises_before_sending_the_excess(clamd: ClamdServer) -> None:
    """The refusal comes from the policy, not from clamd truncating or erroring."""
    limit = clamd.stream_max_length
    scan = Scan(clamd.address, max_stream_bytes=limit)
    op = Operation(Direction.WRITE, "uploads", "k")
    stream = scan.wrap_write(op, iter([_pattern(limit - 10), b"0123456789", b"!"]))
    assert len(next(stream)) == limit - 10
    assert next(stream) == b"0123456789"
    with pytest.raises(TooLargeToScan):
        next(stream)


@pytest.mark.parametrize("chunk_size", [300_001, 8 * MiB])
def test_oversize_segments_passes_a_clean_large_object(clamd: ClamdServer, tmp_path: Path, chunk_size: int) -> None:
    data = _pattern(3 * MiB + 12345)
    with _trove("local", tmp_path, chunk_size) as trove:
        trove.use(Scan(clamd.address, max_stream_bytes=clamd.stream_max_length, oversize="segments", overlap=64 * 1024))
        trove.put("uploads", "large.bin", data)
        assert _read(trove, "uploads", "large.bin") == data


@pytest.mark.parametrize(
    "offset",
    [
        3 * MiB + 10000,  # near the end, in the last window
        MiB - 30,  # straddles the end of the first window: found whole in the second
        2 * MiB - 64 * 1024 - 30,  # straddles the end of the second window (windows step by 1 MiB - overlap)
    ],
)
@pytest.mark.parametrize("kind", ["local", "memory"])
def test_oversize_segments_finds_eicar_anywhere(clamd: ClamdServer, tmp_path: Path, offset: int, kind: str) -> None:
    size = 3 * MiB + 12345
    data = bytearray(_pattern(size))
    data[offset : offset + len(EICAR)] = EICAR
    calls: list[str] = []
    with _trove(kind, tmp_path / "store", 300_001) as trove:
        trove.use(
            Scan(
                clamd.address,
                max_stream_bytes=clamd.stream_max_length,
                oversize="segments",
                overlap=64 * 1024,
                on_detect=lambda op, sig: calls.append(sig),
            )
        )
        trove.put("uploads", "large.bin", b"an earlier, clean version")
        with pytest.raises(InfectedContent, match=r"in bytes \d+-\d+ of the object") as caught:
            trove.put("uploads", "large.bin", bytes(data))
        assert caught.value.signature == DETECTED_AS
        window = re.search(r"in bytes (\d+)-(\d+) of the object", str(caught.value))
        assert window is not None
        start, end = int(window[1]), int(window[2])
        assert start <= offset
        assert offset + len(EICAR) <= end
        assert end - start <= clamd.stream_max_length
        assert calls == [DETECTED_AS]
        assert _read(trove, "uploads", "large.bin") == b"an earlier, clean version"
    if kind == "local":
        assert _no_temporaries(tmp_path / "store")


def test_a_limit_above_clamds_fails_loudly_never_truncates(trove: Trove, clamd: ClamdServer) -> None:
    """max_stream_bytes set higher than clamd's StreamMaxLength: clamd stops the stream and the
    write is refused with clamd's own words, not scanned in part."""
    trove.use(Scan(clamd.address, max_stream_bytes=64 * MiB))
    with pytest.raises(ScannerUnavailable, match="INSTREAM size limit exceeded") as caught:
        trove.put("uploads", "big", _pattern(3 * MiB))
    assert "StreamMaxLength" in str(caught.value)
    assert not trove.exists("uploads", "big")


def test_clamds_reply_is_read_when_a_send_fails(clamd: ClamdServer) -> None:
    """Past StreamMaxLength clamd answers and closes while we are still sending: the send fails
    (broken pipe / reset) and the error carries clamd's reply."""
    with Clamd(clamd.address).instream() as stream:
        with pytest.raises(ScannerUnavailable, match=r"answered 'INSTREAM size limit exceeded\. ERROR' after"):
            stream.send(bytes(32 * MiB))
        with pytest.raises(RuntimeError, match="finished"):
            stream.send(b"more")


def test_fail_open_after_a_mid_stream_failure(
    trove: Trove, clamd: ClamdServer, caplog: pytest.LogCaptureFixture
) -> None:
    trove.use(Scan(clamd.address, max_stream_bytes=64 * MiB, fail_open=True))
    data = _pattern(3 * MiB)
    with caplog.at_level(logging.WARNING, logger=SCAN_LOG):
        trove.put("uploads", "big", data)
    assert _read(trove, "uploads", "big") == data
    assert "UNSCANNED" in caplog.text
    assert "size limit exceeded" in caplog.text


# ---- protocol failures from fake servers ----------------------------------------------------


def _read_instream(conn: socket.socket) -> bytes:
    """Read one INSTREAM command and its frames, as clamd would."""
    buffer = conn.makefile("rb")
    assert buffer.read(10) == b"zINSTREAM\0"
    content = bytearray()
    while True:
        (length,) = struct.unpack(">I", buffer.read(4))
        if length == 0:
            return bytes(content)
        content += buffer.read(length)


@contextlib.contextmanager
def fake_clamd(handle: Callable[[socket.socket, threading.Event], None]) -> Iterator[tuple[str, int]]:
    """A loopback server that runs ``handle`` on each connection, one at a time."""
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    # A small receive buffer (inherited by accepted sockets) makes "never reads" fill up fast.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                handle(conn, stop)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[:2]
    finally:
        stop.set()
        thread.join(10)
        listener.close()


def _silent(conn: socket.socket, stop: threading.Event) -> None:
    _read_instream(conn)
    conn.recv(1)  # until the client gives up and closes


def _garbage(conn: socket.socket, stop: threading.Event) -> None:
    _read_instream(conn)
    conn.sendall(b"hello there\0")


def _hang_up(conn: socket.socket, stop: threading.Event) -> None:
    _read_instream(conn)


def _never_read(conn: socket.socket, stop: threading.Event) -> None:
    stop.wait(10)


def _endless(conn: socket.socket, stop: threading.Event) -> None:
    _read_instream(conn)
    with contextlib.suppress(OSError):  # the client closes once it has seen enough
        conn.sendall(b"stream: " + b"x" * 10000)


def _error(conn: socket.socket, stop: threading.Event) -> None:
    _read_instream(conn)
    conn.sendall(b"stream: Can't allocate memory ERROR\0")


def _pong_wrong(conn: socket.socket, stop: threading.Event) -> None:
    conn.recv(16)
    conn.sendall(b"PANG\0")


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (_silent, r"no verdict within scan_timeout=0.3 s"),
        (_garbage, r"answered 'hello there', which is not a verdict"),
        (_hang_up, r"closed the connection without a reply"),
        (_endless, r"sent a reply longer than 4096 bytes"),
        (_error, r"answered \"stream: Can't allocate memory ERROR\""),
    ],
)
def test_no_verdict_refuses_the_write(handler: Callable[[socket.socket, threading.Event], None], message: str) -> None:
    with fake_clamd(handler) as address, Trove(MemoryDriver()) as trove:
        trove.create_bucket("uploads")
        trove.use(Scan(Clamd(address, scan_timeout=0.3)))
        with pytest.raises(ScannerUnavailable, match=message) as caught:
            trove.put("uploads", "a", b"payload")
        assert caught.value.scanner == f"tcp://{address[0]}:{address[1]}"
        assert not trove.exists("uploads", "a")


def test_a_scanner_that_stops_reading_times_out_the_send() -> None:
    with fake_clamd(_never_read) as address, Trove(MemoryDriver(), chunk_size=MiB) as trove:
        trove.create_bucket("uploads")
        trove.use(Scan(Clamd(address, io_timeout=0.3), max_stream_bytes=256 * MiB))
        with pytest.raises(ScannerUnavailable, match=r"sending failed after \d+ bytes: timed out \(io_timeout=0.3 s\)"):
            trove.put("uploads", "a", bytes(64 * MiB))
        assert not trove.exists("uploads", "a")


def test_fail_open_on_a_timeout(caplog: pytest.LogCaptureFixture) -> None:
    with fake_clamd(_silent) as address, Trove(MemoryDriver()) as trove:
        trove.create_bucket("uploads")
        trove.use(Scan(Clamd(address, scan_timeout=0.3), fail_open=True))
        with caplog.at_level(logging.WARNING, logger=SCAN_LOG):
            trove.put("uploads", "a", b"payload")
        assert _read(trove, "uploads", "a") == b"payload"
        assert "UNSCANNED" in caplog.text
        assert "scan_timeout" in caplog.text


def test_ping_against_a_wrong_server_and_a_real_one(clamd: ClamdServer) -> None:
    with fake_clamd(_pong_wrong) as address, pytest.raises(ScannerUnavailable, match="answered 'PANG' to PING"):
        Clamd(address).ping()
    Clamd(clamd.address).ping()


def test_abandoning_the_stream_closes_the_connection() -> None:
    """A driver that fails mid-body stops pulling chunks: the scan connection is closed."""
    seen: list[bytes] = []
    closed = threading.Event()

    def record(conn: socket.socket, stop: threading.Event) -> None:
        conn.settimeout(5)
        while chunk := conn.recv(65536):
            seen.append(chunk)
        closed.set()

    with fake_clamd(record) as address:
        op = Operation(Direction.WRITE, "uploads", "k")
        stream = Scan(address).wrap_write(op, iter([b"first", b"second"]))
        assert isinstance(stream, Generator)
        assert next(stream) == b"first"
        stream.close()  # what a generator gets when its consumer drops it
        assert closed.wait(5)
    received = b"".join(seen)
    assert received.startswith(b"zINSTREAM\0")
    assert received.endswith(b"first")


# ---- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Scan(("127.0.0.1", 3310), oversize="truncate"), "oversize must be one of"),  # type: ignore[arg-type]
        (lambda: Scan(("127.0.0.1", 3310), max_stream_bytes=0), "max_stream_bytes"),
        (lambda: Scan(("127.0.0.1", 3310), oversize="segments", max_stream_bytes=MiB, overlap=MiB), "overlap"),
        (lambda: Scan(("127.0.0.1", 3310), oversize="segments", overlap=0), "overlap"),
        (lambda: Clamd(("127.0.0.1", 0)), "not a TCP address"),
        (lambda: Clamd(""), "unix socket path is empty"),
        (lambda: Clamd(("127.0.0.1", 3310), scan_timeout=0), "scan_timeout must be positive"),
        (lambda: Clamd(("127.0.0.1", 3310), frame_size=0), "frame_size"),
    ],
)
def test_invalid_configuration_is_refused(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_names_and_repr() -> None:
    assert Clamd(("::1", 3310)).name == "tcp://[::1]:3310"
    assert Clamd("/run/clamav/clamd.ctl").name == "unix:/run/clamav/clamd.ctl"
    assert "segments" in repr(Scan(("127.0.0.1", 3310), oversize="segments"))
