"""``VFS``: a bucket seen as a tree of directories and files.

Keys are paths with ``/`` as the separator.  A directory exists while any key lies below it,
or while its zero-length *marker* object (key ``dir/``) does — that is what ``mkdir`` stores, on
every driver (the local driver keeps it as a file named ``%`` inside the directory).  The VFS
keeps no state of its own: every answer comes from the store, so several processes (or a VFS
and plain ``put``/``get`` users) see the same tree.

Errors are the built-in ``OSError`` subclasses a file API raises, which are also trove errors
(see ``trove_dist.vfs.errors``).  Things object storage cannot make atomic are documented where
they happen: ``rename`` of a directory and ``remove_all`` touch one key at a time.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Literal, overload

from trove_dist.driver.models import CommonPrefix, ObjectInfo
from trove_dist.driver.names import validate_bucket
from trove_dist.errors import (
    BucketNotFound,
    InvalidKey,
    InvalidRange,
    KeyConflict,
    ObjectNotFound,
    PreconditionFailed,
    UnsupportedCapability,
)
from trove_dist.vfs import errors
from trove_dist.vfs.models import FileInfo
from trove_dist.vfs.parallel import for_each
from trove_dist.vfs.paths import ROOT, ancestors, dir_prefix, is_within, join, normalize, parent, usable_name
from trove_dist.vfs.reader import BLOCK_SIZE as READ_BLOCK
from trove_dist.vfs.reader import FileReader, Opener, RangeSource
from trove_dist.vfs.storage import Reader, Storage
from trove_dist.vfs.walk import WalkStep, listing_waits, walk_tree
from trove_dist.vfs.writer import BLOCK_SIZE as WRITE_BLOCK
from trove_dist.vfs.writer import FileWriter

DIRECTORY_CONTENT_TYPE = "application/x-directory"


class VFS:
    def __init__(
        self,
        storage: Storage,
        bucket: str,
        *,
        workers: int = 8,
        read_block: int = READ_BLOCK,
        write_block: int = WRITE_BLOCK,
    ) -> None:
        """``storage`` is a ``Driver`` or a ``Trove``.  ``workers`` bounds the concurrent
        requests of ``walk``, ``remove_all`` and ``rename``; ``read_block`` is the read-ahead of
        small reads; ``write_block`` how much a writer gathers before sending (a file under one
        block is stored with a single request, on close)."""
        self.storage = storage
        self.bucket = validate_bucket(bucket)
        self.workers = workers
        self.read_block = read_block
        self.write_block = write_block

    def __repr__(self) -> str:
        return f"<VFS {self.bucket} on {self.storage!r}>"

    # ---- looking ------------------------------------------------------------------------

    def stat(self, path: str) -> FileInfo:
        """The file at ``path`` if there is one, else the directory (by its marker or its
        children); ``FileNotFoundError`` if neither."""
        path = normalize(path)
        if path:
            info = self._head(path)
            if info is not None:
                return FileInfo.file(path, info)
        found = self._directory(path)
        if found is None:
            raise errors.not_found(self.bucket, path)
        return found

    def exists(self, path: str) -> bool:
        return self._stat_or_none(normalize(path)) is not None

    def is_file(self, path: str) -> bool:
        path = normalize(path)
        return bool(path) and self._head(path) is not None

    def is_dir(self, path: str) -> bool:
        return self._directory(normalize(path)) is not None

    def read_dir(self, path: str = ROOT) -> list[FileInfo]:
        """The entries directly inside directory ``path``, in key order — every page of the
        listing, however many.  Directories are ``FileInfo``s without a modification time."""
        path = normalize(path)
        prefix = dir_prefix(path)
        entries: list[FileInfo] = []
        seen = False
        try:
            for item in self.storage.iter_list(self.bucket, prefix=prefix, delimiter="/"):
                seen = True
                if isinstance(item, CommonPrefix):
                    name = item.prefix[len(prefix) : -1]
                    if usable_name(name):
                        entries.append(FileInfo.directory(join(path, name)))
                elif item.key != prefix:  # the directory's own marker is not an entry
                    name = item.key[len(prefix) :]
                    if usable_name(name):
                        entries.append(FileInfo.file(join(path, name), item))
        except BucketNotFound:
            raise errors.not_found(self.bucket, path) from None
        if not seen and path:
            if self._head(path) is not None:
                raise errors.not_a_directory(self.bucket, path)
            raise errors.not_found(self.bucket, path)
        return entries

    def walk(self, top: str = ROOT, *, topdown: bool = True) -> Iterator[WalkStep]:
        """``os.walk`` for the bucket: ``(path, dirs, files)`` per directory.  Top-down, the
        caller may remove entries from ``dirs`` to skip those subtrees.  A directory that
        disappears meanwhile is skipped, as ``os.walk`` does.

        When listings wait on a remote store, the next ``workers`` directories are listed
        ahead, concurrently (see ``trove_dist.vfs.walk``); the order is that of a sequential
        walk, and pruned directories are never listed."""
        top = normalize(top)
        entries, waits = listing_waits(self.read_dir, top)
        yield from walk_tree(self.read_dir, top, entries, topdown=topdown, workers=self.workers if waits else 1)

    def find(self, path: str = ROOT, *, dirs: bool = False) -> Iterator[FileInfo]:
        """Every file below directory ``path`` (and with ``dirs``, every directory, each when
        first met), from one flat listing of the whole subtree: a request per 1,000 keys,
        not one per directory as ``walk`` needs."""
        path = normalize(path)
        prefix = dir_prefix(path)
        emitted: set[str] = set()
        try:
            for item in self.storage.iter_list(self.bucket, prefix=prefix):
                if not isinstance(item, ObjectInfo):
                    continue
                relative = item.key[len(prefix) :]
                segments = relative.split("/")
                if not all(map(usable_name, segments[:-1])):
                    continue
                if dirs:
                    for depth in range(1, len(segments)):
                        directory = join(path, "/".join(segments[:depth]))
                        if directory not in emitted:
                            emitted.add(directory)
                            yield FileInfo.directory(directory)
                if usable_name(segments[-1]):
                    yield FileInfo.file(join(path, relative), item)
        except BucketNotFound:
            raise errors.not_found(self.bucket, path) from None

    # ---- reading and writing ------------------------------------------------------------

    @overload
    def open(self, path: str, mode: Literal["rb"] = "rb") -> FileReader: ...
    @overload
    def open(self, path: str, mode: Literal["wb", "xb"]) -> FileWriter: ...

    def open(self, path: str, mode: str = "rb") -> FileReader | FileWriter:
        """``"rb"`` reads (seekable), ``"wb"`` writes, ``"xb"`` creates exclusively.  Binary
        only: wrap the file in ``io.TextIOWrapper`` for text."""
        if mode == "rb":
            return self.open_read(path)
        if mode in ("wb", "xb"):
            return self.create(path, exclusive=mode == "xb")
        raise ValueError(f"unsupported mode {mode!r}: use 'rb', 'wb' or 'xb'")

    def open_read(self, path: str) -> FileReader:
        path = normalize(path)
        key = self._file_key(path)
        first = self._get(path, key)
        source = RangeSource(self._opener(key), first, f"{self.bucket}/{key}")
        return FileReader(source, path, self.read_block)

    def create(
        self,
        path: str,
        *,
        exclusive: bool = False,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> FileWriter:
        """A writer for ``path``; the file appears (or is replaced) when it is closed, never
        before and never partly.  ``exclusive`` refuses an existing path, now and — on a store
        with conditional writes — atomically at close as well."""
        path = normalize(path)
        key = self._file_key(path)
        if exclusive and self._stat_or_none(path) is not None:
            raise errors.exists(self.bucket, path)

        def upload(body: bytes | Iterable[bytes]) -> ObjectInfo:
            return self._store(key, body, exclusive=exclusive, content_type=content_type, metadata=metadata)

        return FileWriter(upload, path, self.write_block)

    def read_bytes(self, path: str, start: int = 0, end: int | None = None) -> bytes:
        """The file's bytes ``[start, end)`` in one request (``end`` None: to the end)."""
        path = normalize(path)
        key = self._file_key(path)
        if end is not None and end <= start:
            return b""
        try:
            reader = self._get(path, key, start, None if end is None else end - start)
        except InvalidRange:
            return b""
        try:
            return reader.read()
        finally:
            reader.close()

    def write_bytes(
        self,
        path: str,
        data: bytes,
        *,
        exclusive: bool = False,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> FileInfo:
        """Store ``data`` as the file at ``path`` in one request; ``exclusive`` as ``create``."""
        path = normalize(path)
        key = self._file_key(path)
        if exclusive and self._stat_or_none(path) is not None:
            raise errors.exists(self.bucket, path)
        info = self._store(key, data, exclusive=exclusive, content_type=content_type, metadata=metadata)
        return FileInfo.file(path, info)

    def copy(self, src: str, dst: str, *, to: VFS | None = None) -> FileInfo:
        """Copy a file — server-side where the store can — within this bucket or ``to`` the
        VFS of another bucket on the same storage; metadata and content type go along."""
        target = self if to is None else to
        if target.storage is not self.storage:
            raise ValueError("copy between two storages: open the file on one and write it on the other")
        src, dst = normalize(src), normalize(dst)
        self._file_key(src)
        target._file_key(dst)
        return FileInfo.file(dst, self._copy(src, dst, target))

    # ---- directories --------------------------------------------------------------------

    def mkdir(self, path: str, *, parents: bool = False, exist_ok: bool = False) -> None:
        """Store the directory's marker.  Without ``parents`` the parent must exist; with
        it, missing ancestors come into being with the marker below them (as prefixes)."""
        path = normalize(path)
        existing = self._stat_or_none(path)
        if existing is not None:
            if existing.is_dir and exist_ok:
                return
            raise errors.exists(self.bucket, path)
        up = parent(path)
        if not parents and up:
            above = self._stat_or_none(up)
            if above is None:
                raise errors.not_found(self.bucket, up)
            if not above.is_dir:
                raise errors.not_a_directory(self.bucket, up)
        self._store(dir_prefix(path), b"", exclusive=False, content_type=DIRECTORY_CONTENT_TYPE, metadata=None)

    def remove(self, path: str) -> None:
        """Remove a file, or an empty directory (its marker)."""
        path = normalize(path)
        if not path:
            raise InvalidKey(path, "the bucket root cannot be removed")
        if self._head(path) is not None:
            self.storage.delete(self.bucket, path)
            return
        prefix = dir_prefix(path)
        try:
            page = self.storage.list(self.bucket, prefix=prefix, max_keys=2)
        except BucketNotFound:
            raise errors.not_found(self.bucket, path) from None
        keys = [o.key for o in page.objects]
        if not keys:
            raise errors.not_found(self.bucket, path)
        if keys != [prefix]:
            raise errors.not_empty(self.bucket, path)
        self.storage.delete(self.bucket, prefix)

    def remove_all(self, path: str) -> int:
        """Remove ``path`` and everything below it, every page of it; returns how many
        objects were deleted.  A path that does not exist is not an error (as ``rm -rf``).

        Not atomic: a failure part-way leaves the keys not yet reached."""
        path = normalize(path)
        removed = 0
        if path and self._head(path) is not None:
            self.storage.delete(self.bucket, path)
            removed += 1
        try:
            keys = self._keys_below(path)
            return removed + for_each(self._delete, keys, self.workers)
        except BucketNotFound:
            raise errors.not_found(self.bucket, path) from None

    def rename(self, src: str, dst: str) -> None:
        """Move a file or a directory tree: server-side copies, then deletes.

        A directory is copied key by key — all of it — before anything is deleted: if a copy
        fails, the copies made so far are removed again and the source is left as it was.  As
        with POSIX ``rename``, a file replaces a file, a directory may replace only an empty
        directory, and a directory cannot move into itself.
        """
        src, dst = normalize(src), normalize(dst)
        if not src:
            raise errors.invalid_move(self.bucket, src, dst)
        if src == dst:
            self.stat(src)
            return
        if is_within(dst, src):
            raise errors.invalid_move(self.bucket, src, dst)
        target = self._stat_or_none(dst) if dst else self._directory(dst)
        if self._head(src) is not None:
            if not dst or (target is not None and target.is_dir):
                raise errors.is_a_directory(self.bucket, dst)
            self._copy(src, dst)
            self.storage.delete(self.bucket, src)
            return
        if self._directory(src) is None:
            raise errors.not_found(self.bucket, src)
        if target is not None:
            if not target.is_dir:
                raise errors.not_a_directory(self.bucket, dst)
            if not self._is_empty_dir(dst):
                raise errors.not_empty(self.bucket, dst)
        self._move_tree(src, dst, keep_marker=target is not None)

    def _move_tree(self, src: str, dst: str, *, keep_marker: bool) -> None:
        src_prefix, dst_prefix = dir_prefix(src), dir_prefix(dst)
        keys = list(self._keys_below(src))  # the whole tree, fixed before anything changes
        copied: list[str] = []
        lock = threading.Lock()

        def copy(key: str) -> None:
            target = dst_prefix + key[len(src_prefix) :]
            self._copy(key, target)
            with lock:
                copied.append(target)

        try:
            for_each(copy, keys, self.workers)
        except BaseException as failure:
            undo = [k for k in copied if not (keep_marker and k == dst_prefix)]
            try:
                for_each(self._delete, undo, self.workers)
            except Exception as cleanup:  # noqa: BLE001 - reported on the failure being raised
                failure.add_note(f"and removing the partial copy under {self.bucket}/{dst} failed too: {cleanup}")
            raise
        for_each(self._delete, keys, self.workers)

    # ---- metadata -----------------------------------------------------------------------

    def get_metadata(self, path: str) -> Mapping[str, str]:
        path = normalize(path)
        return self._file_info(path).metadata

    def set_metadata(self, path: str, metadata: Mapping[str, str]) -> FileInfo:
        """Replace a file's user metadata.  The content is untouched: the object is copied
        onto itself server-side with the new metadata (a whole-object rewrite on stores that
        cannot copy in place), keeping its content type."""
        path = normalize(path)
        self._file_info(path)
        try:
            info = self.storage.copy(self.bucket, path, self.bucket, path, metadata=metadata)
        except (ObjectNotFound, BucketNotFound):
            raise errors.not_found(self.bucket, path) from None
        return FileInfo.file(path, info)

    # ---- helpers ------------------------------------------------------------------------

    def _file_key(self, path: str) -> str:
        if not path:
            raise errors.is_a_directory(self.bucket, path)
        return path

    def _file_info(self, path: str) -> ObjectInfo:
        info = self._head(path) if path else None
        if info is None:
            raise self._missing(path)
        return info

    def _missing(self, path: str) -> OSError:
        """The error for a file that is not there: a directory stands there, or nothing."""
        if self._directory(path) is not None:
            return errors.is_a_directory(self.bucket, path)
        return errors.not_found(self.bucket, path)

    def _head(self, key: str) -> ObjectInfo | None:
        try:
            return self.storage.head(self.bucket, key)
        except ObjectNotFound:
            return None
        except BucketNotFound:
            raise errors.not_found(self.bucket, key) from None

    def _directory(self, path: str) -> FileInfo | None:
        """The directory ``path`` if it has a marker or children (one listing request)."""
        prefix = dir_prefix(path)
        try:
            page = self.storage.list(self.bucket, prefix=prefix, max_keys=1)
        except BucketNotFound:
            raise errors.not_found(self.bucket, path) from None
        if not path:
            return FileInfo.directory(path)  # the root exists as long as the bucket does
        if not page.objects:
            return None
        first = page.objects[0]
        return FileInfo.directory(path, first if first.key == prefix else None)

    def _stat_or_none(self, path: str) -> FileInfo | None:
        try:
            return self.stat(path)
        except errors.PathNotFound:
            return None

    def _is_empty_dir(self, path: str) -> bool:
        prefix = dir_prefix(path)
        page = self.storage.list(self.bucket, prefix=prefix, max_keys=2)
        return all(o.key == prefix for o in page.objects)

    def _keys_below(self, path: str) -> Iterator[str]:
        """Every key under directory ``path`` (markers included), page after page."""
        for item in self.storage.iter_list(self.bucket, prefix=dir_prefix(path)):
            if isinstance(item, ObjectInfo):
                yield item.key

    def _get(self, path: str, key: str, offset: int = 0, length: int | None = None) -> Reader:
        try:
            return self.storage.get(self.bucket, key, offset=offset, length=length)
        except ObjectNotFound:
            raise self._missing(path) from None
        except BucketNotFound:
            raise errors.not_found(self.bucket, path) from None

    def _opener(self, key: str) -> Opener:
        def open_range(offset: int, length: int | None) -> Reader:
            return self.storage.get(self.bucket, key, offset=offset, length=length)

        return open_range

    def _store(
        self,
        key: str,
        body: bytes | Iterable[bytes],
        *,
        exclusive: bool,
        content_type: str | None,
        metadata: Mapping[str, str] | None,
    ) -> ObjectInfo:
        path = key.rstrip("/")
        try:
            try:
                return self.storage.put(
                    self.bucket,
                    key,
                    body,
                    content_type=content_type,
                    metadata=metadata,
                    if_none_match="*" if exclusive else None,
                )
            except UnsupportedCapability:
                if not exclusive or not _unstarted(body):
                    raise
                # No conditional writes on this store: check once more, as late as possible —
                # the most it allows (another writer can still slip in before the put).
                if self._stat_or_none(path) is not None:
                    raise errors.exists(self.bucket, path) from None
                return self.storage.put(self.bucket, key, body, content_type=content_type, metadata=metadata)
        except PreconditionFailed:
            raise errors.exists(self.bucket, path) from None
        except KeyConflict:
            raise self._conflict(path) from None
        except BucketNotFound:
            raise errors.not_found(self.bucket, path) from None

    def _copy(self, src_key: str, dst_key: str, target: VFS | None = None) -> ObjectInfo:
        target = self if target is None else target
        try:
            return self.storage.copy(self.bucket, src_key, target.bucket, dst_key)
        except ObjectNotFound:
            raise self._missing(src_key.rstrip("/")) from None
        except BucketNotFound:
            raise errors.not_found(target.bucket, dst_key.rstrip("/")) from None
        except KeyConflict:
            raise target._conflict(dst_key.rstrip("/")) from None

    def _delete(self, key: str) -> None:
        self.storage.delete(self.bucket, key)

    def _conflict(self, path: str) -> OSError:
        """Why a store with real directories (local, SFTP) refused ``path``: a file stands
        where a directory must be, or a directory where the file would go."""
        for directory in ancestors(path):
            if self._head(directory) is not None:
                return errors.not_a_directory(self.bucket, directory)
        return errors.is_a_directory(self.bucket, path)


def _unstarted(body: bytes | Iterable[bytes]) -> bool:
    """True if nothing of ``body`` has been consumed, so it can be offered to ``put`` again."""
    return isinstance(body, bytes) or (
        inspect.isgenerator(body) and inspect.getgeneratorstate(body) == inspect.GEN_CREATED
    )
