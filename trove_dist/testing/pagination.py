"""Listing across pages: cursors, ``iter_list``, and consistency while the bucket changes."""

from __future__ import annotations

import pytest

from trove_dist.driver.base import Driver
from trove_dist.driver.models import ListPage, ObjectInfo
from trove_dist.errors import InvalidCursor
from trove_dist.testing.harness import BucketFactory, ConformanceBase

KEYS = [f"k{i:02d}" for i in range(10)]


def _put_all(driver: Driver, bucket: str, keys: list[str]) -> None:
    for key in keys:
        driver.put(bucket, key, key.encode())


def _entries(page: ListPage) -> list[str]:
    return sorted([o.key for o in page.objects] + page.common_prefixes, key=lambda k: k.encode())


class PaginationTests(ConformanceBase):
    def test_pages_follow_next_cursor(self, driver: Driver, bucket: str) -> None:
        _put_all(driver, bucket, KEYS)
        pages: list[list[str]] = []
        cursor: str | None = None
        while True:
            page = driver.list(bucket, max_keys=3, cursor=cursor)
            pages.append(_entries(page))
            assert len(pages[-1]) <= 3, f"page {len(pages)} has more than max_keys entries"
            if page.next_cursor is None:
                break
            assert pages[-1], "only the last page may be empty"
            cursor = page.next_cursor
            assert len(pages) <= len(KEYS) + 1, "pagination does not terminate"
        assert len(pages) >= 4
        assert pages[0] == ["k00", "k01", "k02"]
        assert [k for page_keys in pages for k in page_keys] == KEYS

    def test_pages_with_a_delimiter_never_repeat_a_prefix(self, driver: Driver, bucket: str) -> None:
        keys = ["a/1", "a/2", "a/3", "b/1", "c", "d/1", "d/2", "e", "f/1"]
        _put_all(driver, bucket, keys)
        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            page = driver.list(bucket, delimiter="/", max_keys=2, cursor=cursor)
            pages += 1
            assert len(page.objects) + len(page.common_prefixes) <= 2
            seen += _entries(page)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
            assert pages <= len(keys) + 1, "pagination does not terminate"
        assert pages >= 3
        assert seen == ["a/", "b/", "c", "d/", "e", "f/"]

    def test_pages_with_prefix_and_start_after(self, driver: Driver, bucket: str) -> None:
        _put_all(driver, bucket, [f"p/{k}" for k in KEYS] + ["q/after", "o/before"])
        listed = [
            e.key
            for e in driver.iter_list(bucket, prefix="p/", start_after="p/k03", page_size=2)
            if isinstance(e, ObjectInfo)
        ]
        assert listed == [f"p/{k}" for k in KEYS[4:]]

    def test_iter_list_walks_every_page(self, driver: Driver, bucket: str) -> None:
        _put_all(driver, bucket, KEYS)
        for page_size in (1, 2, 3, 9, 10, 11, 1000):
            listed = [e.key for e in driver.iter_list(bucket, page_size=page_size) if isinstance(e, ObjectInfo)]
            assert listed == KEYS, f"page_size={page_size}"

    def test_cursor_reused_with_another_prefix_is_refused(self, driver: Driver, bucket: str) -> None:
        _put_all(driver, bucket, [f"p/{k}" for k in KEYS] + [f"q/{k}" for k in KEYS])
        cursor = driver.list(bucket, prefix="p/", max_keys=2).next_cursor
        assert cursor is not None
        with pytest.raises(InvalidCursor):
            driver.list(bucket, prefix="q/", max_keys=2, cursor=cursor)
        with pytest.raises(InvalidCursor):
            driver.list(bucket, prefix="", max_keys=2, cursor=cursor)
        # the cursor itself is still good for the listing that made it
        assert [o.key for o in driver.list(bucket, prefix="p/", max_keys=2, cursor=cursor).objects] == [
            "p/k02",
            "p/k03",
        ]

    def test_cursor_reused_with_another_delimiter_is_refused(self, driver: Driver, bucket: str) -> None:
        _put_all(driver, bucket, KEYS)
        cursor = driver.list(bucket, max_keys=2).next_cursor
        assert cursor is not None
        with pytest.raises(InvalidCursor):
            driver.list(bucket, delimiter="/", max_keys=2, cursor=cursor)

    def test_cursor_reused_on_another_bucket_is_refused(
        self, driver: Driver, bucket: str, new_bucket: BucketFactory
    ) -> None:
        other = new_bucket()
        _put_all(driver, bucket, KEYS)
        _put_all(driver, other, KEYS)
        cursor = driver.list(bucket, max_keys=2).next_cursor
        assert cursor is not None
        with pytest.raises(InvalidCursor):
            driver.list(other, max_keys=2, cursor=cursor)

    def test_malformed_cursor_is_refused(self, driver: Driver, bucket: str) -> None:
        _put_all(driver, bucket, KEYS)
        for garbage in ("not-a-cursor", "%%%", "eyJ9", "a" * 300):
            with pytest.raises(InvalidCursor):
                driver.list(bucket, cursor=garbage)

    def test_changes_between_pages_cause_no_duplicates_and_no_skips(self, driver: Driver, bucket: str) -> None:
        original = [f"k{i:02d}" for i in range(20)]
        _put_all(driver, bucket, original)
        removed: set[str] = set()
        listed: list[str] = []

        def remove(key: str) -> None:
            driver.delete(bucket, key)
            removed.add(key)

        page = driver.list(bucket, max_keys=4)
        listed += [o.key for o in page.objects]  # k00..k03
        # between pages: remove the last key returned and one already returned, one not yet
        # reached; add keys behind and ahead of the position; overwrite one ahead
        remove(listed[-1])
        remove("k01")
        remove("k06")
        _put_all(driver, bucket, ["k02a", "k05a", "k99"])
        driver.put(bucket, "k07", b"overwritten")
        assert page.next_cursor is not None
        page = driver.list(bucket, max_keys=4, cursor=page.next_cursor)
        listed += [o.key for o in page.objects]
        # remove every key of the page just returned, and add keys around it
        for o in page.objects:
            remove(o.key)
        _put_all(driver, bucket, ["k04b", "k10a"])
        while page.next_cursor is not None:
            page = driver.list(bucket, max_keys=4, cursor=page.next_cursor)
            listed += [o.key for o in page.objects]

        assert len(listed) == len(set(listed)), f"duplicates: {sorted(k for k in listed if listed.count(k) > 1)}"
        assert listed == sorted(listed), "keys came back out of order"
        present_throughout = [k for k in original if k not in removed]
        skipped = [k for k in present_throughout if k not in listed]
        assert not skipped, f"objects present throughout were skipped: {skipped}"
