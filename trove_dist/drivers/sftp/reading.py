"""What an ``ObjectReader`` reads from: a remote file, on a connection leased for its life."""

from __future__ import annotations

from collections.abc import Callable

from trove_dist.driver.retry import RetryPolicy
from trove_dist.drivers.sftp.errors import BACKEND, ConnectionLost, connection_failure, is_connection_lost, translate
from trove_dist.drivers.sftp.pool import Connection, ConnectionPool
from trove_dist.drivers.sftp.protocol import ExtendedSFTPClient
from trove_dist.drivers.sftp.records import Stamp
from trove_dist.drivers.sftp.remote import stamp_of
from trove_dist.drivers.sftp.transfer import RemoteReader
from trove_dist.errors import BackendUnavailable, TroveError

#: Opens the object again on a (new) connection: its handle, or None if the object is gone.
Reopen = Callable[[ExtendedSFTPClient], bytes | None]


class LeasedSource:
    """Streams ``[offset, offset + length)`` of one version of an object.

    If the connection drops mid-read, the file is opened again on a new connection (per the
    retry policy) and the read resumes where it stopped — only if the file is still the same
    version (the same stamp; see ``records``): a reader never splices two versions together.
    """

    def __init__(
        self,
        pool: ConnectionPool,
        retry: RetryPolicy,
        conn: Connection,
        handle: bytes,
        stamp: Stamp,
        offset: int,
        length: int,
        *,
        what: str,
        reopen: Reopen,
    ) -> None:
        self._pool = pool
        self._retry = retry
        self._conn = conn
        self._handle = handle
        self._stamp = stamp
        self._position = offset
        self._end = offset + length
        self._what = what
        self._reopen = reopen
        self._reader = RemoteReader(conn.sftp, handle, offset, length, what)
        self._closed = False

    def read(self, size: int = -1, /) -> bytes:
        try:
            data = self._reader.read(size)
        except TroveError:
            raise
        except Exception as exc:
            if not (_lost(exc) or not self._conn.alive()):
                raise translate(exc, f"get {self._what}") from exc
            self._conn.broken = True
            data = self._retry.call(
                lambda: self._resume(size),
                transient=is_connection_lost,
                backend=BACKEND,
                what=f"get {self._what} (resuming at byte {self._position})",
            )
        self._position += len(data)
        return data

    def _resume(self, size: int) -> bytes:
        """Open the same version on a new connection and read on from ``_position``."""
        self._pool.release(self._conn)  # a broken connection: the pool closes it
        conn = self._conn = self._pool.acquire()
        try:
            handle = self._reopen(conn.sftp)
            if handle is not None:
                self._handle = handle
            if handle is None or stamp_of(conn.sftp.fstat_handle(handle)) != self._stamp:
                raise BackendUnavailable(
                    f"{BACKEND}: the connection broke while reading {self._what}, and the object has been "
                    "replaced or deleted since it was opened: the rest of the version being read is gone"
                )
            self._reader = RemoteReader(conn.sftp, handle, self._position, self._end - self._position, self._what)
            return self._reader.read(size)
        except TroveError:
            raise
        except Exception as exc:
            if _lost(exc) or not conn.alive():
                conn.broken = True
                raise ConnectionLost(exc) from exc
            raise translate(exc, f"get {self._what}") from exc

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._conn.alive():
                self._reader.finish()
                self._conn.sftp.close_handle(self._handle)
        except Exception as exc:
            if connection_failure(exc) or not self._conn.alive():
                self._conn.broken = True  # the connection is dropped; the server closes the handle
            else:
                raise translate(exc, f"get {self._what}") from exc
        finally:
            self._pool.release(self._conn)


def _lost(exc: BaseException) -> bool:
    """A read never asks for bytes past the object's end, so an ``EOFError`` here is the channel
    closing (paramiko raises it from ``send`` on a closed channel before the transport notices),
    not the server's end-of-file status."""
    return isinstance(exc, EOFError) or connection_failure(exc)
