"""The rules every backend applies to bucket names and object keys.

One rule set for all drivers, so an object that can be written to one backend can be migrated to
any other.  Keys follow S3 (any UTF-8 up to 1,024 bytes, leading, trailing and doubled slashes
allowed) minus what turns a key into a path-traversal or header-injection vector on some backend:
``.``/``..`` segments, backslashes, NUL and other control characters.
"""

from __future__ import annotations

import re

from trove_dist.errors import InvalidBucket, InvalidKey

MAX_KEY_BYTES = 1024
# \Z, not $: "$" also matches before a trailing newline, which would let "name\n" through.
_BUCKET_RE = re.compile(r"\A[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]\Z")
_IPV4_RE = re.compile(r"\A\d{1,3}(\.\d{1,3}){3}\Z")
# C0, DEL and C1: every character Unicode classes as a control (category Cc).
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def validate_bucket(bucket: str) -> str:
    if not isinstance(bucket, str):
        raise InvalidBucket(repr(bucket), "must be a string")
    if not _BUCKET_RE.match(bucket):
        raise InvalidBucket(
            bucket,
            "use 3-63 characters: lowercase letters, digits, '.', '_' and '-', "
            "starting and ending with a letter or digit",
        )
    if ".." in bucket or _IPV4_RE.match(bucket):
        raise InvalidBucket(bucket, "must not contain '..' or look like an IP address")
    return bucket


def validate_key(key: str) -> str:
    if not isinstance(key, str):
        raise InvalidKey(repr(key), "must be a string")
    if not key:
        raise InvalidKey(key, "must not be empty")
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidKey(key, "is not valid UTF-8") from exc
    if len(encoded) > MAX_KEY_BYTES:
        raise InvalidKey(key[:64] + "…", f"is {len(encoded)} bytes long; the limit is {MAX_KEY_BYTES}")
    if _CONTROL_RE.search(key):
        raise InvalidKey(key, "must not contain NUL or other control characters")
    if "\\" in key:
        raise InvalidKey(key, "must not contain a backslash")
    for segment in key.split("/"):
        if segment in (".", ".."):
            raise InvalidKey(key, "must not contain '.' or '..' path segments")
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix: like a key, but it may be empty and may end in a partial segment."""
    if not isinstance(prefix, str):
        raise InvalidKey(repr(prefix), "prefix must be a string")
    if prefix:
        if _CONTROL_RE.search(prefix) or "\\" in prefix:
            raise InvalidKey(prefix, "prefix must not contain control characters or backslashes")
        try:
            encoded = prefix.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidKey(prefix, "prefix is not valid UTF-8") from exc
        if len(encoded) > MAX_KEY_BYTES:
            raise InvalidKey(prefix[:64] + "…", "prefix is longer than a key can be")
        # The last segment may be partial ("a/." can match "a/.hidden"); the others are whole.
        for segment in prefix.split("/")[:-1]:
            if segment in (".", ".."):
                raise InvalidKey(prefix, "prefix must not contain '.' or '..' path segments")
    return prefix
