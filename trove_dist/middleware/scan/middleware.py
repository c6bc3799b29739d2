"""Virus scanning on write: every object is streamed to clamd while it flows on to the driver.

``Scan`` tees the plaintext (object middleware runs before compression and encryption) into
an INSTREAM connection as each chunk passes, so scanning adds no copy and no buffering of the
object, and asks for the verdict once the last chunk has gone by.  An infected object makes the
stream raise at its end, and drivers commit only after the body is exhausted: the write is
abandoned before the object exists at its key (a temporary file is removed, a staged multipart
upload aborted; an earlier version of the key stays as it was).

Policies, each explicit:

* **fail-closed** — no verdict (scanner unreachable, a timeout, an error reply, a dropped
  connection) refuses the write with ``ScannerUnavailable`` naming the scanner.  ``fail_open=True``
  logs a warning and stores the object unscanned instead; it never lets through an object the
  scanner did flag.
* **no silent size cutoff** — clamd refuses a stream longer than its ``StreamMaxLength``, which
  no client can query: ``max_stream_bytes`` must be set to it (if it is set higher, clamd's
  refusal fails the write loudly; never is a truncated scan taken for a verdict).  What happens
  to a larger object is ``oversize``:

  - ``"refuse"`` (default): ``TooLargeToScan`` as soon as the object would cross the limit,
    before clamd sees the excess byte.
  - ``"segments"``: scan the object in consecutive windows of at most ``max_stream_bytes``,
    each starting ``overlap`` bytes before the previous one ended, so any byte pattern up to
    ``overlap`` long lies whole inside some window.  Only the last ``overlap`` bytes are kept
    (to replay them into the next window).  Honest limit: each window is scanned as a separate
    file, so a container (zip, tar, PDF, Office document) larger than a window is not unpacked
    as a whole — its members are seen only where clamd can make sense of a window on its own.
    Objects that must be unpacked reliably need ``max_stream_bytes`` (and clamd's limits) above
    their size.

  clamd has limits of its own inside one stream (``MaxFileSize``, ``MaxScanSize``,
  ``MaxRecursion``, ``MaxFiles``).  Run it with ``AlertExceedsMax yes`` so that hitting one is
  reported (``Heuristics.Limits.Exceeded.*``, refused here as ``TooLargeToScan``) rather than
  passed as clean, keep ``MaxFileSize`` at least ``StreamMaxLength`` and at least
  ``MaxScanSize`` (clamd 1.4 cuts an archive member short at ``MaxFileSize`` without alerting,
  while the ``MaxScanSize`` limit does alert), and ``ReadTimeout`` above the longest time the
  driver takes to store one chunk (the INSTREAM connection waits meanwhile).

``on_detect(op, signature)`` runs before the write is refused (alerting, quarantine records);
should it fail, the failure is logged and the object is refused all the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Literal, get_args

from trove_dist.middleware.base import ObjectMiddleware
from trove_dist.middleware.context import Operation
from trove_dist.middleware.scan.client import Address, Clamd, InStream, Verdict
from trove_dist.middleware.scan.errors import InfectedContent, ScannerUnavailable, TooLargeToScan

log = logging.getLogger(__name__)

Oversize = Literal["refuse", "segments"]
OnDetect = Callable[[Operation, str], object]

MiB = 1024 * 1024
#: The ``StreamMaxLength`` of the ``clamd.conf`` Debian ships (clamd's built-in default is 100M).
DEFAULT_MAX_STREAM_BYTES = 25 * MiB


class Scan(ObjectMiddleware):
    """Scan every object written in scope with clamd; refuse infected ones.

    ``scanner`` is a ``Clamd`` (to set timeouts) or its address: ``("127.0.0.1", 3310)`` or
    the path of its unix socket.  ``max_stream_bytes`` is clamd's ``StreamMaxLength`` (no
    more); ``oversize`` says what becomes of a larger object and ``overlap`` how far the
    ``"segments"`` windows overlap; ``fail_open`` stores objects unscanned when clamd gives no
    verdict; ``on_detect(op, signature)`` hears of each detection before the write is refused.

        trove.use(Scan(("127.0.0.1", 3310), max_stream_bytes=25 * MiB), scope=ForBuckets("uploads"))
    """

    name = "scan"

    def __init__(
        self,
        scanner: Clamd | Address,
        *,
        max_stream_bytes: int = DEFAULT_MAX_STREAM_BYTES,
        oversize: Oversize = "refuse",
        overlap: int = 1 * MiB,
        fail_open: bool = False,
        on_detect: OnDetect | None = None,
    ) -> None:
        if oversize not in get_args(Oversize):
            raise ValueError(f"oversize must be one of {', '.join(map(repr, get_args(Oversize)))}, not {oversize!r}")
        if max_stream_bytes <= 0:
            raise ValueError("max_stream_bytes must be positive")
        if oversize == "segments" and not 0 < overlap <= max_stream_bytes // 2:
            raise ValueError(
                f"overlap must be positive and at most half of max_stream_bytes ({max_stream_bytes // 2}) "
                "so that each window moves the scan forward"
            )
        self.scanner = scanner if isinstance(scanner, Clamd) else Clamd(scanner)
        self.max_stream_bytes = max_stream_bytes
        self.oversize: Oversize = oversize
        self.overlap = overlap
        self.fail_open = fail_open
        self.on_detect = on_detect

    def __repr__(self) -> str:
        return f"<Scan {self.scanner.name} oversize={self.oversize}{' fail_open' if self.fail_open else ''}>"

    def check(self) -> None:
        """Raise ``ScannerUnavailable`` unless clamd answers (for a startup or health check)."""
        self.scanner.ping()

    def wrap_write(self, op: Operation, chunks: Iterator[bytes]) -> Iterator[bytes]:
        return self._tee(op, chunks)

    def _tee(self, op: Operation, chunks: Iterator[bytes]) -> Iterator[bytes]:
        scan = _ObjectScan(self, op)
        try:
            scan.start()
            for chunk in chunks:
                scan.feed(chunk)
                yield chunk
            scan.finish()
        finally:
            scan.close()


class _ObjectScan:
    """The scan of one object: its connection(s) to clamd, and what has been sent."""

    def __init__(self, policy: Scan, op: Operation) -> None:
        self.policy = policy
        self.op = op
        self.limit = policy.max_stream_bytes
        self.stream: InStream | None = None
        self.total = 0  # bytes of the object seen so far
        self.window_start = 0  # offset in the object of the current window's first byte
        self.windows = 1
        self.tail = bytearray()  # "segments": the last `overlap` bytes, replayed into the next window
        self.bypassed = False  # fail_open after a scanner failure: the rest passes unscanned

    def start(self) -> None:
        try:
            self.stream = self.policy.scanner.instream()
        except ScannerUnavailable as exc:
            self._unavailable(exc)

    def feed(self, chunk: bytes) -> None:
        if self.bypassed or self.stream is None:
            self.total += len(chunk)
            return
        try:
            if self.policy.oversize == "segments":
                self._feed_windows(self.stream, chunk)
            else:
                self._feed_whole(self.stream, chunk)
        except ScannerUnavailable as exc:
            self._unavailable(exc)

    def _feed_whole(self, stream: InStream, chunk: bytes) -> None:
        if self.total + len(chunk) > self.limit:
            raise TooLargeToScan(
                self.op.bucket,
                self.op.key,
                f"it is larger than the scanner's stream limit of {self.limit} bytes (max_stream_bytes, "
                "which matches clamd's StreamMaxLength) and oversize='refuse' stores nothing that was not "
                "scanned whole; oversize='segments' would scan it in overlapping windows",
            )
        stream.send(chunk)
        self.total += len(chunk)

    def _feed_windows(self, stream: InStream, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            room = self.limit - stream.sent
            if room == 0:
                stream = self._next_window(stream)
                room = self.limit - stream.sent
            piece = view[:room]
            stream.send(piece)
            self._remember(piece)
            self.total += len(piece)
            view = view[len(piece) :]

    def _next_window(self, full: InStream) -> InStream:
        self._judge(full.finish())
        self.window_start = self.total - len(self.tail)
        self.windows += 1
        self.stream = self.policy.scanner.instream()
        self.stream.send(self.tail)
        return self.stream

    def _remember(self, piece: memoryview) -> None:
        overlap = self.policy.overlap
        if len(piece) >= overlap:
            self.tail[:] = piece[len(piece) - overlap :]
        else:
            self.tail += piece
            del self.tail[: max(0, len(self.tail) - overlap)]

    def finish(self) -> None:
        if self.bypassed or self.stream is None:
            return
        try:
            verdict = self.stream.finish()
        except ScannerUnavailable as exc:
            self._unavailable(exc)
            return
        self._judge(verdict)

    def _judge(self, verdict: Verdict) -> None:
        if verdict.signature is None:
            return
        where = f"in bytes {self.window_start}-{self.total} of the object" if self.windows > 1 else ""
        if verdict.limits_exceeded:
            raise TooLargeToScan(
                self.op.bucket,
                self.op.key,
                f"clamd could not scan all of it within its own limits ({verdict.signature}"
                f"{', ' + where if where else ''}); raise clamd's MaxScanSize / MaxFileSize / MaxRecursion / "
                "MaxFiles, or lower max_stream_bytes",
            )
        error = InfectedContent(self.op.bucket, self.op.key, verdict.signature, self.policy.scanner.name, where)
        log.warning(
            "refused %s/%s: %s found by %s", self.op.bucket, self.op.key, verdict.signature, self.policy.scanner.name
        )
        if self.policy.on_detect is not None:
            try:
                self.policy.on_detect(self.op, verdict.signature)
            except Exception as hook_error:  # the object is refused whatever the hook does
                log.exception("on_detect hook failed for %s/%s", self.op.bucket, self.op.key)
                error.add_note(f"the on_detect hook failed: {hook_error!r}")
        raise error

    def _unavailable(self, exc: ScannerUnavailable) -> None:
        self.close()
        if not self.policy.fail_open:
            exc.add_note("the write was refused: scanning is fail-closed (Scan(fail_open=True) stores unscanned)")
            raise exc
        self.bypassed = True
        log.warning(
            "storing %s/%s UNSCANNED (fail_open=True) after %d bytes: %s", self.op.bucket, self.op.key, self.total, exc
        )

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None
