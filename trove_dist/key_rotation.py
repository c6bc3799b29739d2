"""Rotate key-encryption keys: rewrap each object's data key with the primary key.

Only the framed header changes — the frames, which hold the data encrypted under the object's
unchanged data key, are copied byte for byte from the stored object (frame offsets count from
the end of the header, so the frame index stays valid).  Each object is rewritten with
``if_match`` on the etag that was read where the driver supports conditional writes, so a
concurrent write is never overwritten with a stale copy; such an object is reported as skipped
and a later run picks it up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from trove_dist.content import is_framed
from trove_dist.driver.body import KnownChecksum
from trove_dist.driver.capabilities import ConditionalDriver
from trove_dist.driver.models import ObjectInfo
from trove_dist.errors import PreconditionFailed, TroveError
from trove_dist.format.header import PREFIX_SIZE, Header
from trove_dist.middleware.context import Direction, Operation, current_context
from trove_dist.middleware.encrypt.middleware import Encrypt
from trove_dist.trove import Trove


@dataclass
class RotationReport:
    rotated: list[str] = field(default_factory=list)
    already_current: list[str] = field(default_factory=list)
    not_encrypted: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # key -> reason

    @property
    def scanned(self) -> int:
        return len(self.rotated) + len(self.already_current) + len(self.not_encrypted) + len(self.skipped)


def rotate_keys(trove: Trove, bucket: str, prefix: str = "") -> RotationReport:
    """Rewrap every encrypted object under ``bucket/prefix`` whose key id is not the primary one
    of the ``Encrypt`` middleware resolved for reading it."""
    report = RotationReport()
    for entry in trove.iter_list(bucket, prefix=prefix):
        if not isinstance(entry, ObjectInfo):
            continue
        try:
            outcome = _rotate_one(trove, bucket, entry.key)
        except (TroveError, OSError) as exc:
            report.skipped[entry.key] = f"{type(exc).__name__}: {exc}"
            continue
        {"rotated": report.rotated, "already_current": report.already_current, "not_encrypted": report.not_encrypted}[
            outcome
        ].append(entry.key)
    return report


def _rotate_one(trove: Trove, bucket: str, key: str) -> str:
    _, driver = trove.resolve(bucket, key)
    info = driver.head(bucket, key)
    if not is_framed(info):
        return "not_encrypted"
    with contextlib.closing(driver.get(bucket, key, offset=0, length=min(info.size, 64 * 1024 + PREFIX_SIZE))) as r:
        start = r.read()
    body_len = Header.body_length(start)
    header_len = PREFIX_SIZE + body_len
    header = Header.parse_body(start[PREFIX_SIZE:header_len])
    positions = [i for i, spec in enumerate(header.chain) if spec.name == Encrypt.transform]
    if not positions:
        return "not_encrypted"
    op = Operation(Direction.READ, bucket, key, info.content_type, current_context())
    encrypters = [r.middleware for r in trove.content.resolver.resolve(op) if isinstance(r.middleware, Encrypt)]
    if not encrypters:
        raise TroveError("no Encrypt middleware is registered for reading this object")
    encrypt = encrypters[0]
    params = [dict(spec.params) for spec in header.chain]
    if all(params[i].get("kid") == encrypt.keys.primary_key_id for i in positions):
        return "already_current"
    for i in positions:
        params[i] = dict(encrypt.rewrap(params[i]))
    new_header = header.with_params(params).encode()

    def body() -> Iterator[bytes]:
        yield new_header
        with driver.get(bucket, key, offset=header_len) as rest:
            yield from rest.iter_chunks(8 * 1024 * 1024)

    conditional = isinstance(driver, ConditionalDriver)
    try:
        driver.put(
            bucket,
            key,
            body(),
            content_type=info.content_type,
            metadata=dict(info.metadata),
            if_match=info.etag if conditional else None,
            checksum=KnownChecksum(info.checksum),
        )
    except PreconditionFailed as exc:
        raise TroveError("the object changed during rotation; run again to rotate it") from exc
    return "rotated"
