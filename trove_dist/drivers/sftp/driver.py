"""The SFTP driver: ``sftp://user@host:port/srv/objects?key=…&known_hosts=…``.

Layout, as in the local driver: ``ROOT/<bucket>/<key as path>`` holds each object as its plain
bytes (``keypaths`` escapes awkward keys the same way), so the tree is readable by any SFTP
client.  Metadata lives in per-version record files beside each object (see ``records`` for the
argument that data and metadata never mismatch).  Every name the driver keeps for itself starts
with a dot, and no escaped key component does.

Safety and atomicity:

* Keys are validated by the ``Driver`` base; every directory on the way to an object is then
  ``lstat``-ed, and a symbolic link anywhere under the bucket is refused with ``InvalidKey``,
  never followed.  (SFTP has no ``openat``/``O_NOFOLLOW``: the check guards against links planted
  in the tree, not against a concurrent attacker who can rename directories under us — the
  server's chroot bounds that case.)
* A put streams into a temporary dot-file in the target directory, writes the version's record,
  stamps the file and renames it over the key with ``posix-rename@openssh.com`` (an atomic
  replace).  A failed or interrupted put leaves at worst an invisible temporary file.
* Conditional writes are not offered: SFTP has no compare-and-swap (``posix-rename`` replaces
  unconditionally, and a lock file cannot be released by a client that died), so ``if_match``
  could not be atomic.  ``ConditionalDriver`` is therefore not implemented.
* A dropped connection is retried per the ``RetryPolicy`` for every operation that can be
  replayed: lookups, listings, deletes, bucket operations and the commit of a put.  The streaming
  part of a put cannot be replayed (the body is consumed once); it fails with
  ``BackendUnavailable`` and the previous version stays in place.
"""

from __future__ import annotations

import contextlib
import posixpath
import secrets
import stat
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Self, TypeVar, cast

from trove_dist.checksum import new_hasher
from trove_dist.driver.base import Driver, Limitation, PutOptions, check_range
from trove_dist.driver.body import MeteredChunks
from trove_dist.driver.dsn import DSN
from trove_dist.driver.keypaths import is_canonical, key_components, prefix_directories
from trove_dist.driver.listing import Position, listing_scope, paginate, start_position
from trove_dist.driver.models import BucketInfo, ListPage, ObjectInfo, normalize_metadata
from trove_dist.driver.names import validate_bucket, validate_key
from trove_dist.driver.reader import ObjectReader
from trove_dist.drivers.sftp.commit import Commit
from trove_dist.drivers.sftp.errors import (
    BACKEND,
    ConnectionLost,
    SFTPFailure,
    connection_failure,
    is_connection_lost,
    is_missing,
    translate,
)
from trove_dist.drivers.sftp.listing import NOT_FETCHED, BucketWalk, Describe, Listed, NotFetched
from trove_dist.drivers.sftp.pool import Connection, ConnectionPool, connect
from trove_dist.drivers.sftp.protocol import COPY_DATA, CREATE_EXCLUSIVE, FSYNC, POSIX_RENAME, READ, ExtendedSFTPClient
from trove_dist.drivers.sftp.reading import LeasedSource
from trove_dist.drivers.sftp.records import (
    MAX_RECORD_BYTES,
    RECORD_DIR_PREFIX,
    TEMP_PREFIX,
    Record,
    Stamp,
    foreign_info,
)
from trove_dist.drivers.sftp.remote import (
    collect_records,
    file_stamp,
    ignore_missing,
    is_dir,
    is_file,
    lstat,
    read_dir,
    record_path,
    removed,
    stamp_of,
)
from trove_dist.drivers.sftp.settings import SFTPSettings
from trove_dist.drivers.sftp.transfer import RemoteWriter
from trove_dist.errors import (
    BackendUnavailable,
    BucketAlreadyExists,
    BucketNotEmpty,
    BucketNotFound,
    InvalidDSN,
    InvalidKey,
    KeyConflict,
    ObjectNotFound,
    TroveError,
    UnsupportedCapability,
)

T = TypeVar("T")

#: How often a lookup follows an object that keeps being replaced under it before giving up.
_VERSION_CHASES = 16
#: How often a put re-resolves a directory that a concurrent delete keeps removing.
_DIRECTORY_CHASES = 16
#: copy-data is sent in pieces of this size, so no single request outlives the timeout.
_COPY_SEGMENT = 256 * 1024 * 1024


class SFTPDriver(Driver):
    """Objects as files on an SFTP server.  ``open`` (or ``from_dsn``) returns the
    ``SFTPServerCopyDriver`` subclass when the server can copy files itself."""

    schemes = ("sftp",)
    limitations = frozenset({Limitation.NO_OBJECT_AND_PREFIX_SAME_NAME})

    def __init__(self, settings: SFTPSettings, *, pool: ConnectionPool | None = None) -> None:
        """Connect now — verifying the host key and the login — and prepare the root."""
        self.settings = settings
        self._root = settings.root
        self._backend = f"{BACKEND} {settings.describe()}"
        self._pool = pool or ConnectionPool(settings.connections, lambda: connect(settings), wait=settings.timeout)
        try:
            self.server_extensions: frozenset[str] = self._run("connect", self._prepare_root)
        except BaseException:
            self._pool.close()
            raise

    @classmethod
    def from_dsn(cls, dsn: DSN) -> Self:
        return cls.open(SFTPSettings.from_dsn(dsn))

    @classmethod
    def open(cls, settings: SFTPSettings) -> Self:
        """The driver for this server: with ``server_copy`` when the server offers ``copy-data``
        (OpenSSH 9.0 and later), so the capability is claimed only where it is real."""
        driver = cls(settings)
        if cls is SFTPDriver and COPY_DATA in driver.server_extensions:
            return cast(Self, SFTPServerCopyDriver(settings, pool=driver._pool))
        return driver

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.settings.describe()}>"

    def _close(self) -> None:
        self._pool.close()

    def _prepare_root(self, conn: Connection) -> frozenset[str]:
        sftp = conn.sftp
        if not sftp.supports(POSIX_RENAME):
            # Plain SFTP rename refuses an existing target: replacing an object would need a
            # remove first, and readers would see the key vanish in between.
            raise SFTPFailure(
                f"{self.settings.describe()} does not offer posix-rename@openssh.com, which the driver needs "
                "to replace objects atomically"
            )
        attrs = lstat(sftp, self._root)
        if attrs is None and self.settings.create:
            self._make_dirs(sftp, self._root)
            attrs = lstat(sftp, self._root)
        if attrs is None:
            raise InvalidDSN(f"{self.settings.describe()}: the root directory does not exist (create=false)")
        if not is_dir(attrs):
            raise InvalidDSN(f"{self.settings.describe()}: the root is not a directory")
        return frozenset(sftp.extensions)

    def _make_dirs(self, sftp: ExtendedSFTPClient, path: str) -> None:
        current = "/" if path.startswith("/") else ""
        for part in path.strip("/").split("/"):
            current = posixpath.join(current, part) if current else part
            if lstat(sftp, current) is None:
                with contextlib.suppress(OSError):
                    sftp.mkdir(current, 0o755)

    def _ping(self) -> None:
        self._run("ping", lambda conn: conn.sftp.stat(self._root))

    # ---- running requests -----------------------------------------------------------------

    def _run(self, what: str, operation: Callable[[Connection], T]) -> T:
        return self._attempts(what, lambda conn, _attempt: operation(conn))

    def _attempts(self, what: str, operation: Callable[[Connection, int], T], *, hold: bool = False) -> T:
        """Run ``operation`` on a leased connection, again on a fresh one if the connection
        breaks (per the retry policy).  With ``hold``, a successful operation keeps its lease
        and must arrange its release."""
        attempt = 0

        def once() -> T:
            nonlocal attempt
            attempt += 1
            conn = self._pool.acquire()
            keep = False
            try:
                result = operation(conn, attempt)
                keep = hold
                return result
            except TroveError:
                raise  # a decision taken on complete replies: the connection is in a clean state
            except Exception as exc:
                if connection_failure(exc) or not conn.alive():
                    conn.broken = True
                    raise ConnectionLost(exc) from exc
                if not isinstance(exc, OSError):
                    conn.broken = True  # not a status reply: the connection's state is unknown
                raise
            except BaseException:
                conn.broken = True  # interrupted mid-request: replies may still be on their way
                raise
            finally:
                if not keep:
                    self._pool.release(conn)

        try:
            return self.settings.retry.call(once, transient=is_connection_lost, backend=self._backend, what=what)
        except OSError as exc:
            raise translate(exc, what) from exc

    # ---- paths ----------------------------------------------------------------------------

    def _bucket_path(self, bucket: str) -> str:
        return posixpath.join(self._root, bucket)

    def _bucket_dir(self, sftp: ExtendedSFTPClient, bucket: str) -> str:
        path = self._bucket_path(bucket)
        attrs = lstat(sftp, path)
        if not is_dir(attrs):
            raise BucketNotFound(bucket)  # a symbolic link is not a bucket either
        return path

    def _parent_dir(
        self, sftp: ExtendedSFTPClient, bucket: str, key: str, components: list[str], *, create: bool
    ) -> str:
        """The directory that holds ``key``'s file, each step ``lstat``-ed (links refused).
        With ``create``, missing directories are made."""
        path = self._bucket_dir(sftp, bucket)
        for name in components[:-1]:
            path = f"{path}/{name}"
            attrs = lstat(sftp, path)
            if attrs is None:
                if not create:
                    raise ObjectNotFound(bucket, key)
                self._make_dir(sftp, path, bucket, key)
                continue
            mode = attrs.st_mode or 0
            if stat.S_ISLNK(mode):
                raise InvalidKey(key, "resolves through a symbolic link; the sftp driver never follows one")
            if not stat.S_ISDIR(mode):
                if create:
                    raise KeyConflict(
                        f"cannot store {bucket}/{key}: a prefix of it is an object on the SFTP server "
                        "(it cannot be both a file and a directory)"
                    )
                raise ObjectNotFound(bucket, key)
        return path

    def _make_dir(self, sftp: ExtendedSFTPClient, path: str, bucket: str, key: str) -> None:
        try:
            sftp.mkdir(path, 0o755)
        except OSError as exc:
            attrs = lstat(sftp, path)  # OpenSSH says only "Failure": look at what is there
            if is_dir(attrs):
                return  # made by a concurrent put
            if attrs is None and is_missing(exc):
                raise _DirectoryVanished from None  # the parent was removed by a concurrent delete
            if attrs is not None:
                raise KeyConflict(
                    f"cannot store {bucket}/{key}: a prefix of it is an object on the SFTP server"
                ) from None
            raise

    def _object_stamp(self, sftp: ExtendedSFTPClient, path: str, bucket: str, key: str) -> Stamp:
        """The version of the object at ``path``; ``ObjectNotFound`` unless it is a plain file."""
        attrs = lstat(sftp, path)
        if attrs is None:
            raise ObjectNotFound(bucket, key)
        mode = attrs.st_mode or 0
        if stat.S_ISLNK(mode):
            raise InvalidKey(key, "is a symbolic link; the sftp driver never follows one")
        if not stat.S_ISREG(mode):
            raise ObjectNotFound(bucket, key)
        return stamp_of(attrs)

    # ---- metadata -------------------------------------------------------------------------

    def _describe(
        self,
        sftp: ExtendedSFTPClient,
        bucket: str,
        key: str,
        path: str,
        stamp: Stamp,
        fetched: bytes | NotFetched | None = NOT_FETCHED,
    ) -> ObjectInfo | None:
        """The info of version ``stamp`` of the file at ``path``; None if that version is gone
        (replaced, or deleted) — the caller looks again.  ``fetched``: the record's bytes if
        they were read already (None: there was no record)."""
        raw = self._read_record(sftp, path, stamp) if isinstance(fetched, NotFetched) else fetched
        record = Record.decode(raw) if raw is not None else None
        if record is not None and record.size == stamp.size:
            return record.info(bucket, key)
        if file_stamp(lstat(sftp, path)) == stamp:
            return foreign_info(bucket, key, stamp)  # still there, with no record: another tool's file
        return None

    @staticmethod
    def _read_record(sftp: ExtendedSFTPClient, path: str, stamp: Stamp) -> bytes | None:
        try:
            return sftp.read_small_file(record_path(path, stamp), MAX_RECORD_BYTES)
        except OSError as exc:
            if is_missing(exc):
                return None
            raise

    # ---- buckets --------------------------------------------------------------------------

    def _create_bucket(self, bucket: str, *, exist_ok: bool) -> None:
        def create(conn: Connection, attempt: int) -> None:
            path = self._bucket_path(bucket)
            try:
                conn.sftp.mkdir(path, 0o755)
            except OSError as exc:
                attrs = lstat(conn.sftp, path)
                if is_dir(attrs):
                    if exist_ok or attempt > 1:  # on a retry it is most likely our own first mkdir
                        return
                    raise BucketAlreadyExists(bucket) from None
                if attrs is not None:
                    raise BucketAlreadyExists(bucket) from None  # a file of that name at the root
                raise translate(exc, "create_bucket") from None

        self._attempts("create_bucket", create)

    def _delete_bucket(self, bucket: str) -> None:
        def delete(conn: Connection, attempt: int) -> None:
            path = self._bucket_path(bucket)
            attrs = lstat(conn.sftp, path)
            if not is_dir(attrs):
                if attempt > 1 and attrs is None:
                    return  # removed by the attempt whose answer was lost
                raise BucketNotFound(bucket)
            self._remove_internal_tree(conn.sftp, path, bucket, internal=False)
            try:
                conn.sftp.rmdir(path)
            except OSError:
                if lstat(conn.sftp, path) is not None:
                    raise BucketNotEmpty(bucket) from None  # a put landed meanwhile

        self._attempts("delete_bucket", delete)

    def _remove_internal_tree(self, sftp: ExtendedSFTPClient, path: str, bucket: str, *, internal: bool) -> None:
        """Remove everything under ``path`` except objects: temporary files, records, files whose
        names no key maps to, empty directories.  Finding an object (a put that raced the delete)
        stops it."""
        for attrs in read_dir(sftp, path):
            child = f"{path}/{attrs.filename}"
            mode = attrs.st_mode or 0
            inside = internal or attrs.filename.startswith(".")
            if stat.S_ISDIR(mode):
                self._remove_internal_tree(sftp, child, bucket, internal=inside)
                ignore_missing(sftp.rmdir, child)
            elif stat.S_ISREG(mode) and not inside and is_canonical(attrs.filename):
                raise BucketNotEmpty(bucket)
            else:
                ignore_missing(sftp.remove, child)

    def _list_buckets(self) -> list[BucketInfo]:
        def list_buckets(conn: Connection) -> list[BucketInfo]:
            out = []
            for attrs in read_dir(conn.sftp, self._root):
                if not stat.S_ISDIR(attrs.st_mode or 0) or attrs.filename.startswith("."):
                    continue
                try:
                    validate_bucket(attrs.filename)
                except ValueError:
                    continue  # a directory no bucket name can reach
                out.append(BucketInfo(attrs.filename, _datetime(attrs.st_mtime)))
            return out

        return self._run("list_buckets", list_buckets)

    def _bucket_exists(self, bucket: str) -> bool:
        def exists(conn: Connection) -> bool:
            attrs = lstat(conn.sftp, self._bucket_path(bucket))
            return is_dir(attrs)

        return self._run("bucket_exists", exists)

    def _bucket_is_empty(self, bucket: str) -> bool:
        def empty(conn: Connection) -> bool:
            path = self._bucket_dir(conn.sftp, bucket)
            walk = BucketWalk(conn.sftp, bucket, self._describer(conn.sftp, bucket)).walk
            return not walk.has_admitted_object(Listed(path, None), "", Position())

        return self._run("delete_bucket", empty)

    # ---- reading --------------------------------------------------------------------------

    def _head(self, bucket: str, key: str) -> ObjectInfo:
        components = key_components(key)

        def head(conn: Connection) -> ObjectInfo:
            directory = self._parent_dir(conn.sftp, bucket, key, components, create=False)
            path = f"{directory}/{components[-1]}"
            for _ in range(_VERSION_CHASES):
                info = self._describe(conn.sftp, bucket, key, path, self._object_stamp(conn.sftp, path, bucket, key))
                if info is not None:
                    return info
            raise SFTPFailure(f"{BACKEND}: {bucket}/{key} kept changing while it was being read")

        return self._run("head", head)

    def _get(self, bucket: str, key: str, offset: int, length: int | None) -> ObjectReader:
        components = key_components(key)
        what = f"{bucket}/{key}"

        def open_object(conn: Connection, _attempt: int) -> ObjectReader:
            sftp = conn.sftp
            directory = self._parent_dir(sftp, bucket, key, components, create=False)
            path = f"{directory}/{components[-1]}"
            for _ in range(_VERSION_CHASES):
                self._object_stamp(sftp, path, bucket, key)  # refuses links before opening
                try:
                    handle = sftp.open_handle(path, READ)
                except OSError as exc:
                    if is_missing(exc):
                        raise ObjectNotFound(bucket, key) from None  # deleted just now
                    raise
                try:
                    attrs = sftp.fstat_handle(handle)
                    if not is_file(attrs):
                        raise ObjectNotFound(bucket, key)
                    # The open handle's version: its data can no longer change under us.
                    info = self._describe(sftp, bucket, key, path, stamp_of(attrs))
                    if info is None:
                        sftp.close_handle(handle)
                        continue
                    count = check_range(info.size, offset, length, what)
                except BaseException:
                    with contextlib.suppress(Exception):
                        sftp.close_handle(handle)
                    raise
                source = LeasedSource(
                    self._pool,
                    self.settings.retry,
                    conn,
                    handle,
                    stamp_of(attrs),
                    offset,
                    count,
                    what=what,
                    reopen=lambda sftp: self._reopen(sftp, bucket, key, path),
                )
                return ObjectReader(info, source, offset=offset, length=count)
            raise SFTPFailure(f"{BACKEND}: {what} kept changing while it was being opened")

        return self._attempts("get", open_object, hold=True)

    def _reopen(self, sftp: ExtendedSFTPClient, bucket: str, key: str, path: str) -> bytes | None:
        """A new handle on the object at ``path`` (for a reader resuming); None if it is gone."""
        try:
            self._object_stamp(sftp, path, bucket, key)
            return sftp.open_handle(path, READ)
        except ObjectNotFound:
            return None
        except OSError as exc:
            if is_missing(exc):
                return None
            raise

    def get_range(self, bucket: str, key: str, offset: int, length: int | None) -> ObjectReader:
        """Reads only the requested bytes: the reader asks the server for that range alone."""
        return self.get(bucket, key, offset=offset, length=length)

    # ---- writing --------------------------------------------------------------------------

    def _put(self, bucket: str, key: str, body: MeteredChunks, options: PutOptions) -> ObjectInfo:
        components = key_components(key)
        conn, directory, temp, handle = self._attempts(
            "put", lambda c, _a: (c, *self._create_temp(c.sftp, bucket, key, components)), hold=True
        )
        size, etag = self._stream_into(conn, temp, handle, body, f"{bucket}/{key}")
        record = Record(
            size=size,
            etag=etag,
            content_type=options.content_type,
            metadata=options.metadata,
            checksum=body.checksum,
            written_ns=time.time_ns(),
        )
        return self._commit(bucket, key, directory, components[-1], temp, record)

    def _create_temp(
        self, sftp: ExtendedSFTPClient, bucket: str, key: str, components: list[str]
    ) -> tuple[str, str, bytes]:
        """A fresh temporary file next to where ``key`` will live: (directory, path, handle)."""
        for _ in range(_DIRECTORY_CHASES):
            try:
                directory = self._parent_dir(sftp, bucket, key, components, create=True)
            except _DirectoryVanished:
                continue
            temp = f"{directory}/{TEMP_PREFIX}{secrets.token_hex(8)}"
            try:
                return directory, temp, sftp.open_handle(temp, CREATE_EXCLUSIVE)
            except OSError as exc:
                if is_missing(exc):
                    continue  # the directory was removed by a concurrent delete: walk again
                raise
        raise SFTPFailure(f"{BACKEND}: could not create {bucket}/{key}: its directory kept disappearing")

    def _stream_into(
        self, conn: Connection, temp: str, handle: bytes, body: MeteredChunks, what: str
    ) -> tuple[int, str]:
        """Write the body into the temporary file; return its size and etag.  On any failure the
        temporary file is removed and the connection released; the caller's lease ends here."""
        sftp = conn.sftp
        writer = RemoteWriter(sftp, handle)
        etag = new_hasher("xxh3")
        handle_open = True
        released = False
        try:
            for chunk in body:  # the body's own errors (and a checksum mismatch) pass through as they are
                try:
                    writer.write(chunk)
                except Exception as exc:
                    raise self._transfer_error(conn, exc, what) from exc
                etag.update(chunk)
            try:
                writer.flush()
                if self.settings.durable and sftp.supports(FSYNC):
                    sftp.fsync(handle)
                handle_open = False
                sftp.close_handle(handle)
            except Exception as exc:
                raise self._transfer_error(conn, exc, what) from exc
            return writer.size, etag.hexdigest()
        except BaseException:
            try:
                if conn.alive():
                    writer.abandon()
                    if handle_open:
                        sftp.close_handle(handle)
            except Exception:  # noqa: BLE001 - already failing: the first error is the one to report
                conn.broken = True  # in an unknown state: nobody else gets it
            self._pool.release(conn)  # before _discard, which needs a connection of its own
            released = True
            self._discard(temp)
            raise
        finally:
            if not released:
                self._pool.release(conn)

    def _transfer_error(self, conn: Connection, exc: Exception, what: str) -> BaseException:
        if isinstance(exc, TroveError):
            return exc
        if connection_failure(exc) or not conn.alive():
            conn.broken = True
            return BackendUnavailable(f"{self._backend}: the connection broke while writing {what}: {exc!r}")
        return translate(exc, f"put {what}")

    def _discard(self, path: str) -> None:
        """Remove a temporary file after a failed put (best effort: if the server is gone, it
        stays invisible until ``remove_stale_temporaries``)."""
        with contextlib.suppress(Exception):  # already failing: the first error is the one to report
            self._run("cleanup", lambda conn: ignore_missing(conn.sftp.remove, path))

    def _commit(self, bucket: str, key: str, directory: str, name: str, temp: str, record: Record) -> ObjectInfo:
        commit = Commit(bucket, key, directory, name, temp, record, durable=self.settings.durable)
        try:
            return self._attempts("put", commit.run)
        except BaseException:
            if not commit.done:
                self._discard(temp)
            raise

    # ---- deleting -------------------------------------------------------------------------

    def _delete(self, bucket: str, key: str) -> None:
        components = key_components(key)

        def delete(conn: Connection) -> None:
            sftp = conn.sftp
            try:
                directory = self._parent_dir(sftp, bucket, key, components, create=False)
            except ObjectNotFound:
                return
            path = f"{directory}/{components[-1]}"
            try:
                self._object_stamp(sftp, path, bucket, key)
            except ObjectNotFound:
                return
            ignore_missing(sftp.remove, path)
            collect_records(sftp, directory, components[-1])
            # Remove directories the delete left empty, so prefixes vanish as they do in S3.
            for _ in components[:-1]:
                try:
                    sftp.rmdir(directory)
                except OSError:
                    break
                directory = posixpath.dirname(directory)

        self._run("delete", delete)

    # ---- listing --------------------------------------------------------------------------

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
        components, key_prefix = prefix_directories(prefix)

        def list_page(conn: Connection) -> ListPage:
            bucket_path = self._bucket_dir(conn.sftp, bucket)
            start = Listed("/".join([bucket_path, *components]), None)
            walk = BucketWalk(conn.sftp, bucket, self._describer(conn.sftp, bucket)).walk
            entries = walk.walk(start, key_prefix, prefix, position, delimiter == "/")
            return paginate(
                entries, prefix=prefix, delimiter=delimiter, position=position, max_keys=max_keys, scope=scope
            )

        return self._run("list", list_page)

    def _describer(self, sftp: ExtendedSFTPClient, bucket: str) -> Describe:
        return lambda key, path, stamp, fetched: self._describe(sftp, bucket, key, path, stamp, fetched)

    # ---- maintenance ----------------------------------------------------------------------

    def remove_stale_temporaries(self, bucket: str, older_than: float = 3600.0) -> int:
        """Delete what crashed or killed writers left behind, expired records, and directories
        left empty.

        Temporary files are invisible to every operation but take space; only those older than
        ``older_than`` seconds are removed, so uploads in progress are never touched.  Returns
        how many files were removed.
        """
        self._check_open()
        validate_bucket(bucket)

        def sweep(sftp: ExtendedSFTPClient, directory: str, cutoff: float) -> tuple[int, bool]:
            """(files removed, whether ``directory`` is now empty)."""
            entries = read_dir(sftp, directory)
            total, remaining = 0, len(entries)
            for attrs in entries:
                name, mode = attrs.filename, attrs.st_mode or 0
                path = f"{directory}/{name}"
                if stat.S_ISDIR(mode) and name.startswith(RECORD_DIR_PREFIX):
                    count, gone = collect_records(sftp, directory, name[len(RECORD_DIR_PREFIX) :])
                elif stat.S_ISDIR(mode) and not name.startswith("."):
                    count, empty = sweep(sftp, path, cutoff)
                    gone = empty and removed(sftp.rmdir, path)  # a new put may be using it already
                elif stat.S_ISREG(mode) and name.startswith(TEMP_PREFIX) and (attrs.st_mtime or 0) < cutoff:
                    gone = removed(sftp.remove, path)
                    count = int(gone)
                else:
                    count, gone = 0, False
                total += count
                remaining -= gone
            return total, remaining == 0

        return self._run(
            "remove_stale_temporaries",
            lambda conn: sweep(conn.sftp, self._bucket_dir(conn.sftp, bucket), time.time() - older_than)[0],
        )


class SFTPServerCopyDriver(SFTPDriver):
    """An ``SFTPDriver`` for a server with the ``copy-data`` extension (OpenSSH >= 9.0)."""

    def __init__(self, settings: SFTPSettings, *, pool: ConnectionPool | None = None) -> None:
        super().__init__(settings, pool=pool)
        if COPY_DATA not in self.server_extensions:
            self._pool.close()
            raise UnsupportedCapability(BACKEND, f"server_copy: {settings.describe()} does not offer copy-data")

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
        """Copies inside the server (``copy-data``): the bytes never cross the network."""
        self._check_open()
        for name in (src_bucket, dst_bucket):
            validate_bucket(name)
        for name in (src_key, dst_key):
            validate_key(name)
        new_metadata = normalize_metadata(metadata) if metadata is not None else None
        src_components, dst_components = key_components(src_key), key_components(dst_key)
        temps: list[str] = []

        def copy(conn: Connection) -> tuple[str, str, ObjectInfo]:
            sftp = conn.sftp
            src_dir = self._parent_dir(sftp, src_bucket, src_key, src_components, create=False)
            src_path = f"{src_dir}/{src_components[-1]}"
            for _ in range(_VERSION_CHASES):
                self._object_stamp(sftp, src_path, src_bucket, src_key)
                try:
                    source = sftp.open_handle(src_path, READ)
                except OSError as exc:
                    if is_missing(exc):
                        raise ObjectNotFound(src_bucket, src_key) from None
                    raise
                try:
                    info = self._describe(sftp, src_bucket, src_key, src_path, stamp_of(sftp.fstat_handle(source)))
                    if info is None:
                        continue
                    directory, temp, target = self._create_temp(sftp, dst_bucket, dst_key, dst_components)
                    temps.append(temp)
                    try:
                        for start in range(0, info.size, _COPY_SEGMENT):
                            sftp.copy_data(source, start, min(_COPY_SEGMENT, info.size - start), target, start)
                        if self.settings.durable and sftp.supports(FSYNC):
                            sftp.fsync(target)
                    finally:
                        sftp.close_handle(target)
                    return directory, temp, info
                finally:
                    with contextlib.suppress(OSError):
                        sftp.close_handle(source)
            raise SFTPFailure(f"{BACKEND}: {src_bucket}/{src_key} kept changing while it was being copied")

        try:
            directory, temp, source_info = self._run("server_copy", copy)
        except BaseException:
            for temp in temps:
                self._discard(temp)
            raise
        for stale in temps[:-1]:  # from attempts whose connection broke
            self._discard(stale)
        record = Record(
            size=source_info.size,
            etag=source_info.etag,
            content_type=content_type or source_info.content_type,
            metadata=dict(source_info.metadata) if new_metadata is None else new_metadata,
            checksum=source_info.checksum,
            written_ns=time.time_ns(),
        )
        return self._commit(dst_bucket, dst_key, directory, dst_components[-1], temp, record)


class _DirectoryVanished(Exception):
    """Internal: a directory was removed by a concurrent delete while a put walked through it."""


def _datetime(seconds: int | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None
