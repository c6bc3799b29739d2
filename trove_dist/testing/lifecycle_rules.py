"""``LifecycleDriver``: the rules set on a bucket are the rules read back."""

from __future__ import annotations

from trove_dist.driver.base import Driver
from trove_dist.driver.capabilities import LifecycleRule
from trove_dist.testing.harness import ConformanceBase
from trove_dist.testing.requirements import need_lifecycle

RULES = [
    LifecycleRule(id="expire-logs", prefix="logs/", expire_after_days=30),
    LifecycleRule(id="old-versions", expire_noncurrent_after_days=7, enabled=False),
    LifecycleRule(id="uploads", abort_incomplete_multipart_after_days=2),
]


class LifecycleRuleTests(ConformanceBase):
    def test_new_bucket_has_no_rules(self, driver: Driver, bucket: str) -> None:
        assert need_lifecycle(driver).get_lifecycle(bucket) == []

    def test_rules_round_trip(self, driver: Driver, bucket: str) -> None:
        lifecycle = need_lifecycle(driver)
        lifecycle.set_lifecycle(bucket, RULES)
        assert sorted(lifecycle.get_lifecycle(bucket), key=lambda r: r.id) == sorted(RULES, key=lambda r: r.id)

    def test_setting_rules_replaces_them(self, driver: Driver, bucket: str) -> None:
        lifecycle = need_lifecycle(driver)
        lifecycle.set_lifecycle(bucket, RULES)
        lifecycle.set_lifecycle(bucket, RULES[:1])
        assert lifecycle.get_lifecycle(bucket) == RULES[:1]
        lifecycle.set_lifecycle(bucket, [])
        assert lifecycle.get_lifecycle(bucket) == []
