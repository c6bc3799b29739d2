"""A real OpenSSH sshd serving ``internal-sftp`` to one chrooted user, on a free loopback port.

Everything the server needs is generated per run: a host key, a client key, the config, and a
chroot directory.  sshd insists that the chroot and every directory above it belong to root and
are not group- or world-writable, which rules out ``/tmp``: the chroot goes under ``/srv`` (or
``/var/lib``) and is removed at teardown.  Uploads go to ``/data`` inside the chroot, the only
directory the user owns.

The tests run as root (here and in CI).  The key-login user is created if it is absent and only
ever given the password field ``*`` (no password, yet not locked — sshd refuses a locked account
even with a key), so concurrent test runs on one machine cannot disturb each other.  Password
login is tested with a second user, created for each server with a random password and deleted
with it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from tests.servers.process import free_port, running, wait_until

SSHD = "/usr/sbin/sshd"
USER = "trove-sftp"
#: The directory inside the chroot that the user owns and objects are stored under.
DATA_DIR = "data"


@dataclass
class SFTPServer:
    """A running sshd and everything a test needs to reach it."""

    port: int
    user: str
    password_user: str
    password: str
    chroot: Path
    client_key: Path
    known_hosts: Path
    host_key_line: str  # "ssh-ed25519 AAAA…", as in a .pub file
    config: Path
    log: Path
    host: str = "127.0.0.1"
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _running: contextlib.ExitStack = field(default_factory=contextlib.ExitStack, repr=False)

    @property
    def data(self) -> Path:
        """The storage root as seen on this machine (``/data`` as the SFTP user sees it)."""
        return self.chroot / DATA_DIR

    @property
    def host_key_base64(self) -> str:
        return self.host_key_line.split()[1]

    @property
    def host_key_fingerprint(self) -> str:
        """``SHA256:…`` as ``ssh-keygen -l`` prints it (unpadded base64 of the key blob's digest)."""
        digest = hashlib.sha256(base64.b64decode(self.host_key_base64)).digest()
        return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")

    def dsn(self, root: str = f"/{DATA_DIR}", *, password: str | None = None, **params: str) -> str:
        """A DSN for this server: key login checked against the generated known_hosts, or with a
        ``password``, password login as ``password_user``."""
        if password is None and "key" not in params:
            params["key"] = str(self.client_key)
        if "host_key" not in params and "known_hosts" not in params:
            params["known_hosts"] = str(self.known_hosts)
        auth = self.user if password is None else f"{self.password_user}:{quote(password, safe='')}"
        query = "&".join(f"{name}={quote(value, safe='/:')}" for name, value in params.items())
        return f"sftp://{auth}@{self.host}:{self.port}{root}" + (f"?{query}" if query else "")

    def session_pids(self) -> list[int]:
        """The per-connection sshd processes (children of the listener we started)."""
        return _children(self.proc.pid) if self.proc is not None else []

    def kill_sessions(self) -> int:
        """Drop every open connection, as a network failure would; the listener keeps running.

        Each session is a small tree (a privileged monitor, the user's network process, the
        sftp subsystem): all of it is killed, by PID, or the network process would keep the
        connection open.  Returns how many sessions were killed.
        """
        sessions = self.session_pids()
        doomed = [pid for session in sessions for pid in _descendants(session)]
        for pid in doomed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not any(map(_alive, doomed)), 10, "sshd sessions to exit")
        return len(sessions)

    def stop(self) -> None:
        """Stop sshd: its sessions (each forked child calls setsid, so stopping the listener's
        process group would leave them serving), then the listener."""
        if self.proc is not None:
            self.kill_sessions()
        self._running.close()
        self.proc = None

    def start(self) -> None:
        """(Re)start sshd on the same port with the same keys; returns once it accepts."""
        if self.proc is not None:
            raise RuntimeError("sshd is already running")
        argv = [SSHD, "-D", "-e", "-f", str(self.config)]
        self.proc = self._running.enter_context(running(argv, port=self.port, name="sshd", log=self.log, timeout=15))


def _children(pid: int) -> list[int]:
    pids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(FileNotFoundError):
            pids += [int(child) for child in (task / "children").read_text().split()]
    return pids


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it holds no connection any more)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, parents first."""
    found = [pid]
    for child in _children(pid):
        found += _descendants(child)
    return found


def _run(*argv: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(argv, input=stdin, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    return done.stdout.decode()


def _ensure_user() -> None:
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        _run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER)
        entry = pwd.getpwnam(USER)
    if _password_field(entry.pw_name) != "*":
        _run("usermod", "-p", "*", USER)


def _password_field(user: str) -> str | None:
    for line in Path("/etc/shadow").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name == user:
            return rest.partition(":")[0]
    return None


def _make_password_user(password: str) -> str:
    """A throw-away user that may only log in with ``password`` (given on stdin, never on a
    command line)."""
    name = f"trove-pw-{secrets.token_hex(4)}"
    _run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name)
    try:
        hashed = _run("openssl", "passwd", "-6", "-stdin", stdin=password.encode()).strip()
        _run("usermod", "-p", hashed, name)
    except BaseException:
        _run("userdel", name)
        raise
    return name


def _make_base() -> Path:
    """A root-owned directory outside /tmp holding the chroot (``jail``) and the authorized keys
    (sshd reads them as the user, who cannot traverse a private temporary directory)."""
    for parent in (Path("/srv"), Path("/var/lib")):
        st = parent.stat() if parent.is_dir() else None
        if st is not None and st.st_uid == 0 and not st.st_mode & 0o022:
            break
    else:
        raise RuntimeError("neither /srv nor /var/lib is a root-owned, non-writable directory for the chroot")
    base = parent / f"trove-test-{secrets.token_hex(6)}"
    chroot = base / "jail"
    data = chroot / DATA_DIR
    for directory in (base, chroot, data):
        directory.mkdir(mode=0o755)
        os.chmod(directory, 0o755)  # whatever the umask says
    user = pwd.getpwnam(USER)
    os.chown(data, user.pw_uid, user.pw_gid)
    return base


def _write_config(work: Path, port: int, base: Path, password_user: str) -> Path:
    config = work / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {work / 'host_key'}",
                f"PidFile {work / 'sshd.pid'}",
                f"AuthorizedKeysFile {base / 'authorized_keys'}",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "PermitRootLogin no",
                "AllowTcpForwarding no",
                "X11Forwarding no",
                "LogLevel VERBOSE",
                "Subsystem sftp internal-sftp",
                f"Match User {USER},{password_user}",
                "    PasswordAuthentication yes",
                "    ForceCommand internal-sftp",
                f"    ChrootDirectory {base / 'jail'}",
                "",
            ]
        )
    )
    return config


@contextlib.contextmanager
def sftp_server(work: Path) -> Iterator[SFTPServer]:
    """Start sshd for the tests; ``work`` (a private temporary directory) holds keys and config."""
    if not os.access(SSHD, os.X_OK):
        raise RuntimeError(f"sshd is not installed at {SSHD}: run scripts/install-test-servers")
    if os.geteuid() != 0:
        raise RuntimeError("the SFTP tests need root: sshd's chroot must belong to root, and they create users")
    _ensure_user()
    password = secrets.token_urlsafe(18)
    with contextlib.ExitStack() as cleanup:
        password_user = _make_password_user(password)
        cleanup.callback(_run, "userdel", password_user)
        base = _make_base()
        cleanup.callback(shutil.rmtree, base, ignore_errors=True)
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "trove-test-host", "-f", str(work / "host_key"))
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "trove-test-client", "-f", str(work / "client_key"))
        shutil.copy(work / "client_key.pub", base / "authorized_keys")
        os.chmod(base / "authorized_keys", 0o644)
        host_key_line = " ".join((work / "host_key.pub").read_text().split()[:2])
        port = free_port()
        known_hosts = work / "known_hosts"
        known_hosts.write_text(f"[127.0.0.1]:{port} {host_key_line}\n")
        config = _write_config(work, port, base, password_user)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
        _run(SSHD, "-t", "-f", str(config))
        server = SFTPServer(
            port=port,
            user=USER,
            password_user=password_user,
            password=password,
            chroot=base / "jail",
            client_key=work / "client_key",
            known_hosts=known_hosts,
            host_key_line=host_key_line,
            config=config,
            log=work / "sshd.log",
        )
        server.start()
        cleanup.callback(server.stop)
        yield server
