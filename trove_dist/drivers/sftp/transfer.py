"""Moving bytes: pipelined reads of one remote file, and pipelined writes into one.

SFTP is request/response: one request at a time caps a transfer at one block per round trip.
Both directions keep ``DEPTH`` requests in flight, each as large as the server allows (OpenSSH:
255 KiB, eight times paramiko's 32 KiB), capped at ``MAX_REQUEST_SIZE``.  Memory stays bounded by
what is in flight — ``DEPTH * MAX_REQUEST_SIZE`` — whatever the object's size.
"""

from __future__ import annotations

from collections import deque

from trove_dist.drivers.sftp.errors import SFTPFailure
from trove_dist.drivers.sftp.protocol import ExtendedSFTPClient, Replies

#: Requests kept in flight by one reader or writer.
DEPTH = 16
#: Largest single read or write request, whatever the server allows.
MAX_REQUEST_SIZE = 256 * 1024


class RemoteReader:
    """Bytes ``[offset, offset + length)`` of an open remote file, fetched ahead.

    Owns neither the handle nor the connection: ``finish`` makes the connection clean again (no
    replies left in flight) so its owner can close the handle and reuse the connection.
    """

    def __init__(self, sftp: ExtendedSFTPClient, handle: bytes, offset: int, length: int, what: str) -> None:
        self._sftp = sftp
        self._handle = handle
        self._next = offset  # first byte not yet requested
        self._end = offset + length
        self._what = what
        self._request_size = max(1, min(sftp.max_read, MAX_REQUEST_SIZE))
        self._early = Replies()
        self._in_flight: deque[tuple[int, int, int]] = deque()  # (request number, offset, length)
        self._block = b""
        self._block_pos = 0

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:
            size = self._end
        parts: list[bytes] = []
        wanted = size
        while wanted > 0:
            if self._block_pos >= len(self._block) and not self._next_block():
                break
            piece = self._block[self._block_pos : self._block_pos + wanted]
            self._block_pos += len(piece)
            wanted -= len(piece)
            parts.append(piece)
        if len(parts) == 1:
            return parts[0]
        return b"".join(parts)

    def _next_block(self) -> bool:
        """Load the next block into ``_block``; False at the end of the range."""
        self._fill()
        if not self._in_flight:
            return False
        num, offset, length = self._in_flight.popleft()
        try:
            data = self._sftp.data_of(*self._sftp.wait(num, self._early))
        except EOFError:
            data = b""
        if not data:
            raise SFTPFailure(f"sftp: {self._what} ended at byte {offset}, before its recorded size")
        if len(data) < length:
            # A short read (the protocol allows them): ask for the rest before anything queued.
            rest_offset, rest = offset + len(data), length - len(data)
            self._in_flight.appendleft(
                (self._sftp.send_read(self._early, self._handle, rest_offset, rest), rest_offset, rest)
            )
        self._block, self._block_pos = data, 0
        return True

    def _fill(self) -> None:
        while len(self._in_flight) < DEPTH and self._next < self._end:
            length = min(self._request_size, self._end - self._next)
            num = self._sftp.send_read(self._early, self._handle, self._next, length)
            self._in_flight.append((num, self._next, length))
            self._next += length

    def finish(self) -> None:
        """Collect the replies still on their way, so the next user of the connection does not
        receive them (an error in one is of no interest any more)."""
        while self._in_flight:
            num, _, _ = self._in_flight.popleft()
            try:
                self._sftp.data_of(*self._sftp.wait(num, self._early))
            except (EOFError, OSError):
                continue
        self._early.by_number.clear()


class RemoteWriter:
    """Writes a stream into an open remote file, checking the server's answer to every write."""

    def __init__(self, sftp: ExtendedSFTPClient, handle: bytes) -> None:
        self._sftp = sftp
        self._handle = handle
        self._request_size = max(1, min(sftp.max_write, MAX_REQUEST_SIZE))
        self._early = Replies()
        self._in_flight: deque[int] = deque()
        self.size = 0

    def write(self, chunk: bytes | memoryview) -> None:
        view = memoryview(chunk).cast("B") if not isinstance(chunk, bytes) else chunk
        for start in range(0, len(view), self._request_size):
            piece = view[start : start + self._request_size]
            while len(self._in_flight) >= DEPTH:
                self._acknowledge()
            self._in_flight.append(self._sftp.send_write(self._early, self._handle, self.size, piece))
            self.size += len(piece)

    def flush(self) -> None:
        """Wait until the server has acknowledged every write (raises the first failure)."""
        while self._in_flight:
            self._acknowledge()

    def abandon(self) -> None:
        """After a failure: collect the replies still in flight (their errors no longer matter)
        so the connection can serve someone else."""
        while self._in_flight:
            try:
                self._acknowledge()
            except (EOFError, OSError):
                continue
        self._early.by_number.clear()

    def _acknowledge(self) -> None:
        num = self._in_flight.popleft()
        self._sftp.check_status(*self._sftp.wait(num, self._early))
