"""Object metadata without extended attributes: one small record file per version.

SFTP (version 3, all OpenSSH speaks) has no extended attributes, so the content type, user
metadata, etag and checksum of an object cannot ride on its data file as they do in the local
driver.  They live in *records* next to it::

    ROOT/bucket/a/b/name                   the object's bytes, plain, readable by any tool
    ROOT/bucket/a/b/.trove-meta.name/      its records, one file per version:
        1732500000-5                           "<stamp>-<size>", a few hundred bytes of JSON

Escaped key components never start with a dot (``keypaths``), so no key reaches a record.

Why a reader never pairs one version's data with another version's metadata
---------------------------------------------------------------------------
Two files cannot be replaced in one atomic step, so consistency comes from *naming the record
after the data*: a version is identified by its data file's ``(mtime, size)`` — attributes every
``stat`` and directory listing returns — and its record is named ``<mtime>-<size>``.  The writer
chooses the mtime (SFTP ``setstat``), which makes the name a version stamp:

1. The writer streams the data into a temporary dot-file and hashes it (etag, checksum).
2. It picks a stamp ``t`` — the current second (see ``choose_stamp``) — and creates the record
   ``<t>-<size>`` with an *exclusive* create (``O_CREAT|O_EXCL``, atomic on the server).  If the
   name exists, another version of the key already holds that stamp and the writer takes the
   next second, so two versions never share a stamp while either record exists.
3. It sets the temporary file's mtime to ``t`` and renames it over the key
   (``posix-rename@openssh.com``: an atomic replace).  This rename is the commit: the record was
   complete before the data could be seen, and data and record name each other from then on.

A reader stats (or opens and ``fstat``s) the data file and reads the record its ``(mtime, size)``
names.  Data files are never written in place, so an open handle's attributes never change.  If
the record is missing, the version was replaced and its record collected in between: the reader
looks again (a file with no record at all, after a second look, was put there by another tool and
is described from its attributes alone, as the local driver does).

Could a record of a *later* version carry the same name as the data the reader saw?  Only if a
stamp were reused, which needs the earlier record to have been deleted.  Records are therefore
deleted only when their stamp is more than ``RETENTION`` seconds old (and they do not describe
the current data); writers only pick stamps at or after the current second, and a writer that
took longer than ``RETENTION / 2`` between picking its stamp and committing picks a new one.  A
reader's stat and its record read belong to one operation, seconds apart at most, far below
``RETENTION``.  (The one assumption is that the clocks of writers agree within ``RETENTION``.)
Superseded records of recent versions — deleted objects' too — thus linger for up to
``RETENTION`` and are collected by later writes, deletes and ``remove_stale_temporaries``.

The same stamp lets a read that lost its connection resume on a new one: it reopens the file
and carries on only if the stamp is still the one it started with.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType

from trove_dist.checksum import Checksum
from trove_dist.driver.base import guess_content_type
from trove_dist.driver.models import ObjectInfo

RECORD_DIR_PREFIX = ".trove-meta."
TEMP_PREFIX = ".trove-tmp-"
#: Seconds a record outlives the stamp it names (see the module docstring).
RETENTION = 3600
#: A record is a few hundred bytes; anything longer was not written by this driver.
MAX_RECORD_BYTES = 64 * 1024
_FORMAT = 1
_RECORD_NAME = re.compile(r"^(\d{1,12})-(\d{1,20})$")


@dataclass(frozen=True, slots=True)
class Stamp:
    """A version of one key: its data file's mtime (whole seconds) and size."""

    mtime: int
    size: int

    @property
    def name(self) -> str:
        return f"{self.mtime}-{self.size}"

    @classmethod
    def parse(cls, name: str) -> Stamp | None:
        match = _RECORD_NAME.match(name)
        return cls(int(match[1]), int(match[2])) if match else None


def record_dir_name(file_name: str) -> str:
    """Where the records of the data file ``file_name`` live, in the same directory.

    An escaped component is at most 242 bytes, so this stays within the 255-byte name limit.
    """
    return RECORD_DIR_PREFIX + file_name


def choose_stamp(now: float, size: int, current: Stamp | None) -> Stamp:
    """The first stamp a writer tries: this second — or, if the current data has the same size,
    the second after its stamp when that is later, since every stamp up to it is likely taken.

    Never the current data's own stamp, which may belong to another tool's file (with no record
    whose exclusive creation would catch the collision).  A key rewritten with the same size more
    than once a second therefore gets stamps ahead of the clock: its file's mtime runs ahead (its
    ``last_modified`` comes from the record and does not).
    """
    if current is not None and current.size == size:
        return Stamp(max(int(now), current.mtime + 1), size)
    return Stamp(int(now), size)


def expired(stamp: Stamp, now: float) -> bool:
    return stamp.mtime < now - RETENTION


@dataclass(frozen=True, slots=True)
class Record:
    """What a record file holds."""

    size: int
    etag: str
    content_type: str
    metadata: dict[str, str]
    checksum: Checksum | None
    written_ns: int

    def encode(self) -> bytes:
        body: dict[str, object] = {
            "v": _FORMAT,
            "s": self.size,
            "e": self.etag,
            "t": self.content_type,
            "m": self.metadata,
            "w": self.written_ns,
        }
        if self.checksum is not None:
            body["c"] = str(self.checksum)
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def decode(cls, raw: bytes) -> Record | None:
        """The record in ``raw``, or None for anything this driver did not write."""
        try:
            body = json.loads(raw)
            if not isinstance(body, dict) or body.get("v") != _FORMAT:
                return None
            size, etag, content_type, written = body["s"], body["e"], body["t"], body["w"]
            metadata, checksum = body.get("m", {}), body.get("c")
            if not (
                isinstance(size, int)
                and isinstance(etag, str)
                and isinstance(content_type, str)
                and isinstance(written, int)
                and isinstance(metadata, dict)
                and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
                and isinstance(checksum, (str, type(None)))
            ):
                return None
            return cls(size, etag, content_type, metadata, Checksum.parse(checksum) if checksum else None, written)
        except (ValueError, KeyError, RecursionError):
            return None

    def info(self, bucket: str, key: str) -> ObjectInfo:
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=self.size,
            etag=self.etag,
            last_modified=datetime.fromtimestamp(self.written_ns / 1e9, UTC),
            content_type=self.content_type,
            metadata=MappingProxyType(dict(self.metadata)),
            checksum=self.checksum,
        )


def foreign_info(bucket: str, key: str, stamp: Stamp) -> ObjectInfo:
    """A file another tool put under the root: described from what ``stat`` says."""
    return ObjectInfo(
        bucket=bucket,
        key=key,
        size=stamp.size,
        etag=f"{stamp.mtime:x}-{stamp.size:x}",
        last_modified=datetime.fromtimestamp(stamp.mtime, UTC),
        content_type=guess_content_type(key),
    )
