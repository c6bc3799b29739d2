"""SSH connections, opened on demand and shared through a small bounded pool.

paramiko's ``SFTPClient`` is not safe to use from several threads at once (pipelined requests of
one thread would consume another's replies), so each operation *leases* a whole connection and
gives it back when done.  An open reader or a streaming put keeps its lease until it finishes —
its file handle lives on that connection — so the pool size bounds how many can be open at once;
a lease that cannot be had within the timeout fails loudly instead of waiting forever.

A connection found dead (the server restarted, the network dropped) is closed and replaced on the
next lease; the driver's retry loop decides which operations may be replayed.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import paramiko

from trove_dist.drivers.sftp import hostkeys
from trove_dist.drivers.sftp.errors import BACKEND, ConnectionLost, HostKeyRejected, connection_failure
from trove_dist.drivers.sftp.protocol import ExtendedSFTPClient
from trove_dist.drivers.sftp.settings import SFTPSettings
from trove_dist.errors import BackendUnavailable, InvalidDSN, PermissionDenied

#: SSH channel window: how much the server may send before we acknowledge.  paramiko's default
#: (2 MiB) throttles bulk reads on fast links; more costs memory only while data is in flight.
WINDOW_SIZE = 8 * 1024 * 1024
_THREAD_JOIN_TIMEOUT = 5.0


@dataclass(eq=False)
class Connection:
    """One authenticated SSH connection with its SFTP session."""

    client: paramiko.SSHClient
    sftp: ExtendedSFTPClient
    broken: bool = field(default=False)

    def alive(self) -> bool:
        if self.broken:
            return False
        transport = self.client.get_transport()
        channel = self.sftp.get_channel()
        return bool(transport is not None and transport.is_active() and channel is not None and not channel.closed)

    def close(self) -> None:
        """Close the session and the connection, and wait for paramiko's transport thread."""
        transport = self.client.get_transport()
        with contextlib.suppress(Exception):  # closing a connection that already died may raise anything
            self.sftp.close()
        self.client.close()
        if transport is not None and transport.is_alive():
            transport.join(_THREAD_JOIN_TIMEOUT)


def connect(settings: SFTPSettings) -> Connection:
    """Open, verify and log in one connection.

    Raises ``HostKeyRejected`` or ``PermissionDenied`` (never retried) for answers from the server,
    and ``ConnectionLost`` for a server that cannot be reached (retried by the caller).
    """
    server = hostkeys.known_hosts_name(settings.host, settings.port)
    client = paramiko.SSHClient()
    hostkeys.configure(client, pin=settings.host_key, known_hosts=settings.known_hosts, server=server)
    pkey = _load_key(settings)
    explicit = pkey is not None or settings.password is not None
    try:
        client.connect(
            settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            pkey=pkey,
            # Without a key or password in the DSN, log in the way ssh does (agent, ~/.ssh/id_*).
            look_for_keys=not explicit,
            allow_agent=not explicit,
            timeout=settings.timeout,
            banner_timeout=settings.timeout,
            auth_timeout=settings.timeout,
            transport_factory=_transport,
        )
        transport = client.get_transport()
        sftp = ExtendedSFTPClient.from_transport(transport, window_size=WINDOW_SIZE) if transport else None
        if sftp is None:
            raise paramiko.SSHException("the server refused to open an SFTP session")
        channel = sftp.get_channel()
        if channel is not None:
            channel.settimeout(settings.timeout)
        sftp.learn_limits()
    except paramiko.BadHostKeyException as exc:
        client.close()
        source = "the pinned host_key" if settings.host_key is not None else str(settings.known_hosts)
        raise hostkeys.mismatch(server, exc, source) from None
    except paramiko.AuthenticationException:
        client.close()
        raise PermissionDenied(
            BACKEND, "login", f"{settings.describe()} refused the credentials given for {settings.username!r}"
        ) from None
    except HostKeyRejected:
        client.close()
        raise
    except Exception as exc:
        client.close()
        if connection_failure(exc):
            raise ConnectionLost(exc) from exc
        # Not worth a retry (a host name that does not resolve, a server that is not SSH …).
        raise BackendUnavailable(f"{BACKEND}: cannot connect to {settings.describe()}: {exc!r}") from exc
    return Connection(client, sftp)


def _transport(
    sock: socket.socket | paramiko.Channel | paramiko.ProxyCommand | str | tuple[str, int],
    /,
    *,
    gss_kex: bool = False,
    gss_deleg_creds: bool = True,
    disabled_algorithms: Mapping[str, Iterable[str]] | None = None,
) -> paramiko.Transport:
    """paramiko's transport with a larger window (GSS-API key exchange is not used)."""
    return paramiko.Transport(sock, default_window_size=WINDOW_SIZE, disabled_algorithms=disabled_algorithms)


def _load_key(settings: SFTPSettings) -> paramiko.PKey | None:
    if settings.key_file is None:
        return None
    try:
        return paramiko.PKey.from_path(settings.key_file)
    except paramiko.PasswordRequiredException:
        raise InvalidDSN(
            f"the key file {settings.key_file} is encrypted; use an unencrypted key or the agent"
        ) from None
    except (OSError, paramiko.SSHException, ValueError) as exc:
        raise InvalidDSN(f"cannot read the key file {settings.key_file}: {type(exc).__name__}") from None


class ConnectionPool:
    """At most ``size`` connections; each lease has one to itself until it is released."""

    def __init__(self, size: int, open_connection: Callable[[], Connection], *, wait: float) -> None:
        self._size = size
        self._open = open_connection
        self._wait = wait
        self._cond = threading.Condition()
        self._idle: list[Connection] = []
        self._all: set[Connection] = set()
        self._opening = 0
        self._closed = False
        #: Connections opened over the pool's life (a reconnect counts as one more).
        self.opened = 0

    def acquire(self) -> Connection:
        """A live connection of our own: an idle one, or a new one if the pool has room."""
        deadline = time.monotonic() + self._wait
        dead: list[Connection] = []
        try:
            with self._cond:
                while True:
                    if self._closed:
                        raise BackendUnavailable(f"{BACKEND}: the connection pool is closed")
                    while self._idle:
                        conn = self._idle.pop()  # the most recently used: the likeliest to be alive
                        if conn.alive():
                            return conn
                        self._all.discard(conn)
                        dead.append(conn)
                    if len(self._all) + self._opening < self._size:
                        self._opening += 1
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise BackendUnavailable(
                            f"{BACKEND}: all {self._size} connections stayed busy for {self._wait:g} s (each open "
                            "reader and each streaming put holds one: close readers, or raise ?connections=)"
                        )
                    self._cond.wait(remaining)
        finally:
            for conn in dead:  # closed outside the lock: closing waits for paramiko's thread
                conn.close()
        try:
            conn = self._open()
        except BaseException:
            with self._cond:
                self._opening -= 1
                self._cond.notify()
            raise
        with self._cond:
            self._opening -= 1
            closed = self._closed
            if not closed:
                self._all.add(conn)
                self.opened += 1
        if closed:
            conn.close()
            raise BackendUnavailable(f"{BACKEND}: the connection pool is closed")
        return conn

    def release(self, conn: Connection) -> None:
        """Give a connection back; a broken one is closed and its slot freed."""
        with self._cond:
            if conn not in self._all:
                return  # closed by close() while it was leased
            doomed = self._closed or not conn.alive()
            if doomed:
                self._all.discard(conn)
            else:
                self._idle.append(conn)
            self._cond.notify()
        if doomed:
            conn.close()

    def close(self) -> None:
        """Close every connection, leased or idle (a reader left open fails on its next read)."""
        with self._cond:
            self._closed = True
            connections = list(self._all)
            self._all.clear()
            self._idle.clear()
            self._cond.notify_all()
        for conn in connections:
            conn.close()

    @property
    def open_connections(self) -> int:
        with self._cond:
            return len(self._all)
