"""Conditional writes (``if_none_match="*"``, ``if_match=etag``) and ``delete_if_match``.

Drivers that do not claim ``ConditionalDriver`` must refuse the options loudly; drivers that do
must apply them atomically — a compare-and-swap that two racing writers cannot both win.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from trove_dist.driver.base import Driver
from trove_dist.driver.capabilities import ConditionalDriver
from trove_dist.errors import PreconditionFailed, UnsupportedCapability
from trove_dist.testing.harness import ConformanceBase, keys_in, read_all
from trove_dist.testing.requirements import need_conditional

RACERS = 8


def _race(count: int, attempt: Callable[[int], object]) -> tuple[list[int], list[BaseException]]:
    """Run ``attempt(i)`` on ``count`` threads released together; return winners and failures."""
    barrier = threading.Barrier(count)
    winners: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            attempt(i)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            with lock:
                failures.append(exc)
        else:
            with lock:
                winners.append(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a conditional write never returned"
    return winners, failures


class ConditionalTests(ConformanceBase):
    def test_without_the_capability_conditions_are_refused(self, driver: Driver, bucket: str) -> None:
        if isinstance(driver, ConditionalDriver):
            pytest.skip(f"{driver.name} implements conditional; see the conditional tests")
        with pytest.raises(UnsupportedCapability):
            driver.put(bucket, "k", b"x", if_none_match="*")
        with pytest.raises(UnsupportedCapability):
            driver.put(bucket, "k", b"x", if_match="etag")
        assert keys_in(driver, bucket) == []

    def test_if_none_match_only_accepts_star(self, driver: Driver, bucket: str) -> None:
        with pytest.raises(ValueError, match="if_none_match"):
            driver.put(bucket, "k", b"x", if_none_match="some-etag")
        assert keys_in(driver, bucket) == []

    def test_if_none_match_writes_an_absent_key(self, driver: Driver, bucket: str) -> None:
        need_conditional(driver)
        info = driver.put(bucket, "k", b"created", if_none_match="*")
        assert read_all(driver, bucket, "k") == b"created"
        assert driver.head(bucket, "k").etag == info.etag

    def test_if_none_match_refuses_a_present_key(self, driver: Driver, bucket: str) -> None:
        need_conditional(driver)
        original = driver.put(bucket, "k", b"original")
        with pytest.raises(PreconditionFailed):
            driver.put(bucket, "k", b"replacement", if_none_match="*")
        assert read_all(driver, bucket, "k") == b"original"
        assert driver.head(bucket, "k").etag == original.etag

    def test_if_match_current_etag_writes(self, driver: Driver, bucket: str) -> None:
        need_conditional(driver)
        first = driver.put(bucket, "k", b"v1")
        second = driver.put(bucket, "k", b"v2", if_match=first.etag)
        assert read_all(driver, bucket, "k") == b"v2"
        assert second.etag != first.etag
        third = driver.put(bucket, "k", b"v3", if_match=second.etag)
        assert driver.head(bucket, "k").etag == third.etag

    def test_if_match_stale_etag_fails(self, driver: Driver, bucket: str) -> None:
        need_conditional(driver)
        stale = driver.put(bucket, "k", b"v1").etag
        current = driver.put(bucket, "k", b"v2").etag
        with pytest.raises(PreconditionFailed):
            driver.put(bucket, "k", b"v3", if_match=stale)
        assert read_all(driver, bucket, "k") == b"v2"
        assert driver.head(bucket, "k").etag == current

    def test_if_match_on_missing_key_fails(self, driver: Driver, bucket: str) -> None:
        need_conditional(driver)
        etag = driver.put(bucket, "other", b"x").etag
        with pytest.raises(PreconditionFailed):
            driver.put(bucket, "k", b"x", if_match=etag)
        assert not driver.exists(bucket, "k")

    def test_if_match_after_delete_fails(self, driver: Driver, bucket: str) -> None:
        need_conditional(driver)
        etag = driver.put(bucket, "k", b"x").etag
        driver.delete(bucket, "k")
        with pytest.raises(PreconditionFailed):
            driver.put(bucket, "k", b"x", if_match=etag)
        assert not driver.exists(bucket, "k")

    def test_delete_if_match(self, driver: Driver, bucket: str) -> None:
        conditional = need_conditional(driver)
        etag = driver.put(bucket, "k", b"x").etag
        conditional.delete_if_match(bucket, "k", etag)
        assert not driver.exists(bucket, "k")

    def test_delete_if_match_stale_etag_fails(self, driver: Driver, bucket: str) -> None:
        conditional = need_conditional(driver)
        stale = driver.put(bucket, "k", b"v1").etag
        driver.put(bucket, "k", b"v2")
        with pytest.raises(PreconditionFailed):
            conditional.delete_if_match(bucket, "k", stale)
        assert read_all(driver, bucket, "k") == b"v2"

    def test_delete_if_match_missing_key_fails(self, driver: Driver, bucket: str) -> None:
        conditional = need_conditional(driver)
        etag = driver.put(bucket, "other", b"x").etag
        with pytest.raises(PreconditionFailed):
            conditional.delete_if_match(bucket, "k", etag)
        assert keys_in(driver, bucket) == ["other"]

    def test_racing_creates_have_exactly_one_winner(self, driver: Driver, bucket: str) -> None:
        need_conditional(driver)
        winners, failures = _race(RACERS, lambda i: driver.put(bucket, "k", b"writer %d" % i, if_none_match="*"))
        assert len(winners) == 1, f"{len(winners)} writers created the same key"
        assert all(isinstance(f, PreconditionFailed) for f in failures), failures
        assert read_all(driver, bucket, "k") == b"writer %d" % winners[0]

    def test_racing_compare_and_swap_has_exactly_one_winner(self, driver: Driver, bucket: str) -> None:
        need_conditional(driver)
        etag = driver.put(bucket, "k", b"base").etag
        winners, failures = _race(RACERS, lambda i: driver.put(bucket, "k", b"writer %d" % i, if_match=etag))
        assert len(winners) == 1, f"{len(winners)} writers swapped the same etag"
        assert all(isinstance(f, PreconditionFailed) for f in failures), failures
        assert read_all(driver, bucket, "k") == b"writer %d" % winners[0]

    def test_racing_conditional_deletes_have_exactly_one_winner(self, driver: Driver, bucket: str) -> None:
        conditional = need_conditional(driver)
        etag = driver.put(bucket, "k", b"base").etag
        winners, failures = _race(RACERS, lambda i: conditional.delete_if_match(bucket, "k", etag))
        assert len(winners) == 1, f"{len(winners)} conditional deletes succeeded"
        assert all(isinstance(f, PreconditionFailed) for f in failures), failures
        assert not driver.exists(bucket, "k")
