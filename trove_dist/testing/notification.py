"""``NotificationDriver``: a watcher sees objects created and deleted under its prefix."""

from __future__ import annotations

import queue
import threading

from trove_dist.driver.base import Driver
from trove_dist.driver.capabilities import ObjectEvent
from trove_dist.testing.harness import ConformanceBase
from trove_dist.testing.requirements import need_notification

WAIT = 30.0


class NotificationTests(ConformanceBase):
    def test_watch_reports_created_and_deleted(self, driver: Driver, bucket: str) -> None:
        notifier = need_notification(driver)
        events: queue.Queue[ObjectEvent] = queue.Queue()
        stream = notifier.watch(bucket, prefix="watched/")

        def pump() -> None:
            for event in stream:
                events.put(event)

        threading.Thread(target=pump, daemon=True, name="conformance-watch").start()
        # A watch may start lazily: write probes until the first one is reported.
        for attempt in range(20):
            driver.put(bucket, f"watched/probe-{attempt}", b"probe")
            try:
                events.get(timeout=WAIT / 20)
                break
            except queue.Empty:
                continue
        else:
            raise AssertionError("the watcher reported none of 20 writes")

        driver.put(bucket, "elsewhere/ignored", b"x")
        driver.put(bucket, "watched/target", b"x")
        driver.delete(bucket, "watched/target")
        seen: list[tuple[str, str]] = []
        while ("deleted", "watched/target") not in seen:
            event = events.get(timeout=WAIT)
            assert event.bucket == bucket
            seen.append((event.kind, event.key))
        relevant = [s for s in seen if s[1] == "watched/target"]
        assert relevant == [("created", "watched/target"), ("deleted", "watched/target")]
        assert all(not key.startswith("elsewhere/") for _, key in seen)
