"""The SFTP driver (``sftp://user@host:port/root?key=…&known_hosts=…``), on paramiko."""

from trove_dist.drivers.sftp.driver import SFTPDriver, SFTPServerCopyDriver
from trove_dist.drivers.sftp.errors import HostKeyRejected
from trove_dist.drivers.sftp.settings import SFTPSettings

__all__ = ["HostKeyRejected", "SFTPDriver", "SFTPServerCopyDriver", "SFTPSettings"]
