"""Every public operation, as data, so that one test can hold a rule against all of them.

"A traversal key is refused", "a missing bucket is ``BucketNotFound``", "a closed driver raises
``DriverClosed``" are rules about *every* operation, including the optional capabilities.  Listing
the operations once keeps those tests from silently forgetting the newest method.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from trove_dist.driver.base import Driver
from trove_dist.driver.capabilities import (
    ConditionalDriver,
    LifecycleDriver,
    MultipartDriver,
    PartInfo,
    PresignDriver,
    RangeDriver,
    ServerCopyDriver,
    VersioningDriver,
)

FAKE_UPLOAD_ID = "upl_01h0000000000000000000000"
FAKE_VERSION_ID = "ver_01h0000000000000000000000"
FAKE_ETAG = "0123456789abcdef0123456789abcdef"


@dataclass(frozen=True, slots=True)
class Target:
    """What an operation is aimed at, plus a valid counterpart for two-sided operations (copy)."""

    bucket: str
    key: str
    good_bucket: str
    good_key: str


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    run: Callable[[Driver, Target], object]
    #: The ``CAPABILITIES`` name the operation needs, or None for the base contract.
    capability: str | None = None

    def __repr__(self) -> str:
        return self.name


def _read(reader_factory: Callable[[], object]) -> object:
    reader = reader_factory()
    close = getattr(reader, "close", None)
    if close is not None:
        close()
    return reader


def _rng(d: Driver) -> RangeDriver:
    return cast(RangeDriver, d)


def _sc(d: Driver) -> ServerCopyDriver:
    return cast(ServerCopyDriver, d)


def _cond(d: Driver) -> ConditionalDriver:
    return cast(ConditionalDriver, d)


def _mp(d: Driver) -> MultipartDriver:
    return cast(MultipartDriver, d)


def _ps(d: Driver) -> PresignDriver:
    return cast(PresignDriver, d)


def _ver(d: Driver) -> VersioningDriver:
    return cast(VersioningDriver, d)


def _lc(d: Driver) -> LifecycleDriver:
    return cast(LifecycleDriver, d)


_FAKE_PART = PartInfo(part_number=1, etag=FAKE_ETAG, size=1)

#: Operations on one object: they take a bucket and a key.
OBJECT_OPERATIONS: tuple[Operation, ...] = (
    Operation("put", lambda d, t: d.put(t.bucket, t.key, b"conformance")),
    Operation("put_stream", lambda d, t: d.put(t.bucket, t.key, iter([b"confor", b"mance"]))),
    Operation("get", lambda d, t: _read(lambda: d.get(t.bucket, t.key))),
    Operation("get_ranged", lambda d, t: _read(lambda: d.get(t.bucket, t.key, offset=1, length=2))),
    Operation("head", lambda d, t: d.head(t.bucket, t.key)),
    Operation("exists", lambda d, t: d.exists(t.bucket, t.key)),
    Operation("delete", lambda d, t: d.delete(t.bucket, t.key)),
    Operation("copy_from", lambda d, t: d.copy(t.bucket, t.key, t.good_bucket, t.good_key + ".copy")),
    Operation("copy_to", lambda d, t: d.copy(t.good_bucket, t.good_key, t.bucket, t.key)),
    Operation("get_range", lambda d, t: _read(lambda: _rng(d).get_range(t.bucket, t.key, 0, 2)), "range"),
    Operation(
        "server_copy_from",
        lambda d, t: _sc(d).server_copy(t.bucket, t.key, t.good_bucket, t.good_key + ".copy"),
        "server_copy",
    ),
    Operation(
        "server_copy_to", lambda d, t: _sc(d).server_copy(t.good_bucket, t.good_key, t.bucket, t.key), "server_copy"
    ),
    Operation("delete_if_match", lambda d, t: _cond(d).delete_if_match(t.bucket, t.key, FAKE_ETAG), "conditional"),
    Operation("initiate_multipart", lambda d, t: _mp(d).initiate_multipart(t.bucket, t.key), "multipart"),
    Operation("upload_part", lambda d, t: _mp(d).upload_part(t.bucket, t.key, FAKE_UPLOAD_ID, 1, b"part"), "multipart"),
    Operation("list_parts", lambda d, t: _mp(d).list_parts(t.bucket, t.key, FAKE_UPLOAD_ID), "multipart"),
    Operation(
        "complete_multipart",
        lambda d, t: _mp(d).complete_multipart(t.bucket, t.key, FAKE_UPLOAD_ID, [_FAKE_PART]),
        "multipart",
    ),
    Operation("abort_multipart", lambda d, t: _mp(d).abort_multipart(t.bucket, t.key, FAKE_UPLOAD_ID), "multipart"),
    Operation("presign_get", lambda d, t: _ps(d).presign_get(t.bucket, t.key, timedelta(minutes=5)), "presign"),
    Operation("presign_put", lambda d, t: _ps(d).presign_put(t.bucket, t.key, timedelta(minutes=5)), "presign"),
    Operation(
        "get_version", lambda d, t: _read(lambda: _ver(d).get_version(t.bucket, t.key, FAKE_VERSION_ID)), "versioning"
    ),
    Operation("delete_version", lambda d, t: _ver(d).delete_version(t.bucket, t.key, FAKE_VERSION_ID), "versioning"),
    Operation("restore_version", lambda d, t: _ver(d).restore_version(t.bucket, t.key, FAKE_VERSION_ID), "versioning"),
)

#: Operations on a bucket as a whole: the key is ignored.
BUCKET_OPERATIONS: tuple[Operation, ...] = (
    Operation("create_bucket", lambda d, t: d.create_bucket(t.bucket)),
    Operation("create_bucket_exist_ok", lambda d, t: d.create_bucket(t.bucket, exist_ok=True)),
    Operation("delete_bucket", lambda d, t: d.delete_bucket(t.bucket)),
    Operation("delete_bucket_force", lambda d, t: d.delete_bucket(t.bucket, force=True)),
    Operation("bucket_exists", lambda d, t: d.bucket_exists(t.bucket)),
    Operation("list", lambda d, t: d.list(t.bucket)),
    Operation("iter_list", lambda d, t: list(d.iter_list(t.bucket))),
    Operation("list_multipart_uploads", lambda d, t: _mp(d).list_multipart_uploads(t.bucket), "multipart"),
    Operation("set_versioning", lambda d, t: _ver(d).set_versioning(t.bucket, True), "versioning"),
    Operation("get_versioning", lambda d, t: _ver(d).get_versioning(t.bucket), "versioning"),
    Operation("list_versions", lambda d, t: list(_ver(d).list_versions(t.bucket)), "versioning"),
    Operation("get_lifecycle", lambda d, t: _lc(d).get_lifecycle(t.bucket), "lifecycle"),
    Operation("set_lifecycle", lambda d, t: _lc(d).set_lifecycle(t.bucket, []), "lifecycle"),
)

ALL_OPERATIONS: tuple[Operation, ...] = OBJECT_OPERATIONS + BUCKET_OPERATIONS


def pick(*names: str) -> tuple[Operation, ...]:
    """The named operations, in the order given (a typo fails at import, not as a silent gap)."""
    by_name = {op.name: op for op in ALL_OPERATIONS}
    return tuple(by_name[name] for name in names)
