"""The SFTP requests paramiko does not wrap (or wraps unsafely), and the server's extensions.

* paramiko reads the server's ``SSH_FXP_VERSION`` packet but drops the extensions it announces,
  so it cannot tell whether OpenSSH's ``copy-data``, ``fsync@openssh.com`` or
  ``limits@openssh.com`` are there.  ``ExtendedSFTPClient`` keeps that list.
* paramiko's pipelined ``SFTPFile.write`` never looks at the status of the writes still
  unacknowledged when the file is closed, and ``SFTPFile.close`` swallows errors: a failed write
  (disk full, quota) could go unnoticed and a truncated object be committed.  Here every write
  is acknowledged before the file counts as written, and files are plain handles whose opening
  and closing report errors.

This is the only module that uses paramiko's private request API (``_request``,
``_async_request``, ``_read_response``, ``SFTPAttributes._from_msg``), unchanged for many years;
keeping it here means a change there is fixed in one place.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from typing import Protocol

import paramiko
from paramiko.message import Message
from paramiko.sftp import (
    CMD_ATTRS,
    CMD_CLOSE,
    CMD_DATA,
    CMD_EXTENDED,
    CMD_EXTENDED_REPLY,
    CMD_FSTAT,
    CMD_HANDLE,
    CMD_INIT,
    CMD_OPEN,
    CMD_READ,
    CMD_STATUS,
    CMD_VERSION,
    CMD_WRITE,
    SFTP_FLAG_CREATE,
    SFTP_FLAG_EXCL,
    SFTP_FLAG_READ,
    SFTP_FLAG_WRITE,
)

COPY_DATA = "copy-data"
FSYNC = "fsync@openssh.com"
LIMITS = "limits@openssh.com"
POSIX_RENAME = "posix-rename@openssh.com"

#: The SFTP protocol version paramiko (and OpenSSH) speak.
_SFTP_VERSION = 3
#: paramiko's read and write size; used when the server does not announce its limits.
DEFAULT_REQUEST_SIZE = 32 * 1024

READ = SFTP_FLAG_READ
#: Create a new file for writing; fail if the name exists (atomic on the server).
CREATE_EXCLUSIVE = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_EXCL


class ReplySink(Protocol):
    """Where paramiko hands a reply that arrives while another one is awaited."""

    def _async_response(self, t: int, msg: Message, num: int) -> None: ...


class Replies:
    """Keeps replies that arrived early, by request number, until their turn comes."""

    def __init__(self) -> None:
        self.by_number: dict[int, tuple[int, Message]] = {}

    def _async_response(self, t: int, msg: Message, num: int) -> None:
        self.by_number[num] = (t, msg)


def _int64(value: int) -> int:
    """``value`` as paramiko's 64-bit marker type (plain ints are packed as 32 bits)."""
    return paramiko.sftp.int64(value)


class ExtendedSFTPClient(paramiko.SFTPClient):
    extensions: dict[str, bytes]
    max_read: int
    max_write: int

    def _send_version(self) -> int:
        """paramiko's handshake (the same packets), keeping the extension list."""
        init = Message()
        init.add_int(_SFTP_VERSION)
        self._send_packet(CMD_INIT, init)  # type: ignore[attr-defined]
        kind, data = self._read_packet()  # type: ignore[attr-defined]
        if kind != CMD_VERSION:
            raise paramiko.SFTPError("Incompatible sftp protocol")
        reply = Message(data)
        version = reply.get_int()
        extensions: dict[str, bytes] = {}
        while reply.get_remainder():
            name = reply.get_text()
            extensions[name] = reply.get_binary()
        self.extensions = extensions
        self.max_read = self.max_write = DEFAULT_REQUEST_SIZE
        return version

    def supports(self, extension: str) -> bool:
        return extension in self.extensions

    def _call(self, kind: int, *args: object) -> tuple[int, Message]:
        """One request, waited for; an error status raises ``OSError`` (``EOFError`` at EOF)."""
        return self._request(kind, *args)  # type: ignore[attr-defined, no-any-return]

    # ---- extensions -------------------------------------------------------------------

    def extended(self, name: str, *args: object) -> Message:
        kind, msg = self._call(CMD_EXTENDED, name, *args)
        if kind not in (CMD_STATUS, CMD_EXTENDED_REPLY):
            raise paramiko.SFTPError(f"unexpected reply {kind} to {name}")
        return msg

    def learn_limits(self) -> None:
        """Ask for the server's largest read and write (OpenSSH: 255 KiB; paramiko uses 32 KiB)."""
        if not self.supports(LIMITS):
            return
        reply = self.extended(LIMITS)
        reply.get_int64()  # the largest packet
        max_read, max_write = reply.get_int64(), reply.get_int64()
        if max_read > 0:
            self.max_read = max_read
        if max_write > 0:
            self.max_write = max_write

    def copy_data(self, source: bytes, offset: int, length: int, target: bytes, target_offset: int) -> None:
        """Copy bytes between two open handles inside the server (OpenSSH >= 9.0).
        ``length`` 0 copies to the end of the source."""
        self.extended(COPY_DATA, source, _int64(offset), _int64(length), target, _int64(target_offset))

    def fsync(self, handle: bytes) -> None:
        self.extended(FSYNC, handle)

    # ---- handles ----------------------------------------------------------------------

    def open_handle(self, path: str, flags: int) -> bytes:
        kind, msg = self._call(CMD_OPEN, path, flags, paramiko.SFTPAttributes())
        if kind != CMD_HANDLE:
            raise paramiko.SFTPError(f"unexpected reply {kind} to open")
        return msg.get_binary()

    def close_handle(self, handle: bytes) -> None:
        self._call(CMD_CLOSE, handle)

    def fstat_handle(self, handle: bytes) -> paramiko.SFTPAttributes:
        kind, msg = self._call(CMD_FSTAT, handle)
        if kind != CMD_ATTRS:
            raise paramiko.SFTPError(f"unexpected reply {kind} to fstat")
        return paramiko.SFTPAttributes._from_msg(msg)  # type: ignore[attr-defined, no-any-return]

    def read_small_file(self, path: str, limit: int) -> bytes:
        """A whole small file in one read (``OSError`` ENOENT if missing); anything past
        ``limit`` bytes is not read."""
        handle = self.open_handle(path, READ)
        try:
            kind, msg = self._call(CMD_READ, handle, _int64(0), limit)
            return self.data_of(kind, msg)
        except EOFError:
            return b""
        finally:
            self.close_handle(handle)

    def read_small_files(self, paths: Sequence[str], limit: int) -> list[bytes | None]:
        """Many small files in three round trips (all opens, all reads, all closes, each round
        sent before its replies are awaited); None for a file that does not exist.

        Every reply is collected before any error is raised, so the connection stays clean.
        """
        early = Replies()
        failure: BaseException | None = None

        def settle(nums: list[int | None]) -> list[tuple[int, Message] | None]:
            nonlocal failure
            replies: list[tuple[int, Message] | None] = []
            for num in nums:
                reply = None
                if num is not None:
                    try:
                        reply = self.wait(num, early)
                    except EOFError:
                        reply = None
                    except OSError as exc:
                        if exc.errno != errno.ENOENT and failure is None:
                            failure = exc
                replies.append(reply)
            return replies

        opened = settle(
            [self._async_request(early, CMD_OPEN, path, READ, paramiko.SFTPAttributes()) for path in paths]  # type: ignore[attr-defined]
        )
        handles = [reply[1].get_binary() if reply is not None and reply[0] == CMD_HANDLE else None for reply in opened]
        read = settle([self.send_read(early, h, 0, limit) if h is not None else None for h in handles])
        settle([self._async_request(early, CMD_CLOSE, h) if h is not None else None for h in handles])  # type: ignore[attr-defined]
        if failure is not None:
            raise failure
        contents: list[bytes | None] = []
        for handle, reply in zip(handles, read, strict=True):
            if handle is None:
                contents.append(None)
            else:
                contents.append(self.data_of(*reply) if reply is not None else b"")  # no reply: EOF, an empty file
        return contents

    def create_small_file(self, path: str, data: bytes, *, durable: bool) -> None:
        """Create ``path`` holding ``data``; fails if the name exists (generic SFTP failure)."""
        handle = self.open_handle(path, CREATE_EXCLUSIVE)
        try:
            kind, msg = self._call(CMD_WRITE, handle, _int64(0), data)
            self.check_status(kind, msg)
            if durable and self.supports(FSYNC):
                self.fsync(handle)
        finally:
            self.close_handle(handle)

    # ---- pipelined reads and writes ---------------------------------------------------

    def send_read(self, sink: ReplySink, handle: bytes, offset: int, length: int) -> int:
        """Queue a read without waiting; returns the request number to wait for."""
        return self._async_request(sink, CMD_READ, handle, _int64(offset), length)  # type: ignore[attr-defined, no-any-return]

    def send_write(self, sink: ReplySink, handle: bytes, offset: int, data: bytes | memoryview) -> int:
        """Queue a write without waiting; returns the request number to wait for."""
        return self._async_request(sink, CMD_WRITE, handle, _int64(offset), data)  # type: ignore[attr-defined, no-any-return]

    def wait(self, num: int, early: Replies) -> tuple[int, Message]:
        """The reply to request ``num`` (from ``early`` if it already came; other replies that
        arrive first go to their own sinks).  An error status raises ``OSError`` (``EOFError``
        past the end of a file); a success status is returned as ``(CMD_STATUS, msg)``."""
        reply = early.by_number.pop(num, None)
        if reply is None:
            kind, msg = self._read_response(num)  # type: ignore[attr-defined]  # checks a status itself
            return kind, msg
        kind, msg = reply
        if kind == CMD_STATUS:
            self._convert_status(msg)  # type: ignore[attr-defined]
        return kind, msg

    @staticmethod
    def data_of(kind: int, msg: Message) -> bytes:
        """The bytes of a read's reply (as ``wait`` returned it)."""
        if kind != CMD_DATA:
            raise paramiko.SFTPError(f"unexpected reply {kind} to a read")
        return msg.get_binary()

    @staticmethod
    def check_status(kind: int, msg: Message) -> None:
        """Raise unless a write's reply (as ``wait`` returned it) is a status: ``wait`` has
        already raised any error status."""
        if kind != CMD_STATUS:
            raise paramiko.SFTPError(f"unexpected reply {kind} to a write")
