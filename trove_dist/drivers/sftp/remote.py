"""Small questions asked of the server again and again — what is at this path, what is in this
directory, remove this if it is there — answered in the driver's terms (``None`` for "nothing
there" instead of an ``ENOENT`` exception; a ``Stamp`` instead of raw attributes)."""

from __future__ import annotations

import posixpath
import stat
import time
from collections.abc import Callable

import paramiko

from trove_dist.drivers.sftp.errors import is_missing
from trove_dist.drivers.sftp.protocol import ExtendedSFTPClient
from trove_dist.drivers.sftp.records import Stamp, expired, record_dir_name


def lstat(sftp: ExtendedSFTPClient, path: str) -> paramiko.SFTPAttributes | None:
    """The attributes of ``path`` itself (a link is not followed); None if nothing is there."""
    try:
        return sftp.lstat(path)
    except OSError as exc:
        if is_missing(exc):
            return None
        raise


def read_dir(sftp: ExtendedSFTPClient, path: str) -> list[paramiko.SFTPAttributes]:
    """A directory's entries with their ``lstat`` attributes (OpenSSH lists with ``lstat``);
    nothing if the directory is gone."""
    try:
        return sftp.listdir_attr(path)
    except OSError as exc:
        if is_missing(exc):
            return []
        raise


def is_dir(attrs: paramiko.SFTPAttributes | None) -> bool:
    return attrs is not None and stat.S_ISDIR(attrs.st_mode or 0)


def is_file(attrs: paramiko.SFTPAttributes | None) -> bool:
    return attrs is not None and stat.S_ISREG(attrs.st_mode or 0)


def is_link(attrs: paramiko.SFTPAttributes | None) -> bool:
    return attrs is not None and stat.S_ISLNK(attrs.st_mode or 0)


def stamp_of(attrs: paramiko.SFTPAttributes) -> Stamp:
    return Stamp(int(attrs.st_mtime or 0), int(attrs.st_size or 0))


def file_stamp(attrs: paramiko.SFTPAttributes | None) -> Stamp | None:
    """The stamp of a plain file; None for anything else, or nothing."""
    return stamp_of(attrs) if attrs is not None and is_file(attrs) else None


def record_path(path: str, stamp: Stamp) -> str:
    """Where the record of version ``stamp`` of the data file at ``path`` lives."""
    directory, name = posixpath.split(path)
    return f"{directory}/{record_dir_name(name)}/{stamp.name}"


def ignore_missing(remove: Callable[[str], object], path: str) -> None:
    try:
        remove(path)
    except OSError as exc:
        if not is_missing(exc):
            raise


def removed(remove: Callable[[str], object], path: str) -> bool:
    """Remove a file or an empty directory; False if it is not there, or not empty."""
    try:
        remove(path)
    except OSError:
        return False
    return True


def collect_records(sftp: ExtendedSFTPClient, directory: str, name: str) -> tuple[int, bool]:
    """Delete the expired records of the data file ``name`` (never the current data's), and
    their directory once it is empty.  Returns how many records went, and whether the
    directory did."""
    records = f"{directory}/{record_dir_name(name)}"
    keep = file_stamp(lstat(sftp, f"{directory}/{name}"))
    now = time.time()
    try:
        names = sftp.listdir(records)
    except OSError as exc:
        if is_missing(exc):
            return 0, True
        raise
    count = 0
    for entry in names:
        stamp = Stamp.parse(entry)
        if stamp is not None and stamp != keep and expired(stamp, now):
            ignore_missing(sftp.remove, f"{records}/{entry}")
            count += 1
    if count < len(names):
        return count, False
    return count, removed(sftp.rmdir, records)  # False if a new record arrived meanwhile
