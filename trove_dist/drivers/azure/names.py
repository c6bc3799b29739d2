"""Azure's container-name rule, which is stricter than the common bucket-name rule.

The base ``Driver`` has already applied the common rule (3-63 characters of ``a-z0-9._-``);
Azure additionally refuses ``.`` and ``_`` and a ``-`` that is not between two letters or digits.
Such names are refused here with ``InvalidBucket`` naming the rule, before any request.
"""

from __future__ import annotations

import re

from trove_dist.errors import InvalidBucket

_CONTAINER_RE = re.compile(r"\A[a-z0-9](?:-?[a-z0-9])+\Z")


def validate_container(bucket: str) -> str:
    if "." in bucket or "_" in bucket:
        raise InvalidBucket(bucket, "Azure container names may not contain '.' or '_' (use letters, digits and '-')")
    if not _CONTAINER_RE.match(bucket):
        raise InvalidBucket(bucket, "Azure container names may not contain consecutive '-' or start or end with '-'")
    return bucket
