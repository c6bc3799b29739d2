"""The local filesystem driver: ``file:///srv/data``.

Layout: ``ROOT/<bucket>/<key as path>`` holds each object as its plain bytes (see ``paths`` for
how awkward keys are escaped); ``ROOT/.trove/`` holds lock files.  Bucket names never start with
a dot and escaped key components never do either, so internal files are out of every key's reach.

Safety and atomicity:

* Keys are validated by the ``Driver`` base and then resolved one component at a time with
  ``openat(O_NOFOLLOW)``: a symlink planted anywhere under the root is refused, never followed.
* A put writes a temporary dot-file in the target directory, stores content type, user
  metadata, etag and checksum as one extended attribute of that file, optionally fsyncs, and
  renames it over the key.  Data and metadata become visible together, in one rename; a crash
  leaves at worst an invisible temporary file.
* The rename happens under a per-key-stripe ``flock`` (taken through a fresh descriptor, so it
  excludes threads as well as processes).  That makes ``if_match`` a true compare-and-swap and
  lets ``delete_bucket`` exclude writers by taking every stripe.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import json
import os
import secrets
import shutil
import stat
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from trove_dist.checksum import Checksum, new_hasher
from trove_dist.driver.base import Driver, Limitation, PutOptions, check_range, guess_content_type
from trove_dist.driver.body import MeteredChunks
from trove_dist.driver.dsn import DSN
from trove_dist.driver.keypaths import CONTINUATION, key_components, prefix_directories
from trove_dist.driver.listing import Position, listing_scope, paginate, start_position
from trove_dist.driver.models import BucketInfo, ListPage, ObjectInfo, normalize_metadata
from trove_dist.driver.names import validate_bucket, validate_key
from trove_dist.driver.reader import ObjectReader
from trove_dist.driver.treewalk import Child, Kind, RawEntry, TreeWalk, children
from trove_dist.drivers.local import resolve
from trove_dist.drivers.local.multipart import LocalMultipart
from trove_dist.errors import (
    BucketAlreadyExists,
    BucketNotEmpty,
    BucketNotFound,
    InvalidDSN,
    InvalidKey,
    KeyConflict,
    ObjectNotFound,
    PreconditionFailed,
    TroveError,
)

XATTR = "user.trove"
SYMLINK_REFUSED = "resolves through a symbolic link; the local driver never follows one"
INTERNAL_DIR = ".trove"
TEMP_PREFIX = ".trove-tmp-"
LOCK_STRIPES = 64
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_COPY_BLOCK = 8 * 1024 * 1024
_LISTING_CACHE_SIZE = 64
#: A directory's listing is cached only once its mtime is this old: a change made in the same
#: clock tick as the cached state would otherwise leave the mtime unchanged.
_LISTING_CACHE_SETTLE_NS = 2_000_000_000


class LocalDriver(Driver, LocalMultipart):
    schemes = ("file",)
    limitations = frozenset({Limitation.NO_OBJECT_AND_PREFIX_SAME_NAME})

    def __init__(self, root: str | os.PathLike[str], *, durable: bool = True, create: bool = True) -> None:
        """``durable`` fsyncs each object and its directory before ``put`` returns (slower,
        survives power loss); ``create`` makes the root directory if it does not exist."""
        self.root = Path(root).expanduser().absolute()
        self.durable = durable
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        if not self.root.is_dir():
            raise InvalidDSN(f"local root {self.root} is not a directory")
        self._locks = self.root / INTERNAL_DIR / "locks"
        self._locks.mkdir(parents=True, exist_ok=True)
        self._stripe_locks = [threading.Lock() for _ in range(LOCK_STRIPES)]
        self._stripe_fds = [-1] * LOCK_STRIPES
        self._root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._check_xattrs()
        self._listing_cache: OrderedDict[str, tuple[int, int, list[Child[str]]]] = OrderedDict()

    @classmethod
    def from_dsn(cls, dsn: DSN) -> Self:
        """``file:///abs/path``, ``file://./relative/path`` or ``file://~/path``;
        ``?durable=false`` skips fsync."""
        if dsn.host in ("", "localhost"):
            root = dsn.path
        elif dsn.host in (".", "~"):
            root = dsn.host + dsn.path
        else:
            raise InvalidDSN(f"file DSN host must be empty, '.' or '~' (got {dsn.host!r}); use file:///abs/path")
        if not root:
            raise InvalidDSN("file DSN needs a path, e.g. file:///srv/data")
        return cls(root, durable=dsn.flag("durable", True), create=dsn.flag("create", True))

    def __repr__(self) -> str:
        return f"<LocalDriver {self.root} durable={self.durable}>"

    def _check_xattrs(self) -> None:
        probe = self._locks / f"{TEMP_PREFIX}xattr-probe-{secrets.token_hex(4)}"
        probe.touch()
        try:
            os.setxattr(probe, XATTR, b"{}")
        except OSError as exc:
            raise TroveError(
                f"the filesystem at {self.root} does not support user extended attributes ({exc.strerror}); "
                "the local driver keeps object metadata in them"
            ) from exc
        finally:
            probe.unlink()

    # ---- buckets ------------------------------------------------------------------------

    def _bucket_path(self, bucket: str) -> Path:
        return self.root / bucket

    def _create_bucket(self, bucket: str, *, exist_ok: bool) -> None:
        try:
            os.mkdir(self._bucket_path(bucket), 0o755)
        except FileExistsError:
            if exist_ok and self._bucket_path(bucket).is_dir():
                return
            raise BucketAlreadyExists(bucket) from None
        if self.durable:
            self._fsync_path(self.root)

    def _delete_bucket(self, bucket: str) -> None:
        path = self._bucket_path(bucket)
        if not self._bucket_exists(bucket):
            raise BucketNotFound(bucket)
        with self._all_stripes(bucket):
            if not self._bucket_is_empty(bucket):
                raise BucketNotEmpty(bucket)
            # Only empty directories and stale temporary files can remain.
            shutil.rmtree(path)
        if self.durable:
            self._fsync_path(self.root)

    def _list_buckets(self) -> list[BucketInfo]:
        out = []
        with os.scandir(self.root) as it:
            for entry in it:
                if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                    continue
                created = datetime.fromtimestamp(entry.stat(follow_symlinks=False).st_mtime, UTC)
                out.append(BucketInfo(entry.name, created))
        return out

    def _bucket_exists(self, bucket: str) -> bool:
        try:
            return stat.S_ISDIR(os.lstat(self._bucket_path(bucket)).st_mode)
        except FileNotFoundError:
            return False

    # ---- resolving keys -----------------------------------------------------------------

    def _open_bucket(self, bucket: str) -> int:
        try:
            return os.open(bucket, _DIR_FLAGS, dir_fd=self._root_fd)
        except (FileNotFoundError, NotADirectoryError):
            raise BucketNotFound(bucket) from None

    def _open_parent(self, bucket: str, key: str, components: list[str], *, create: bool) -> int:
        """A descriptor of the directory that holds ``key``'s file, never through a symlink:
        one ``openat2`` call when the kernel has it and the directories exist, else a walk one
        component at a time.  With ``create``, missing directories are made (and fsynced when
        durable)."""
        if resolve.available:
            path = "/".join([bucket, *components[:-1]])
            try:
                return resolve.open_beneath(self._root_fd, path, os.O_RDONLY | os.O_DIRECTORY)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise InvalidKey(key, SYMLINK_REFUSED) from None
                if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                    raise
                # missing or conflicting directories: the walk below creates or names them
        fd = self._open_bucket(bucket)
        try:
            for name in components[:-1]:
                try:
                    child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise ObjectNotFound(bucket, key) from None
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(name, 0o755, dir_fd=fd)
                        if self.durable:
                            os.fsync(fd)
                    child = self._open_child_dir(fd, name, bucket, key, create)
                except NotADirectoryError:
                    child = self._open_child_dir(fd, name, bucket, key, create)
                os.close(fd)
                fd = child
            return fd
        except BaseException:
            os.close(fd)
            raise

    def _open_child_dir(self, fd: int, name: str, bucket: str, key: str, create: bool) -> int:
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=fd)
        except NotADirectoryError:
            mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
            if stat.S_ISLNK(mode):
                raise InvalidKey(key, "resolves through a symbolic link; the local driver never follows one") from None
            if create:
                raise KeyConflict(
                    f"cannot store {bucket}/{key}: a prefix of it is an object on the local filesystem "
                    "(it cannot be both a file and a directory)"
                ) from None
            raise ObjectNotFound(bucket, key) from None
        except FileNotFoundError:
            if create:  # removed by a concurrent delete's directory cleanup: the caller retries
                raise _Retry from None
            raise ObjectNotFound(bucket, key) from None

    def _open_object(self, bucket: str, key: str) -> int:
        components = key_components(key)
        if resolve.available:
            try:
                return resolve.open_beneath(self._root_fd, "/".join([bucket, *components]), os.O_RDONLY)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise InvalidKey(key, SYMLINK_REFUSED) from None
                if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                    raise
                if not self._bucket_exists(bucket):
                    raise BucketNotFound(bucket) from None
                raise ObjectNotFound(bucket, key) from None
        parent = self._open_parent(bucket, key, components, create=False)
        try:
            return os.open(components[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        except (FileNotFoundError, IsADirectoryError):
            raise ObjectNotFound(bucket, key) from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise InvalidKey(key, "is a symbolic link; the local driver never follows one") from None
            raise
        finally:
            os.close(parent)

    # ---- locking ------------------------------------------------------------------------

    def _stripe_index(self, bucket: str, key: str) -> int:
        return zlib.crc32(f"{bucket}/{key}".encode()) % LOCK_STRIPES

    def _stripe_fd(self, stripe: int) -> int:
        fd = self._stripe_fds[stripe]
        if fd < 0:
            fd = os.open(self._locks / f"{stripe:02d}", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            self._stripe_fds[stripe] = fd
        return fd

    @contextlib.contextmanager
    def _stripe(self, bucket: str, key: str) -> Iterator[None]:
        """Exclusive for one key's stripe: a thread lock for this process, ``flock`` on the
        stripe's lock file (kept open) for other processes."""
        stripe = self._stripe_index(bucket, key)
        with self._stripe_locks[stripe]:
            fd = self._stripe_fd(stripe)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _all_stripes(self, bucket: str) -> Iterator[None]:
        """Every stripe at once (deleting a bucket excludes all writers)."""
        with contextlib.ExitStack() as stack:
            for stripe in range(LOCK_STRIPES):
                stack.enter_context(self._stripe_locks[stripe])
                fd = self._stripe_fd(stripe)
                fcntl.flock(fd, fcntl.LOCK_EX)
                stack.callback(fcntl.flock, fd, fcntl.LOCK_UN)
            yield

    # ---- metadata -----------------------------------------------------------------------

    def _info(self, bucket: str, key: str, fd: int) -> ObjectInfo:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ObjectNotFound(bucket, key)
        return self._info_from(bucket, key, st, _read_xattr(fd))

    @staticmethod
    def _info_from(bucket: str, key: str, st: os.stat_result, meta: dict[str, object] | None) -> ObjectInfo:
        modified = datetime.fromtimestamp(st.st_mtime_ns / 1e9, UTC)
        if meta is None:
            # A file some other tool put here: describe it from what the filesystem knows.
            return ObjectInfo(
                bucket=bucket,
                key=key,
                size=st.st_size,
                etag=f"{st.st_ino:x}-{st.st_size:x}-{st.st_mtime_ns:x}",
                last_modified=modified,
                content_type=guess_content_type(key),
            )
        checksum = meta.get("c")
        metadata = meta.get("m")
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=st.st_size,
            etag=str(meta["e"]),
            last_modified=modified,
            content_type=str(meta["t"]),
            metadata=dict(metadata) if isinstance(metadata, dict) else {},
            checksum=Checksum.parse(checksum) if isinstance(checksum, str) else None,
        )

    # ---- objects ------------------------------------------------------------------------

    def _put(self, bucket: str, key: str, body: MeteredChunks, options: PutOptions) -> ObjectInfo:
        components = key_components(key)
        parent, created, fd = self._create_temp(bucket, key, components)
        temp: str | None = created
        try:
            etag = new_hasher("xxh3")
            for chunk in body:
                _write_all(fd, chunk)
                etag.update(chunk)
            checksum = body.checksum
            meta: dict[str, object] = {"e": etag.hexdigest(), "t": options.content_type, "m": options.metadata}
            if checksum is not None:
                meta["c"] = str(checksum)
            os.setxattr(fd, XATTR, json.dumps(meta, ensure_ascii=False).encode("utf-8"))
            if self.durable:
                os.fsync(fd)
            st = os.fstat(fd)
            os.close(fd)
            fd = -1
            self._commit(bucket, key, parent, created, components[-1], options)
            temp = None
            return self._info_from(bucket, key, st, meta)
        finally:
            if fd >= 0:
                os.close(fd)
            if temp is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp, dir_fd=parent)
            os.close(parent)

    def _create_temp(self, bucket: str, key: str, components: list[str]) -> tuple[int, str, int]:
        """Open a fresh temporary file next to where ``key`` will live: (dir fd, name, fd)."""
        for _ in range(16):
            try:
                parent = self._open_parent(bucket, key, components, create=True)
            except _Retry:
                continue
            temp = f"{TEMP_PREFIX}{secrets.token_hex(8)}"
            try:
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
                fd = os.open(temp, flags, 0o644, dir_fd=parent)
            except FileNotFoundError:  # our directory was removed by a concurrent delete
                os.close(parent)
                continue
            except BaseException:
                os.close(parent)
                raise
            return parent, temp, fd
        raise TroveError(f"could not create {bucket}/{key}: its directory kept disappearing")

    def _commit(self, bucket: str, key: str, parent: int, temp: str, name: str, options: PutOptions) -> None:
        with self._stripe(bucket, key):
            if options.if_match is not None or options.if_none_match is not None:
                current = self._current_etag(parent, name)
                if options.if_none_match == "*" and current is not None:
                    raise PreconditionFailed(f"{bucket}/{key} already exists (if_none_match='*')")
                if options.if_match is not None and current != options.if_match:
                    raise PreconditionFailed(f"{bucket}/{key} does not have etag {options.if_match}")
            try:
                os.rename(temp, name, src_dir_fd=parent, dst_dir_fd=parent)
            except IsADirectoryError:
                raise KeyConflict(
                    f"cannot store {bucket}/{key}: other keys use it as a prefix on the local filesystem "
                    "(it cannot be both a file and a directory)"
                ) from None
            except FileNotFoundError:
                raise BucketNotFound(bucket) from None  # the bucket was deleted meanwhile
        if self.durable:
            os.fsync(parent)

    def _current_etag(self, parent: int, name: str) -> str | None:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        except (FileNotFoundError, IsADirectoryError):
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return None
            return self._info_from("", "", st, _read_xattr(fd)).etag
        finally:
            os.close(fd)

    def _get(self, bucket: str, key: str, offset: int, length: int | None) -> ObjectReader:
        fd = self._open_object(bucket, key)
        try:
            info = self._info(bucket, key, fd)
            count = check_range(info.size, offset, length, f"{bucket}/{key}")
            if offset:
                os.lseek(fd, offset, os.SEEK_SET)
        except BaseException:
            os.close(fd)
            raise
        return ObjectReader(info, _FdSource(fd), offset=offset, length=count)

    def get_range(self, bucket: str, key: str, offset: int, length: int | None) -> ObjectReader:
        """Reads only the requested bytes from disk (a seek, then a bounded read)."""
        return self.get(bucket, key, offset=offset, length=length)

    def _head(self, bucket: str, key: str) -> ObjectInfo:
        fd = self._open_object(bucket, key)
        try:
            return self._info(bucket, key, fd)
        finally:
            os.close(fd)

    def _delete(self, bucket: str, key: str, if_match: str | None = None) -> None:
        components = key_components(key)
        chain: list[int] = [self._open_bucket(bucket)]
        try:
            for name in components[:-1]:
                try:
                    chain.append(os.open(name, _DIR_FLAGS, dir_fd=chain[-1]))
                except (FileNotFoundError, NotADirectoryError):
                    if if_match is not None:
                        raise PreconditionFailed(f"{bucket}/{key} does not exist") from None
                    return
            with self._stripe(bucket, key):
                if if_match is not None and self._current_etag(chain[-1], components[-1]) != if_match:
                    raise PreconditionFailed(f"{bucket}/{key} does not have etag {if_match}")
                try:
                    os.unlink(components[-1], dir_fd=chain[-1])
                except (FileNotFoundError, IsADirectoryError):
                    return
            if self.durable:
                os.fsync(chain[-1])
            # Remove directories the delete left empty, so prefixes vanish as they do in S3.
            for depth in range(len(components) - 1, 0, -1):
                try:
                    os.rmdir(components[depth - 1], dir_fd=chain[depth - 1])
                except OSError:
                    break
        finally:
            for fd in chain:
                os.close(fd)

    def delete_if_match(self, bucket: str, key: str, etag: str) -> None:
        """Delete only if the current etag is ``etag`` (atomic against concurrent writers)."""
        self._check_open()
        self._delete(validate_bucket(bucket), validate_key(key), if_match=etag)

    def server_copy(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        metadata: dict[str, str] | None = None,
        content_type: str | None = None,
    ) -> ObjectInfo:
        """Copies in the kernel (``copy_file_range``: a reflink on filesystems that have them)."""
        self._check_open()
        for name in (src_bucket, dst_bucket):
            validate_bucket(name)
        for name in (src_key, dst_key):
            validate_key(name)
        src = self._open_object(src_bucket, src_key)
        try:
            st = os.fstat(src)
            if not stat.S_ISREG(st.st_mode):
                raise ObjectNotFound(src_bucket, src_key)
            source_meta = _read_xattr(src)
            source_info = self._info_from(src_bucket, src_key, st, source_meta)
            components = key_components(dst_key)
            parent, created, fd = self._create_temp(dst_bucket, dst_key, components)
            temp: str | None = created
            try:
                _copy_range(src, fd, st.st_size)
                meta: dict[str, object] = {
                    "e": source_info.etag,
                    "t": content_type or source_info.content_type,
                    "m": dict(source_info.metadata) if metadata is None else normalize_metadata(metadata),
                }
                if source_info.checksum is not None:
                    meta["c"] = str(source_info.checksum)
                os.setxattr(fd, XATTR, json.dumps(meta, ensure_ascii=False).encode("utf-8"))
                if self.durable:
                    os.fsync(fd)
                new_st = os.fstat(fd)
                os.close(fd)
                fd = -1
                options = PutOptions(str(meta["t"]), {}, None, None, None)
                self._commit(dst_bucket, dst_key, parent, created, components[-1], options)
                temp = None
                return self._info_from(dst_bucket, dst_key, new_st, meta)
            finally:
                if fd >= 0:
                    os.close(fd)
                if temp is not None:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(temp, dir_fd=parent)
                os.close(parent)
        finally:
            os.close(src)

    # ---- listing ------------------------------------------------------------------------

    def _list(
        self,
        bucket: str,
        prefix: str,
        delimiter: str | None,
        start_after: str | None,
        max_keys: int,
        cursor: str | None,
    ) -> ListPage:
        scope = listing_scope(bucket, prefix, delimiter)
        position = start_position(start_after, cursor, scope)
        bucket_path = self._bucket_path(bucket)
        if not self._bucket_exists(bucket):
            raise BucketNotFound(bucket)
        components, key_prefix = prefix_directories(prefix)
        start = os.path.join(bucket_path, *components)
        entries = self._tree(bucket).walk(start, key_prefix, prefix, position, delimiter == "/")
        return paginate(entries, prefix=prefix, delimiter=delimiter, position=position, max_keys=max_keys, scope=scope)

    def _children(self, directory: str) -> list[Child[str]]:
        """A directory's entries in key order.  Sorted listings of directories that have
        settled (and hold no continuation directories) are cached by (inode, mtime)."""
        try:
            st = os.stat(directory, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            return []
        if not stat.S_ISDIR(st.st_mode):
            return []
        cached = self._listing_cache.get(directory)
        if cached is not None and cached[0] == st.st_ino and cached[1] == st.st_mtime_ns:
            self._listing_cache.move_to_end(directory)
            return cached[2]
        continued: list[bool] = []
        found = children(functools.partial(_read_dir, continued), directory)
        settled = time.time_ns() - st.st_mtime_ns > _LISTING_CACHE_SETTLE_NS
        if settled and not continued:
            self._listing_cache[directory] = (st.st_ino, st.st_mtime_ns, found)
            if len(self._listing_cache) > _LISTING_CACHE_SIZE:
                self._listing_cache.popitem(last=False)
        return found

    def _tree(self, bucket: str) -> TreeWalk[str]:
        return _CachedTreeWalk(self, bucket)

    def _load(self, bucket: str, key: str, path: str) -> ObjectInfo | None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return None  # removed (or replaced by something that is not an object) since the walk
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return None
            return self._info_from(bucket, key, st, _read_xattr(fd))
        finally:
            os.close(fd)

    def _bucket_is_empty(self, bucket: str) -> bool:
        if not self._bucket_exists(bucket):
            raise BucketNotFound(bucket)
        return not self._tree(bucket).has_admitted_object(str(self._bucket_path(bucket)), "", Position())

    def remove_stale_temporaries(self, bucket: str, older_than: float = 3600.0) -> int:
        """Delete temporary files that writers which crashed or were killed left behind.

        They are invisible to every operation, but take space.  Only files older than
        ``older_than`` seconds are removed, so uploads still in progress are never touched.
        Returns how many were removed.
        """
        self._check_open()
        validate_bucket(bucket)
        if not self._bucket_exists(bucket):
            raise BucketNotFound(bucket)
        cutoff = time.time() - older_than
        removed = 0
        for directory, _dirs, files in os.walk(self._bucket_path(bucket)):
            for name in files:
                if not name.startswith(TEMP_PREFIX):
                    continue
                path = os.path.join(directory, name)
                with contextlib.suppress(FileNotFoundError):
                    if os.lstat(path).st_mtime < cutoff:
                        os.unlink(path)
                        removed += 1
        return removed

    def _close(self) -> None:
        for fd in [*self._stripe_fds, self._root_fd]:
            if fd >= 0:
                os.close(fd)
        self._stripe_fds = [-1] * LOCK_STRIPES
        self._root_fd = -1

    @staticmethod
    def _fsync_path(path: Path) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class _CachedTreeWalk(TreeWalk[str]):
    """The shared walk, reading directories through the driver's listing cache."""

    def __init__(self, driver: LocalDriver, bucket: str) -> None:
        super().__init__(_read_dir_plain, functools.partial(driver._load, bucket))
        self._driver = driver

    def children(self, directory: str) -> list[Child[str]]:
        return self._driver._children(directory)


def _read_dir(continued: list[bool], directory: str) -> Iterator[RawEntry[str]]:
    """``os.scandir`` as raw entries, never following a symlink; notes continuation
    directories in ``continued`` (a listing holding one is not cached)."""
    for entry in _read_dir_plain(directory):
        if entry.kind is Kind.DIRECTORY and entry.name.endswith(CONTINUATION):
            continued.append(True)
        yield entry


def _read_dir_plain(directory: str) -> Iterator[RawEntry[str]]:
    try:
        it = os.scandir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return
    with it:
        for entry in it:
            if entry.is_symlink():
                kind = Kind.OTHER
            elif entry.is_dir(follow_symlinks=False):
                kind = Kind.DIRECTORY
            elif entry.is_file(follow_symlinks=False):
                kind = Kind.FILE
            else:
                kind = Kind.OTHER
            yield RawEntry(entry.name, kind, entry.path)


class _FdSource:
    """The thinnest readable over an open descriptor (``open(fd)`` would fstat it again)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:
            chunks = []
            while chunk := os.read(self._fd, 1024 * 1024):
                chunks.append(chunk)
            return b"".join(chunks)
        return os.read(self._fd, size)

    def readinto(self, buffer: bytearray | memoryview) -> int:
        return os.readv(self._fd, [buffer])

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return os.lseek(self._fd, offset, whence)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class _Retry(Exception):
    """Internal: a directory vanished under a concurrent delete; walk the key again."""


def _read_xattr(fd: int) -> dict[str, object] | None:
    try:
        raw = os.getxattr(fd, XATTR)
    except OSError as exc:
        if exc.errno in (errno.ENODATA, errno.ENOTSUP):
            return None
        raise
    try:
        meta = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(meta, dict) or "e" not in meta or "t" not in meta:
        return None
    return meta


def _write_all(fd: int, chunk: bytes | memoryview) -> None:
    view = memoryview(chunk)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _copy_range(src: int, dst: int, size: int) -> None:
    offset = 0
    while offset < size:
        try:
            n = os.copy_file_range(src, dst, min(_COPY_BLOCK, size - offset), offset, offset)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
                raise
            n = 0
        if n == 0:
            # The kernel declined (or the file shrank): finish with plain reads and writes.
            os.lseek(src, offset, os.SEEK_SET)
            os.lseek(dst, offset, os.SEEK_SET)
            while chunk := os.read(src, _COPY_BLOCK):
                _write_all(dst, chunk)
            return
        offset += n
