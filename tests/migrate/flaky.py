"""A destination that fails chosen writes: ``flaky:///ROOT?fail=GLOB&switch=PATH``.

A local driver whose puts and multipart part uploads of keys matching ``fail`` raise
``PermissionDenied`` while the file ``switch`` exists — a put after reading half of its body, so
the test shows a failed write leaves nothing visible.  Removing the switch file "fixes" the
destination, for the re-run.  Workers register the scheme through their ``TROVE_CONFIG``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Self

from trove_dist.driver.base import PutOptions
from trove_dist.driver.body import MeteredChunks, PutBody
from trove_dist.driver.capabilities import PartInfo
from trove_dist.driver.dsn import DSN
from trove_dist.driver.models import ObjectInfo
from trove_dist.driver.registry import register
from trove_dist.drivers.local import LocalDriver
from trove_dist.errors import PermissionDenied
from trove_dist.glob import glob_match


class FlakyDriver(LocalDriver):
    schemes = ("flaky",)

    def __init__(self, root: str, fail: str, switch: str) -> None:
        super().__init__(root, durable=False)
        self.fail = fail
        self.switch = switch

    @classmethod
    def from_dsn(cls, dsn: DSN) -> Self:
        return cls(dsn.path, dsn.params["fail"], dsn.params["switch"])

    def _failing(self, key: str) -> bool:
        return os.path.exists(self.switch) and glob_match(self.fail, key)

    def _put(self, bucket: str, key: str, body: MeteredChunks, options: PutOptions) -> ObjectInfo:
        if self._failing(key):
            return super()._put(bucket, key, _broken(body, key), options)
        return super()._put(bucket, key, body, options)

    def upload_part(self, bucket: str, key: str, upload_id: str, part_number: int, data: PutBody) -> PartInfo:
        if self._failing(key):
            raise PermissionDenied("flaky destination", f"part {part_number} of {key}", "refused")
        return super().upload_part(bucket, key, upload_id, part_number, data)


def _broken(body: MeteredChunks, key: str) -> MeteredChunks:
    """The body's first chunk, then a refusal — the write dies half-way."""

    def chunks() -> Iterator[bytes | memoryview]:
        yield next(iter(body), b"")
        raise PermissionDenied("flaky destination", f"put {key}", "refused")

    return MeteredChunks(chunks())


def register_scheme() -> None:
    register("flaky", FlakyDriver)
