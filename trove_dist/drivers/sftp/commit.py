"""The last step of a put: make a finished temporary file the key's current version.

See ``records`` for why the record is written first and the rename is the commit.
"""

from __future__ import annotations

import contextlib
import time

from trove_dist.driver.models import ObjectInfo
from trove_dist.drivers.sftp.errors import BACKEND, SFTPFailure, translate
from trove_dist.drivers.sftp.pool import Connection
from trove_dist.drivers.sftp.protocol import ExtendedSFTPClient
from trove_dist.drivers.sftp.records import (
    MAX_RECORD_BYTES,
    RETENTION,
    Record,
    Stamp,
    choose_stamp,
    expired,
    record_dir_name,
)
from trove_dist.drivers.sftp.remote import collect_records, file_stamp, is_dir, lstat
from trove_dist.errors import BucketNotFound, KeyConflict

#: How many taken stamps a writer steps over before giving up (each is one second of a key).
_STAMP_PROBES = 1024


class Commit:
    """One commit, safe to run again after a dropped connection: it remembers its stamp, and
    recognises its own rename whose answer was lost."""

    def __init__(
        self, bucket: str, key: str, directory: str, name: str, temp: str, record: Record, *, durable: bool
    ) -> None:
        self.bucket, self.key = bucket, key
        self.directory, self.name, self.temp = directory, name, temp
        self.target = f"{directory}/{name}"
        self.records = f"{directory}/{record_dir_name(name)}"
        self.record = record
        self.durable = durable
        self.stamp: Stamp | None = None
        self.done = False

    def run(self, conn: Connection, attempt: int) -> ObjectInfo:
        sftp = conn.sftp
        current_attrs = lstat(sftp, self.target)
        if is_dir(current_attrs):
            raise self._conflict()
        current = file_stamp(current_attrs)
        if attempt > 1 and self.stamp is not None and current == self.stamp and lstat(sftp, self.temp) is None:
            return self._finished(sftp, None)  # the rename went through; only its answer was lost
        if self.stamp is None or time.time() - self.stamp.mtime > RETENTION / 2:
            self.stamp = self._write_record(sftp, current)
        sftp.utime(self.temp, (self.stamp.mtime, self.stamp.mtime))
        try:
            sftp.posix_rename(self.temp, self.target)
        except OSError:
            if is_dir(lstat(sftp, self.target)):
                raise self._conflict() from None
            if lstat(sftp, self.directory) is None:
                raise BucketNotFound(self.bucket) from None  # the bucket was deleted meanwhile
            raise
        return self._finished(sftp, current)

    def _conflict(self) -> KeyConflict:
        return KeyConflict(
            f"cannot store {self.bucket}/{self.key}: other keys use it as a prefix on the SFTP server "
            "(it cannot be both a file and a directory)"
        )

    def _write_record(self, sftp: ExtendedSFTPClient, current: Stamp | None) -> Stamp:
        """Create this version's record under a stamp no other version of the key holds."""
        payload = self.record.encode()
        if len(payload) > MAX_RECORD_BYTES:
            raise ValueError(f"the content type of {self.bucket}/{self.key} is too long to store")
        stamp = choose_stamp(time.time(), self.record.size, current)
        for _ in range(_STAMP_PROBES):
            try:
                sftp.create_small_file(f"{self.records}/{stamp.name}", payload, durable=self.durable)
                return stamp
            except OSError as exc:
                existing = lstat(sftp, self.records)
                if existing is None:
                    self._make_record_dir(sftp)
                    continue
                if not is_dir(existing):
                    raise SFTPFailure(f"{BACKEND}: {self.records} is not a directory") from None
                if lstat(sftp, f"{self.records}/{stamp.name}") is None:
                    raise translate(exc, "put") from None
                stamp = Stamp(stamp.mtime + 1, stamp.size)  # taken by another version of this key
        raise SFTPFailure(f"{BACKEND}: no free version stamp for {self.bucket}/{self.key}")

    def _make_record_dir(self, sftp: ExtendedSFTPClient) -> None:
        try:
            sftp.mkdir(self.records, 0o755)
        except OSError:
            attrs = lstat(sftp, self.records)
            if attrs is None:
                raise
            if not is_dir(attrs):  # a planted link or file: never write through it
                raise SFTPFailure(f"{BACKEND}: {self.records} is not a directory") from None

    def _finished(self, sftp: ExtendedSFTPClient, previous: Stamp | None) -> ObjectInfo:
        self.done = True
        assert self.stamp is not None
        if previous is not None and (
            expired(previous, time.time()) or previous.mtime // RETENTION != self.stamp.mtime // RETENTION
        ):
            # At most once per RETENTION period of a key's writes: collect expired records.
            with contextlib.suppress(OSError):
                collect_records(sftp, self.directory, self.name)
        return self.record.info(self.bucket, self.key)
