"""``LifecycleRule`` to S3's lifecycle configuration and back.

``LifecycleRule`` is the subset every object store can express: expire current objects,
expire noncurrent versions, abort stale multipart uploads — under a key prefix.  S3 can say more
(storage-class transitions, tag filters, expiry on a date …).  Reading such a rule back would
have to drop what it says, and a caller who read, edited and wrote the configuration would then
delete those parts without knowing; so a rule trove cannot represent is refused on read, naming
what it holds, instead of being silently simplified.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from trove_dist.driver.capabilities import LifecycleRule
from trove_dist.errors import UnsupportedCapability

BACKEND = "s3"
_UNDERSTOOD = frozenset(
    {"ID", "Status", "Filter", "Prefix", "Expiration", "NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload"}
)


def to_s3(rules: Sequence[LifecycleRule]) -> dict[str, Any]:
    """The ``LifecycleConfiguration`` parameter of PutBucketLifecycleConfiguration."""
    ids = [rule.id for rule in rules]
    if len(set(ids)) != len(ids):
        raise ValueError("lifecycle rule ids must be unique")
    return {"Rules": [_rule_to_s3(rule) for rule in rules]}


def _rule_to_s3(rule: LifecycleRule) -> dict[str, Any]:
    if not rule.id or len(rule.id) > 255:
        raise ValueError(f"a lifecycle rule id is 1 to 255 characters, not {rule.id!r}")
    days = {
        "expire_after_days": rule.expire_after_days,
        "expire_noncurrent_after_days": rule.expire_noncurrent_after_days,
        "abort_incomplete_multipart_after_days": rule.abort_incomplete_multipart_after_days,
    }
    if all(value is None for value in days.values()):
        raise ValueError(f"lifecycle rule {rule.id!r} has no action: set at least one of {', '.join(days)}")
    for name, value in days.items():
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError(f"lifecycle rule {rule.id!r}: {name} must be a whole number of days >= 1")
    s3_rule: dict[str, Any] = {
        "ID": rule.id,
        "Filter": {"Prefix": rule.prefix},
        "Status": "Enabled" if rule.enabled else "Disabled",
    }
    if rule.expire_after_days is not None:
        s3_rule["Expiration"] = {"Days": rule.expire_after_days}
    if rule.expire_noncurrent_after_days is not None:
        s3_rule["NoncurrentVersionExpiration"] = {"NoncurrentDays": rule.expire_noncurrent_after_days}
    if rule.abort_incomplete_multipart_after_days is not None:
        s3_rule["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": rule.abort_incomplete_multipart_after_days}
    return s3_rule


def from_s3(rules: Sequence[Mapping[str, Any]]) -> list[LifecycleRule]:
    """``LifecycleRule``s from GetBucketLifecycleConfiguration's ``Rules``."""
    return [_rule_from_s3(rule) for rule in rules]


def _rule_from_s3(rule: Mapping[str, Any]) -> LifecycleRule:
    rule_id = str(rule.get("ID", ""))
    extra = sorted(name for name in rule if name not in _UNDERSTOOD)
    expiration = dict(rule.get("Expiration") or {})
    noncurrent = dict(rule.get("NoncurrentVersionExpiration") or {})
    extra += [f"Expiration.{name}" for name in expiration if name != "Days"]
    extra += [f"NoncurrentVersionExpiration.{name}" for name in noncurrent if name != "NoncurrentDays"]
    prefix = _prefix(rule, extra)
    if extra:
        raise UnsupportedCapability(
            BACKEND, f"lifecycle rule {rule_id!r} with {', '.join(extra)} (LifecycleRule cannot express it)"
        )
    abort = rule.get("AbortIncompleteMultipartUpload") or {}
    return LifecycleRule(
        id=rule_id,
        prefix=prefix,
        expire_after_days=expiration.get("Days"),
        expire_noncurrent_after_days=noncurrent.get("NoncurrentDays"),
        abort_incomplete_multipart_after_days=abort.get("DaysAfterInitiation"),
        enabled=rule.get("Status") == "Enabled",
    )


def _prefix(rule: Mapping[str, Any], extra: list[str]) -> str:
    """The rule's key prefix, from the current ``Filter`` or the legacy top-level ``Prefix``."""
    if "Filter" not in rule:
        return str(rule.get("Prefix", ""))
    rule_filter = dict(rule["Filter"] or {})
    extra += [f"Filter.{name}" for name in rule_filter if name != "Prefix"]
    return str(rule_filter.get("Prefix", ""))
