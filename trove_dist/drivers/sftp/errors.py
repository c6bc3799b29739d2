"""How SFTP failures become trove errors, and which of them a retry can fix.

paramiko reports two very different things with overlapping exception types: the server's
answer to a request (an SFTP status, raised as a plain ``OSError`` — ``ENOENT``, ``EACCES``, or no
errno at all for OpenSSH's catch-all ``SSH_FX_FAILURE``) and the loss of the connection itself
(``EOFError``, ``SSHException``, socket errors, and sometimes a plain ``OSError("Socket is
closed")``).  Only the second kind is worth a retry, so the driver decides it by asking the
connection whether it is still alive (``connection_failure`` below covers the types that always
mean a dead or unusable connection).
"""

from __future__ import annotations

import errno
import socket

import paramiko

from trove_dist.errors import PermissionDenied, TroveError

BACKEND = "sftp"


class HostKeyRejected(PermissionDenied):
    """The server's host key is unknown, or differs from the pinned or known one.

    The driver refuses to talk to such a server: accepting the key silently would hand the login
    to whoever answers on that address.  Not retried — only a configuration change fixes it.
    """

    def __init__(self, server: str, reason: str) -> None:
        super().__init__(BACKEND, "connect", f"the host key of {server} {reason}")
        self.server = server


class SFTPFailure(TroveError):
    """The server refused a request with a status the error hierarchy has no class for
    (OpenSSH answers ``SSH_FX_FAILURE`` for most filesystem errors, without saying which)."""


class ConnectionLost(Exception):
    """Internal: the connection a request ran on is gone; the request may be retried on another.

    Raised inside a ``RetryPolicy`` attempt and never out of the driver: after the last attempt
    the policy turns it into ``BackendUnavailable``.
    """

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__)
        self.cause = cause


def is_connection_lost(exc: BaseException) -> bool:
    return isinstance(exc, ConnectionLost)


def connection_failure(exc: BaseException) -> bool:
    """True if ``exc`` always means the connection (not the request) failed.

    Authentication and host-key failures are ``SSHException`` too, but a new connection would
    fail the same way: they are answers, not failures.  ``EOFError`` is left out: paramiko raises
    it both for a closed socket and for the server's "end of file" status, so the driver asks the
    connection whether it is still alive instead.
    """
    if isinstance(exc, (paramiko.AuthenticationException, paramiko.BadHostKeyException, HostKeyRejected)):
        return False
    if isinstance(exc, (paramiko.SSHException, ConnectionError, TimeoutError, socket.timeout)):
        return True
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        return True
    return isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS


_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
    }
)


def is_missing(exc: BaseException) -> bool:
    """The server said "no such file" (``SSH_FX_NO_SUCH_FILE``)."""
    return isinstance(exc, OSError) and exc.errno == errno.ENOENT


def is_denied(exc: BaseException) -> bool:
    """The server said "permission denied" (``SSH_FX_PERMISSION_DENIED``)."""
    return isinstance(exc, OSError) and exc.errno == errno.EACCES


def translate(exc: BaseException, operation: str) -> BaseException:
    """The trove error for a server answer that the operation did not handle itself."""
    if is_denied(exc):
        return PermissionDenied(BACKEND, operation, _status_text(exc))
    if isinstance(exc, OSError) and not connection_failure(exc):
        return SFTPFailure(f"{BACKEND}: {operation} failed: {_status_text(exc)}")
    return exc


def _status_text(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
