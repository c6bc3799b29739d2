"""Object versioning on GCS: generations.

With versioning on, replacing or deleting an object keeps its generation as a *noncurrent*
version (it gets a ``timeDeleted``).  Version ids are generations; reading, deleting and restoring
one addresses it with ``generation=``.  GCS has no delete markers: a key whose newest generation
is noncurrent was deleted.  ``list_versions`` reports that state the way the rest of trove models
it (after S3): a *latest* entry flagged ``is_delete_marker``, with no version id of its own —
there is nothing at GCS to read or delete under it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from trove_dist.driver.models import ObjectInfo
from trove_dist.drivers.gcs.hidden import is_hidden
from trove_dist.drivers.gcs.resources import info_from_blob

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def versions_newest_first(bucket: str, blobs: Iterable[Any]) -> Iterator[ObjectInfo]:
    """Turn GCS's version listing (by name, oldest generation first) into trove's: by key,
    newest first, with a delete marker on top of a key that has no live generation."""
    group: list[Any] = []
    for blob in blobs:
        if is_hidden(blob.name):
            continue
        if group and blob.name != group[0].name:
            yield from _key_versions(bucket, group)
            group = []
        group.append(blob)
    if group:
        yield from _key_versions(bucket, group)


def _key_versions(bucket: str, blobs: list[Any]) -> Iterator[ObjectInfo]:
    ordered = sorted(blobs, key=lambda b: int(b.generation), reverse=True)
    live = [b for b in ordered if b.time_deleted is None]
    if not live:
        newest = ordered[0]
        deleted_at: datetime | None = newest.time_deleted
        yield ObjectInfo(
            bucket=bucket,
            key=newest.name,
            size=0,
            etag="",
            last_modified=deleted_at or _EPOCH,
            is_latest=True,
            is_delete_marker=True,
        )
    for blob in ordered:
        yield info_from_blob(bucket, blob, is_latest=blob.time_deleted is None)
