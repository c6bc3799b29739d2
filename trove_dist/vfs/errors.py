"""The VFS's errors: trove errors that are also the built-in ``OSError`` a file API raises.

Code written against files catches ``FileNotFoundError``, ``IsADirectoryError`` and friends —
and fsspec depends on exactly those (``exists``, ``cp(on_error=...)``, ``rm``).  Code written
against trove catches ``NotFound`` or ``AlreadyExists``.  Each class below is both, so neither
kind of caller has to learn the other's vocabulary.  They carry ``errno`` and ``filename``
(``bucket/path``) like any ``OSError`` and pickle like one.
"""

from __future__ import annotations

import errno
import os
from typing import TypeVar

from trove_dist.errors import AlreadyExists, NotFound, TroveError


class PathNotFound(NotFound, FileNotFoundError):
    """No file or directory at the path (or no such bucket)."""


class PathExists(AlreadyExists, FileExistsError):
    """Exclusive creation (``mode="xb"``, ``mkdir``) found something already there."""


class NotADirectory(TroveError, NotADirectoryError):
    """A directory operation on a file, or a path that runs through a file."""


class IsADirectory(TroveError, IsADirectoryError):
    """A file operation on a directory."""


class DirectoryNotEmpty(TroveError, OSError):
    """``remove`` of a directory that still has children, or ``rename`` onto one (ENOTEMPTY)."""


class InvalidMove(TroveError, OSError):
    """``rename`` of a directory into itself (EINVAL, as POSIX ``rename`` answers)."""


_E = TypeVar("_E", bound=OSError)


def _error(cls: type[_E], code: int, bucket: str, path: str) -> _E:
    return cls(code, os.strerror(code), f"{bucket}/{path}")


def not_found(bucket: str, path: str) -> PathNotFound:
    return _error(PathNotFound, errno.ENOENT, bucket, path)


def exists(bucket: str, path: str) -> PathExists:
    return _error(PathExists, errno.EEXIST, bucket, path)


def not_a_directory(bucket: str, path: str) -> NotADirectory:
    return _error(NotADirectory, errno.ENOTDIR, bucket, path)


def is_a_directory(bucket: str, path: str) -> IsADirectory:
    return _error(IsADirectory, errno.EISDIR, bucket, path)


def not_empty(bucket: str, path: str) -> DirectoryNotEmpty:
    return _error(DirectoryNotEmpty, errno.ENOTEMPTY, bucket, path)


def invalid_move(bucket: str, src: str, dst: str) -> InvalidMove:
    error = _error(InvalidMove, errno.EINVAL, bucket, src)
    error.filename2 = f"{bucket}/{dst}"
    return error
