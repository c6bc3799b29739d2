"""``TroveFileSystem``: trove as an fsspec filesystem, ``trove://bucket/path``.

    fs = fsspec.filesystem("trove", dsn="file:///srv/data")        # or storage=Trove(...)
    pandas.read_csv("trove://photos/index.csv", storage_options={"dsn": "s3://…"})

Paths are ``bucket/path``; the root lists buckets.  Every path operation is delegated to a
``VFS`` per bucket, so fsspec users and VFS users see the same tree: directories are key
prefixes plus the ``dir/`` markers ``mkdir`` stores, and empty directories are supported.
Errors are the ``OSError`` subclasses fsspec expects (``FileNotFoundError`` …), which are trove
errors too.

A filesystem built from a DSN owns the driver it opens and is cached by fsspec like any other
(same DSN, same instance).  One built around a live ``Trove`` or ``Driver`` is never cached: the
object's ``repr`` — all fsspec could hash — does not tell two stores apart.
"""

from __future__ import annotations

import os
from datetime import datetime
from glob import has_magic
from typing import Any

import fsspec
from fsspec.callbacks import DEFAULT_CALLBACK
from fsspec.spec import AbstractFileSystem, _Cached

from trove_dist.driver.registry import open_driver
from trove_dist.errors import BucketAlreadyExists, BucketNotEmpty, BucketNotFound, InvalidBucket
from trove_dist.vfs import errors
from trove_dist.vfs.models import FileInfo
from trove_dist.vfs.paths import normalize
from trove_dist.vfs.reader import FileReader
from trove_dist.vfs.storage import BucketStorage
from trove_dist.vfs.vfs import VFS
from trove_dist.vfs.writer import FileWriter

Entry = dict[str, Any]


class _CacheByValueOnly(_Cached):  # type: ignore[misc]
    """fsspec caches filesystems by a hash of ``str(arguments)``.  That identifies a DSN, but
    not a live store object (two private memory drivers print alike), so a filesystem around
    one skips the cache."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs.get("storage") is not None:
            kwargs["skip_instance_cache"] = True
        return super().__call__(*args, **kwargs)


class TroveFileSystem(AbstractFileSystem, metaclass=_CacheByValueOnly):  # type: ignore[misc]
    protocol = "trove"
    root_marker = ""

    def __init__(self, storage: BucketStorage | None = None, dsn: str | None = None, **options: Any) -> None:
        """``storage``: a ``Trove`` or a ``Driver``; or ``dsn``: a connection string to open a
        driver with (``file:///srv/data``, ``s3://…``).  ``options`` are fsspec's own
        (``skip_instance_cache`` …).

        The argument is not called ``trove``: in ``storage_options`` fsspec reads a key named
        after the protocol as options for that protocol (``{"trove": {...}}``)."""
        super().__init__(**options)
        if (storage is None) == (dsn is None):
            raise ValueError("TroveFileSystem needs a Trove or a Driver as storage=, or a DSN as dsn=")
        self.storage: BucketStorage = storage if storage is not None else open_driver(str(dsn))
        self._vfs: dict[str, VFS] = {}

    # ---- paths --------------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        """``trove://bucket//a/./b/`` -> ``bucket/a/b``."""
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        text = os.fspath(path) if isinstance(path, os.PathLike) else str(path)
        for prefix in (f"{cls.protocol}://", f"{cls.protocol}::"):
            if text.startswith(prefix):
                text = text[len(prefix) :]
        return normalize(text)

    def _split(self, path: str) -> tuple[str, str]:
        bucket, _, key = self._strip_protocol(path).partition("/")
        return bucket, key

    def vfs(self, bucket: str) -> VFS:
        """The ``VFS`` of one bucket (kept: it holds no state, only its settings)."""
        found = self._vfs.get(bucket)
        if found is None:
            try:
                found = self._vfs[bucket] = VFS(self.storage, bucket)
            except InvalidBucket:
                raise errors.not_found(bucket, "") from None
        return found

    # ---- looking ------------------------------------------------------------------------

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Entry] | list[str]:
        bucket, key = self._split(path)
        if not bucket:
            entries = [_directory(b.name) for b in self.storage.list_buckets()]
        else:
            fs = self.vfs(bucket)
            try:
                entries = [_entry(bucket, info) for info in fs.read_dir(key)]
            except NotADirectoryError:
                entries = [_entry(bucket, fs.stat(key))]  # fsspec: ls of a file lists the file
        return entries if detail else [e["name"] for e in entries]

    def info(self, path: str, **kwargs: Any) -> Entry:
        bucket, key = self._split(path)
        if not bucket:
            return _directory("")
        if not key:
            if not self._bucket_exists(bucket):
                raise errors.not_found(bucket, "")
            return _directory(bucket)
        return _entry(bucket, self.vfs(bucket).stat(key))

    def find(
        self, path: str, maxdepth: int | None = None, withdirs: bool = False, detail: bool = False, **kwargs: Any
    ) -> list[str] | dict[str, Entry]:
        """One flat listing of the subtree (a request per 1,000 keys) instead of fsspec's
        listing per directory; with ``maxdepth`` or across buckets, fsspec's own walk."""
        bucket, key = self._split(path)
        if maxdepth is not None or not bucket:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)  # type: ignore[no-any-return]
        fs = self.vfs(bucket)
        root = self._strip_protocol(path)
        found: dict[str, Entry] = {}
        if withdirs and (fs.is_dir(key) if key else self._bucket_exists(bucket)):
            found[root] = _directory(root)  # as fsspec's find: the root too, for glob
        try:
            for info in fs.find(key, dirs=withdirs):
                entry = _entry(bucket, info)
                found[entry["name"]] = entry
        except FileNotFoundError:
            return {} if detail else []
        if not found and key:
            try:
                found[root] = _entry(bucket, fs.stat(key))
            except FileNotFoundError:
                return {} if detail else []
            if found[root]["type"] == "directory":
                del found[root]
        names = sorted(found)
        return {name: found[name] for name in names} if detail else names

    def modified(self, path: str) -> datetime:
        bucket, key = self._split(path)
        info = self.vfs(bucket).stat(key)
        if info.modified is None:
            raise errors.is_a_directory(bucket, key)  # a prefix has no time; only a marker does
        return info.modified

    def _bucket_exists(self, bucket: str) -> bool:
        try:
            return self.storage.bucket_exists(bucket)
        except InvalidBucket:
            return False

    # ---- files --------------------------------------------------------------------------

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> FileReader | FileWriter:
        if not autocommit:
            raise NotImplementedError("trove files appear on close; fsspec transactions are not supported")
        bucket, key = self._split(path)
        fs = self.vfs(bucket)
        if mode == "rb":
            return fs.open_read(key)
        if mode in ("wb", "xb"):
            return fs.create(key, exclusive=mode == "xb")
        raise NotImplementedError(f"mode {mode!r}: objects cannot be appended to or updated in place")

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        bucket, key = self._split(path)
        fs = self.vfs(bucket)
        if (start is not None and start < 0) or (end is not None and end < 0):
            size = fs.stat(key).size
            start = max(size + start, 0) if start is not None and start < 0 else start
            end = size + end if end is not None and end < 0 else end
        return fs.read_bytes(key, start or 0, end)

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        bucket, key = self._split(path)
        self.vfs(bucket).write_bytes(key, value, exclusive=mode == "create")

    def put_file(
        self, lpath: str, rpath: str, callback: Any = DEFAULT_CALLBACK, mode: str = "overwrite", **kwargs: Any
    ) -> None:
        """fsspec's ``put_file``, without making the parent directories first: a file's
        directories exist as soon as the file does, and markers for them would cost a
        request each."""
        if os.path.isdir(lpath):
            self.makedirs(rpath, exist_ok=True)
            return
        with open(lpath, "rb") as source:
            callback.set_size(os.fstat(source.fileno()).st_size)
            with self.open(rpath, "xb" if mode == "create" else "wb") as target:
                while data := source.read(self.blocksize):
                    target.write(data)
                    callback.relative_update(len(data))

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Server-side copy of a file; a directory is re-created (its contents come as
        separate calls from fsspec's ``copy``)."""
        src_bucket, src_key = self._split(path1)
        dst_bucket, dst_key = self._split(path2)
        source = self.vfs(src_bucket).stat(src_key)
        if source.is_dir:
            self.makedirs(path2, exist_ok=True)
            return
        self.vfs(src_bucket).copy(src_key, dst_key, to=self.vfs(dst_bucket))

    def touch(self, path: str, truncate: bool = True, **kwargs: Any) -> None:
        """Create an empty file; with ``truncate=False`` an existing file keeps its content
        and gets a new modification time (copied onto itself)."""
        bucket, key = self._split(path)
        fs = self.vfs(bucket)
        if not truncate and fs.is_file(key):
            fs.set_metadata(key, fs.get_metadata(key))
            return
        fs.write_bytes(key, b"")

    # ---- removing -----------------------------------------------------------------------

    def rm_file(self, path: str) -> None:
        bucket, key = self._split(path)
        fs = self.vfs(bucket)
        if fs.is_dir(key) and not fs.is_file(key):
            raise errors.is_a_directory(bucket, key)
        fs.remove(key)

    def rm(self, path: str | list[str], recursive: bool = False, maxdepth: int | None = None) -> None:
        """A whole tree goes through ``VFS.remove_all`` (flat listing, concurrent deletes);
        globs, ``maxdepth`` and single entries through fsspec's path expansion."""
        paths = [path] if isinstance(path, str) else list(path)
        expanded: list[str] = []
        for one in paths:
            bucket, key = self._split(one)
            if recursive and maxdepth is None and bucket and key and not has_magic(one):
                fs = self.vfs(bucket)
                if not fs.exists(key):
                    raise errors.not_found(bucket, key)
                fs.remove_all(key)
            else:
                expanded.extend(self.expand_path(one, recursive=recursive, maxdepth=maxdepth))
        for one in sorted(set(expanded), reverse=True):  # children before their directories
            self._remove_expanded(one, recursive)

    def _remove_expanded(self, path: str, recursive: bool) -> None:
        bucket, key = self._split(path)
        if not key:
            self.rmdir(bucket)
            return
        fs = self.vfs(bucket)
        try:
            if not recursive and not fs.is_file(key) and fs.read_dir(key):
                raise errors.is_a_directory(bucket, key)
            fs.remove(key)
        except errors.PathNotFound:
            return  # a directory that existed only through the children just removed

    def rmdir(self, path: str) -> None:
        bucket, key = self._split(path)
        if key:
            fs = self.vfs(bucket)
            if not fs.is_dir(key) or fs.is_file(key):
                raise errors.not_a_directory(bucket, key)
            fs.remove(key)
            return
        try:
            self.storage.delete_bucket(bucket)
        except BucketNotEmpty:
            raise errors.not_empty(bucket, "") from None
        except BucketNotFound:
            raise errors.not_found(bucket, "") from None

    # ---- directories --------------------------------------------------------------------

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        bucket, key = self._split(path)
        if not key:
            self._create_bucket(bucket, exist_ok=False)
            return
        if create_parents:
            self._create_bucket(bucket, exist_ok=True)
        self.vfs(bucket).mkdir(key, parents=create_parents)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        bucket, key = self._split(path)
        if not key:
            self._create_bucket(bucket, exist_ok=exist_ok)
            return
        self._create_bucket(bucket, exist_ok=True)
        self.vfs(bucket).mkdir(key, parents=True, exist_ok=exist_ok)

    def _create_bucket(self, bucket: str, *, exist_ok: bool) -> None:
        if not bucket:
            raise errors.exists("", "")  # the root always exists
        if exist_ok and self._bucket_exists(bucket):
            return
        try:
            self.storage.create_bucket(bucket, exist_ok=exist_ok)
        except BucketAlreadyExists:
            raise errors.exists(bucket, "") from None


def _entry(bucket: str, info: FileInfo) -> Entry:
    name = f"{bucket}/{info.path}" if info.path else bucket
    if info.is_dir:
        return _directory(name)
    return {
        "name": name,
        "size": info.size,
        "type": "file",
        "mtime": info.modified,
        "etag": info.etag,
        "content_type": info.content_type,
        "metadata": dict(info.metadata),
    }


def _directory(name: str) -> Entry:
    return {"name": name, "size": 0, "type": "directory"}


def register(clobber: bool = False) -> None:
    """Register ``trove://`` with fsspec in this process, for when the package's entry point
    is not installed (a source checkout that was not pip-installed)."""
    fsspec.register_implementation(TroveFileSystem.protocol, TroveFileSystem, clobber=clobber)


__all__ = ["TroveFileSystem", "register"]
