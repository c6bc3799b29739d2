"""Listing a bucket: the shared tree walk over SFTP directory reads, with records fetched ahead.

Loading each listed object's record one by one costs three round trips (open, read, close) per
object: a second per thousand objects on loopback, a minute on a 20 ms link.  So when the walk
needs a record it has not fetched, it fetches those of the next ``PREFETCH`` files of the same
directory too, all in three round trips.  Records are immutable per stamp, so a fetched record
is good for as long as the file keeps that stamp; a file replaced in between is simply looked up
again.
"""

from __future__ import annotations

import bisect
import posixpath
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from trove_dist.driver.models import ObjectInfo
from trove_dist.driver.treewalk import Kind, RawEntry, TreeWalk
from trove_dist.drivers.sftp.errors import BACKEND, SFTPFailure
from trove_dist.drivers.sftp.protocol import ExtendedSFTPClient
from trove_dist.drivers.sftp.records import MAX_RECORD_BYTES, Stamp
from trove_dist.drivers.sftp.remote import file_stamp, is_dir, lstat, read_dir, record_path

#: Records fetched in one go when the walk reaches a file whose record it has not fetched.
PREFETCH = 64
#: Directories whose file lists are kept for fetching ahead (the walk's current chain, roughly).
_DIRECTORIES_KEPT = 8
#: How often a listed object that keeps being replaced is looked up again before giving up.
_CHASES = 16


class NotFetched:
    """The record of a version was not fetched ahead: the describer reads it itself."""


NOT_FETCHED = NotFetched()

#: Describes version ``stamp`` of the file at a path, given its record's bytes (None: there is no
#: record) or ``NOT_FETCHED``; returns None if that version is gone.
Describe = Callable[[str, str, Stamp, bytes | NotFetched | None], ObjectInfo | None]


@dataclass(frozen=True, slots=True)
class Listed:
    """A directory entry as the walk carries it."""

    path: str
    stamp: Stamp | None  # None for anything but a plain file


class BucketWalk:
    """The walk over one bucket, for one listing call, on one connection."""

    def __init__(self, sftp: ExtendedSFTPClient, bucket: str, describe: Describe) -> None:
        self._sftp = sftp
        self._bucket = bucket
        self._describe = describe
        self._files: OrderedDict[str, list[Listed]] = OrderedDict()  # directory -> its files, by path
        self._fetched: dict[str, bytes | None] = {}  # record path -> its bytes (None: no record)
        self.walk = TreeWalk(self._read_dir, self._load)

    def _read_dir(self, directory: Listed) -> list[RawEntry[Listed]]:
        out: list[RawEntry[Listed]] = []
        files: list[Listed] = []
        for attrs in read_dir(self._sftp, directory.path):
            path = f"{directory.path}/{attrs.filename}"
            stamp = file_stamp(attrs)
            if stamp is not None:
                files.append(Listed(path, stamp))
                out.append(RawEntry(attrs.filename, Kind.FILE, files[-1]))
            elif is_dir(attrs):
                out.append(RawEntry(attrs.filename, Kind.DIRECTORY, Listed(path, None)))
            else:
                out.append(RawEntry(attrs.filename, Kind.OTHER, Listed(path, None)))
        files.sort(key=lambda f: f.path)
        self._files[directory.path] = files
        if len(self._files) > _DIRECTORIES_KEPT:
            self._files.popitem(last=False)
        return out

    def _load(self, key: str, listed: Listed) -> ObjectInfo | None:
        stamp = listed.stamp
        for _ in range(_CHASES):
            if stamp is None:
                return None  # removed, or replaced by something that is not an object
            path = record_path(listed.path, stamp)
            if path not in self._fetched and stamp == listed.stamp:
                self._fetch_from(listed)
            info = self._describe(key, listed.path, stamp, self._fetched.pop(path, NOT_FETCHED))
            if info is not None:
                return info
            stamp = file_stamp(lstat(self._sftp, listed.path))  # replaced since the directory was read
        raise SFTPFailure(f"{BACKEND}: {self._bucket}/{key} kept changing while it was being listed")

    def _fetch_from(self, listed: Listed) -> None:
        """Fetch the records of ``listed`` and of the files that follow it in its directory."""
        siblings = self._files.get(posixpath.dirname(listed.path), [listed])
        start = bisect.bisect_left(siblings, listed.path, key=lambda f: f.path)
        window = siblings[start : start + PREFETCH]
        if not window or window[0] != listed:
            window = [listed]
        paths = [record_path(f.path, f.stamp) for f in window if f.stamp is not None]
        self._fetched.update(zip(paths, self._sftp.read_small_files(paths, MAX_RECORD_BYTES), strict=True))
