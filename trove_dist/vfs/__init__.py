"""A virtual filesystem over one bucket, and an fsspec filesystem (``trove://``) over many.

    from trove_dist.vfs import VFS
    fs = VFS(trove, "documents")            # or VFS(driver, "documents")
    with fs.create("reports/q4.txt") as f:
        f.write(b"Q4 earnings report")
    fs.read_dir("reports")                  # [FileInfo(path='reports/q4.txt', ...)]

The package depends on the driver layer only: ``Storage`` is the protocol a ``Driver`` and a
``Trove`` both satisfy.  ``trove_dist.vfs.fsspec_fs`` (imported on demand, since it needs
fsspec) holds ``TroveFileSystem``.
"""

from __future__ import annotations

from trove_dist.driver.names import validate_bucket
from trove_dist.vfs.errors import (
    DirectoryNotEmpty,
    InvalidMove,
    IsADirectory,
    NotADirectory,
    PathExists,
    PathNotFound,
)
from trove_dist.vfs.models import FileInfo
from trove_dist.vfs.paths import normalize
from trove_dist.vfs.reader import FileReader
from trove_dist.vfs.storage import BucketStorage, Reader, Storage
from trove_dist.vfs.vfs import VFS
from trove_dist.vfs.walk import WalkStep
from trove_dist.vfs.writer import FileWriter, WriteAborted

__all__ = [
    "VFS",
    "BucketStorage",
    "DirectoryNotEmpty",
    "FileInfo",
    "FileReader",
    "FileWriter",
    "InvalidMove",
    "IsADirectory",
    "NotADirectory",
    "PathExists",
    "PathNotFound",
    "Reader",
    "Storage",
    "WalkStep",
    "WriteAborted",
    "for_trove",
    "normalize",
]


def for_trove(trove: Storage, bucket: str) -> VFS:
    """What ``Trove.vfs(bucket)`` returns: the bucket through the whole facade — routing,
    middleware, checksums — so files written here read back through ``Trove.get`` and the
    reverse."""
    return VFS(trove, validate_bucket(bucket))
