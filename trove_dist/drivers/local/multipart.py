"""Multipart uploads for the local driver: parts as files, completion by in-kernel concatenation.

An upload lives in ``ROOT/.trove/uploads/<bucket>/<upload id>/``: ``upload.json`` (key, content
type, metadata) and one file per part, each written to a temporary name and renamed, with its
etag in an extended attribute.  The upload id is durable — another process (a pipeline worker,
a resumed producer) continues the same upload.  Completion first *claims* the upload by renaming
its directory, so two concurrent completions or a completion racing an abort cannot both win;
it then concatenates the parts with ``copy_file_range`` into a temporary file beside the key and
commits it exactly like a put (same locks, same preconditions).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from trove_dist.checksum import new_hasher
from trove_dist.driver.base import PutOptions, guess_content_type
from trove_dist.driver.body import PutBody, iter_chunks
from trove_dist.driver.capabilities import MAX_PARTS, MultipartUpload, PartInfo
from trove_dist.driver.keypaths import key_components
from trove_dist.driver.models import ObjectInfo, normalize_metadata
from trove_dist.errors import BucketNotFound, InvalidPart, UploadNotFound
from trove_dist.ids import Kind, new_upload_id, parse_id

PART_XATTR = "user.trove.part"
_CLAIMED = ".claimed"


class LocalMultipart:
    """Mixed into ``LocalDriver``; relies on its root, durability, locking and commit."""

    root: Path
    durable: bool

    if TYPE_CHECKING:  # provided by LocalDriver

        def _guard(self, bucket: str, *keys: str) -> None: ...
        def _bucket_exists(self, bucket: str) -> bool: ...
        def _create_temp(self, bucket: str, key: str, components: list[str]) -> tuple[int, str, int]: ...
        def _commit(
            self, bucket: str, key: str, parent: int, temp: str, name: str, options: PutOptions
        ) -> None: ...
        @staticmethod
        def _info_from(
            bucket: str, key: str, st: os.stat_result, meta: dict[str, object] | None
        ) -> ObjectInfo: ...

    def _require_bucket(self, bucket: str) -> None:
        if not self._bucket_exists(bucket):
            raise BucketNotFound(bucket)

    def _uploads_dir(self, bucket: str) -> Path:
        return self.root / ".trove" / "uploads" / bucket

    def _upload_dir(self, bucket: str, key: str, upload_id: str) -> Path:
        self._require_bucket(bucket)
        try:
            parse_id(upload_id, Kind.UPLOAD)
        except ValueError:
            raise UploadNotFound(bucket, key, upload_id) from None
        path = self._uploads_dir(bucket) / upload_id
        try:
            with open(path / "upload.json", "rb") as f:
                record = json.load(f)
        except (FileNotFoundError, NotADirectoryError):
            raise UploadNotFound(bucket, key, upload_id) from None
        if record.get("key") != key:
            raise UploadNotFound(bucket, key, upload_id)
        return path

    def initiate_multipart(
        self, bucket: str, key: str, *, content_type: str | None = None, metadata: dict[str, str] | None = None
    ) -> str:
        self._guard(bucket, key)
        self._require_bucket(bucket)
        upload_id = new_upload_id()
        record = {
            "key": key,
            "content_type": content_type or guess_content_type(key),
            "metadata": normalize_metadata(metadata),
            "initiated": datetime.now(UTC).isoformat(),
        }
        staging = self._uploads_dir(bucket) / f".new-{upload_id}"
        staging.mkdir(parents=True)
        (staging / "upload.json").write_text(json.dumps(record, ensure_ascii=False))
        os.rename(staging, self._uploads_dir(bucket) / upload_id)  # visible only when complete
        return upload_id

    def upload_part(self, bucket: str, key: str, upload_id: str, part_number: int, data: PutBody) -> PartInfo:
        self._guard(bucket, key)
        if not isinstance(part_number, int) or not 1 <= part_number <= MAX_PARTS:
            raise ValueError(f"part numbers run from 1 to {MAX_PARTS}")
        directory = self._upload_dir(bucket, key, upload_id)
        temp = directory / f".part-{secrets.token_hex(8)}"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        except FileNotFoundError:
            raise UploadNotFound(bucket, key, upload_id) from None
        size = 0
        hasher = new_hasher("xxh3")
        try:
            for chunk in iter_chunks(data):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
                hasher.update(chunk)
                size += len(chunk)
            etag = hasher.hexdigest()
            os.setxattr(fd, PART_XATTR, json.dumps({"e": etag, "s": size}).encode())
            if self.durable:
                os.fsync(fd)
            os.close(fd)
            fd = -1
            os.rename(temp, directory / f"part-{part_number:05d}")
        except FileNotFoundError:
            raise UploadNotFound(bucket, key, upload_id) from None  # aborted meanwhile
        finally:
            if fd >= 0:
                os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        return PartInfo(part_number, etag, size)

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartInfo]:
        self._guard(bucket, key)
        return _parts_in(self._upload_dir(bucket, key, upload_id))

    def complete_multipart(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[PartInfo],
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> ObjectInfo:
        self._guard(bucket, key)
        if if_none_match is not None and if_none_match != "*":
            raise ValueError('if_none_match only accepts "*"')
        directory = self._upload_dir(bucket, key, upload_id)
        claimed = directory.with_name(directory.name + _CLAIMED + secrets.token_hex(4))
        try:
            os.rename(directory, claimed)
        except FileNotFoundError:
            raise UploadNotFound(bucket, key, upload_id) from None
        try:
            info = self._assemble(bucket, key, claimed, parts, if_match, if_none_match)
        except BaseException:
            with contextlib.suppress(OSError):
                os.rename(claimed, directory)  # the upload stays usable after a failed completion
            raise
        shutil.rmtree(claimed, ignore_errors=True)
        return info

    def _assemble(
        self,
        bucket: str,
        key: str,
        directory: Path,
        parts: Sequence[PartInfo],
        if_match: str | None,
        if_none_match: str | None,
    ) -> ObjectInfo:
        record = json.loads((directory / "upload.json").read_text())
        uploaded = {p.part_number: p for p in _parts_in(directory)}
        if not parts:
            raise ValueError("a multipart upload needs at least one part")
        numbers = [p.part_number for p in parts]
        if numbers != sorted(set(numbers)):
            raise ValueError("parts must be listed in increasing part-number order, each once")
        for part in parts:
            stored = uploaded.get(part.part_number)
            if stored is None or stored.etag != part.etag:
                raise InvalidPart(f"part {part.part_number} of this upload to {bucket}/{key} was not uploaded")
        components = key_components(key)
        parent, temp, fd = self._create_temp(bucket, key, components)
        committed = False
        try:
            offset = 0
            for part in parts:
                src = os.open(directory / f"part-{part.part_number:05d}", os.O_RDONLY | os.O_CLOEXEC)
                try:
                    _copy_all(src, fd, uploaded[part.part_number].size, offset)
                finally:
                    os.close(src)
                offset += uploaded[part.part_number].size
            etag_source = new_hasher("xxh3")
            etag_source.update("".join(p.etag for p in parts).encode())
            etag = f"{etag_source.hexdigest()}-{len(parts)}"
            meta = {"e": etag, "t": record["content_type"], "m": record["metadata"]}
            os.setxattr(fd, "user.trove", json.dumps(meta, ensure_ascii=False).encode())
            if self.durable:
                os.fsync(fd)
            st = os.fstat(fd)
            os.close(fd)
            fd = -1
            options = PutOptions(record["content_type"], record["metadata"], if_match, if_none_match, None)
            self._commit(bucket, key, parent, temp, components[-1], options)
            committed = True
            return self._info_from(bucket, key, st, meta)
        finally:
            if fd >= 0:
                os.close(fd)
            if not committed:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp, dir_fd=parent)
            os.close(parent)

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        self._guard(bucket, key)
        directory = self._upload_dir(bucket, key, upload_id)
        doomed = directory.with_name(f".aborted-{upload_id}-{secrets.token_hex(4)}")
        try:
            os.rename(directory, doomed)
        except FileNotFoundError:
            raise UploadNotFound(bucket, key, upload_id) from None
        shutil.rmtree(doomed, ignore_errors=True)

    def list_multipart_uploads(self, bucket: str, prefix: str = "") -> list[MultipartUpload]:
        self._guard(bucket)
        self._require_bucket(bucket)
        out = []
        base = self._uploads_dir(bucket)
        if not base.is_dir():
            return []
        for entry in os.scandir(base):
            if entry.name.startswith(".") or _CLAIMED in entry.name:
                continue
            try:
                record = json.loads((Path(entry.path) / "upload.json").read_text())
            except (FileNotFoundError, NotADirectoryError, ValueError):
                continue
            if record["key"].startswith(prefix):
                initiated = datetime.fromisoformat(record["initiated"])
                out.append(MultipartUpload(bucket, record["key"], entry.name, initiated))
        return sorted(out, key=lambda u: (u.key, u.upload_id))


def _parts_in(directory: Path) -> list[PartInfo]:
    parts = []
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return []
    for entry in entries:
        if not entry.name.startswith("part-"):
            continue
        try:
            meta = json.loads(os.getxattr(entry.path, PART_XATTR))
        except OSError:
            continue  # replaced or removed while listing
        parts.append(PartInfo(int(entry.name[5:]), meta["e"], meta["s"]))
    return sorted(parts, key=lambda p: p.part_number)


def _copy_all(src: int, dst: int, size: int, dst_offset: int) -> None:
    """Copy a whole part into place in the kernel; plain reads and writes where it declines."""
    copied = 0
    while copied < size:
        try:
            n = os.copy_file_range(src, dst, size - copied, copied, dst_offset + copied)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
                raise
            n = len(chunk := os.pread(src, min(size - copied, 8 * 1024 * 1024), copied))
            if n:
                os.pwrite(dst, chunk, dst_offset + copied)
        if n == 0:
            raise InvalidPart("a part file is shorter than recorded")
        copied += n
