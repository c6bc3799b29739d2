"""Listing with S3's own continuation tokens, handed out as trove's opaque cursors.

S3 applies prefix, delimiter, ``StartAfter`` and ``MaxKeys`` itself and resumes from its own
token, so the driver adds nothing but a wrapper: the token together with the listing it belongs
to (bucket, prefix, delimiter).  A cursor replayed against another listing — or one the driver
never made — is refused with ``InvalidCursor`` before S3 sees it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from trove_dist.driver.listing import listing_scope
from trove_dist.driver.models import ListPage, ObjectInfo
from trove_dist.drivers.s3.api import S3Api
from trove_dist.drivers.s3.errors import S3RequestRefused, Target
from trove_dist.drivers.s3.metadata import info_from_listing
from trove_dist.errors import InvalidCursor


def encode_cursor(token: str, scope: str) -> str:
    raw = json.dumps({"t": token, "q": scope}, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, scope: str) -> str:
    """S3's continuation token inside ``cursor``; ``InvalidCursor`` for anything else."""
    if not isinstance(cursor, str):
        raise InvalidCursor(f"a listing cursor is a string, not {type(cursor).__name__}")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
        token, query = data["t"], data["q"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError, RecursionError) as exc:
        raise InvalidCursor(f"malformed listing cursor {cursor[:40]!r}") from exc
    if query != scope:
        raise InvalidCursor("this cursor belongs to a different listing (bucket, prefix or delimiter)")
    if not isinstance(token, str) or not token:
        raise InvalidCursor(f"malformed listing cursor {cursor[:40]!r}")
    return token


def list_page(
    api: S3Api,
    bucket: str,
    prefix: str,
    delimiter: str | None,
    start_after: str | None,
    max_keys: int,
    cursor: str | None,
) -> ListPage:
    scope = listing_scope(bucket, prefix, delimiter)
    params: dict[str, Any] = {"Bucket": bucket, "MaxKeys": max_keys}
    if prefix:
        params["Prefix"] = prefix
    if delimiter:
        params["Delimiter"] = delimiter
    if cursor:
        params["ContinuationToken"] = decode_cursor(cursor, scope)
    elif start_after:
        params["StartAfter"] = start_after
    try:
        response = api.call("list_objects_v2", Target(bucket), **params)
    except S3RequestRefused as exc:
        # A token S3 no longer accepts (expired, or forged inside a well-formed wrapper).
        if cursor:
            raise InvalidCursor(f"S3 refused the continuation token: {exc}") from exc
        raise
    objects = [info_from_listing(bucket, item) for item in response.get("Contents", [])]
    prefixes = [str(p["Prefix"]) for p in response.get("CommonPrefixes", [])]
    token = response.get("NextContinuationToken") if response.get("IsTruncated") else None
    return ListPage(objects, prefixes, encode_cursor(token, scope) if token else None)


def iter_versions(api: S3Api, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
    """Every version and delete marker under ``prefix``: keys in order, newest first per key."""
    params: dict[str, Any] = {"Bucket": bucket}
    if prefix:
        params["Prefix"] = prefix
    while True:
        response = api.call("list_object_versions", Target(bucket), **params)
        entries = [info_from_listing(bucket, item) for item in response.get("Versions", [])]
        entries += [_delete_marker(bucket, item) for item in response.get("DeleteMarkers", [])]
        # S3 answers versions and delete markers in two lists; merge them back into one order
        entries.sort(key=lambda info: (info.key.encode("utf-8"), not info.is_latest, -info.last_modified.timestamp()))
        yield from entries
        if not response.get("IsTruncated"):
            return
        params["KeyMarker"] = response["NextKeyMarker"]
        params["VersionIdMarker"] = response.get("NextVersionIdMarker", "")


def _delete_marker(bucket: str, item: dict[str, Any]) -> ObjectInfo:
    return replace(info_from_listing(bucket, item), size=0, etag="", is_delete_marker=True)
