"""One listing page: order, prefix, delimiter, ``start_after``."""

from __future__ import annotations

import pytest

from trove_dist.driver.base import Driver
from trove_dist.driver.models import CommonPrefix, ObjectInfo
from trove_dist.errors import InvalidKey
from trove_dist.testing.harness import ConformanceBase, keys_in

#: Chosen so that code-point, UTF-8 and UTF-16 orders disagree, and case and width matter.
ORDER_KEYS = [
    "a",
    "B",
    "b-c",
    "b/c",  # "/" sorts between "-" and "0"
    "b0",
    "ba",
    "z",
    "~tilde",
    "é",
    "ÿ",
    "ž",
    "中文",
    "\uff61halfwidth",  # U+FF61 sorts before U+10000 in UTF-8, after it in UTF-16
    "ａfullwidth",
    "😀emoji",
    "\U00010000linear-b",
    " space",
    "!bang",
]

TREE = ["a.txt", "dir/x", "dir/y/z", "dir/y/zz", "dir2/q", "e/", "top"]


def utf8_order(keys: list[str]) -> list[str]:
    return sorted(keys, key=lambda k: k.encode("utf-8"))


def _put_all(driver: Driver, bucket: str, keys: list[str]) -> None:
    for key in keys:
        driver.put(bucket, key, key.encode())


class ListingTests(ConformanceBase):
    def test_empty_bucket_lists_nothing(self, driver: Driver, bucket: str) -> None:
        page = driver.list(bucket)
        assert page.objects == []
        assert page.common_prefixes == []
        assert page.next_cursor is None
        assert page.is_last
        assert list(driver.iter_list(bucket)) == []

    def test_keys_are_listed_in_utf8_byte_order(self, driver: Driver, bucket: str) -> None:
        _put_all(driver, bucket, list(reversed(ORDER_KEYS)))
        page = driver.list(bucket)
        assert [o.key for o in page.objects] == utf8_order(ORDER_KEYS)
        assert page.next_cursor is None

    def test_byte_order_holds_across_pages(self, driver: Driver, bucket: str) -> None:
        _put_all(driver, bucket, ORDER_KEYS)
        assert [e.key for e in driver.iter_list(bucket, page_size=4) if isinstance(e, ObjectInfo)] == utf8_order(
            ORDER_KEYS
        )

    def test_listed_objects_carry_their_sizes(self, driver: Driver, bucket: str) -> None:
        sizes = {"one": 1, "ten": 10, "zero": 0}
        for key, size in sizes.items():
            driver.put(bucket, key, b"x" * size)
        assert {o.key: (o.bucket, o.size) for o in driver.list(bucket).objects} == {
            k: (bucket, s) for k, s in sizes.items()
        }

    def test_prefix_filters(self, driver: Driver, bucket: str) -> None:
        _put_all(driver, bucket, TREE)
        assert keys_in(driver, bucket, "dir/") == ["dir/x", "dir/y/z", "dir/y/zz"]
        assert keys_in(driver, bucket, "dir") == ["dir/x", "dir/y/z", "dir/y/zz", "dir2/q"]
        assert keys_in(driver, bucket, "dir/y/z") == ["dir/y/z", "dir/y/zz"]
        assert keys_in(driver, bucket, "e/") == ["e/"]
        assert keys_in(driver, bucket, "nothing") == []
        assert keys_in(driver, bucket, "top") == ["top"]
        assert keys_in(driver, bucket, "top/") == []

    def test_prefix_with_unicode(self, driver: Driver, bucket: str) -> None:
        _put_all(driver, bucket, ORDER_KEYS)
        assert keys_in(driver, bucket, "中") == ["中文"]
        assert keys_in(driver, bucket, "😀") == ["😀emoji"]

    def test_delimiter_rolls_up_common_prefixes(self, driver: Driver, bucket: str) -> None:
        _put_all(driver, bucket, TREE)
        page = driver.list(bucket, delimiter="/")
        assert [o.key for o in page.objects] == ["a.txt", "top"]
        assert page.common_prefixes == ["dir/", "dir2/", "e/"]

    def test_delimiter_with_prefix(self, driver: Driver, bucket: str) -> None:
        _put_all(driver, bucket, TREE)
        page = driver.list(bucket, prefix="dir/", delimiter="/")
        assert [o.key for o in page.objects] == ["dir/x"]
        assert page.common_prefixes == ["dir/y/"]
        deeper = driver.list(bucket, prefix="dir/y/", delimiter="/")
        assert [o.key for o in deeper.objects] == ["dir/y/z", "dir/y/zz"]
        assert deeper.common_prefixes == []

    def test_delimiter_with_partial_prefix(self, driver: Driver, bucket: str) -> None:
        _put_all(driver, bucket, TREE)
        page = driver.list(bucket, prefix="di", delimiter="/")
        assert page.objects == []
        assert page.common_prefixes == ["dir/", "dir2/"]

    def test_other_delimiter(self, driver: Driver, bucket: str) -> None:
        _put_all(driver, bucket, ["2024-01-a", "2024-01-b", "2024-02-a", "2025", "x"])
        page = driver.list(bucket, delimiter="-")
        assert [o.key for o in page.objects] == ["2025", "x"]
        assert page.common_prefixes == ["2024-"]
        page = driver.list(bucket, prefix="2024-", delimiter="-")
        assert page.common_prefixes == ["2024-01-", "2024-02-"]

    def test_empty_delimiter_means_none(self, driver: Driver, bucket: str) -> None:
        _put_all(driver, bucket, TREE)
        page = driver.list(bucket, delimiter="")
        assert [o.key for o in page.objects] == TREE
        assert page.common_prefixes == []

    def test_iter_list_yields_objects_and_common_prefixes_in_order(self, driver: Driver, bucket: str) -> None:
        _put_all(driver, bucket, TREE)
        entries = list(driver.iter_list(bucket, delimiter="/", page_size=2))
        assert [(type(e).__name__, e.key if isinstance(e, ObjectInfo) else e.prefix) for e in entries] == [
            ("ObjectInfo", "a.txt"),
            ("CommonPrefix", "dir/"),
            ("CommonPrefix", "dir2/"),
            ("CommonPrefix", "e/"),
            ("ObjectInfo", "top"),
        ]
        assert all(isinstance(e, (ObjectInfo, CommonPrefix)) for e in entries)

    def test_start_after_is_exclusive(self, driver: Driver, bucket: str) -> None:
        _put_all(driver, bucket, TREE)
        assert [o.key for o in driver.list(bucket, start_after="dir/x").objects] == [
            "dir/y/z",
            "dir/y/zz",
            "dir2/q",
            "e/",
            "top",
        ]

    def test_start_after_between_keys_and_past_the_end(self, driver: Driver, bucket: str) -> None:
        _put_all(driver, bucket, TREE)
        assert [o.key for o in driver.list(bucket, start_after="dir/y").objects] == [
            "dir/y/z",
            "dir/y/zz",
            "dir2/q",
            "e/",
            "top",
        ]
        assert next(o.key for o in driver.list(bucket, start_after="b").objects) == "dir/x"
        end = driver.list(bucket, start_after="zzz")
        assert (end.objects, end.next_cursor) == ([], None)

    def test_start_after_with_prefix(self, driver: Driver, bucket: str) -> None:
        _put_all(driver, bucket, TREE)
        assert [o.key for o in driver.list(bucket, prefix="dir/", start_after="dir/y/z").objects] == ["dir/y/zz"]
        assert [o.key for o in driver.list(bucket, prefix="dir/", start_after="a").objects] == [
            "dir/x",
            "dir/y/z",
            "dir/y/zz",
        ]
        assert driver.list(bucket, prefix="dir/", start_after="e").objects == []

    def test_start_after_with_delimiter(self, driver: Driver, bucket: str) -> None:
        _put_all(driver, bucket, TREE)
        page = driver.list(bucket, delimiter="/", start_after="dir/y/zz")
        assert page.common_prefixes == ["dir2/", "e/"]
        assert [o.key for o in page.objects] == ["top"]
        page = driver.list(bucket, delimiter="/", start_after="dir/x")
        assert page.common_prefixes == ["dir/", "dir2/", "e/"], "dir/ still holds keys after start_after"

    def test_invalid_prefix_is_refused(self, driver: Driver, bucket: str) -> None:
        for prefix in ("a\x00", "a\\b", "line\nbreak", "x" * 1025):
            with pytest.raises(InvalidKey):
                driver.list(bucket, prefix=prefix)

    def test_max_keys_must_be_positive(self, driver: Driver, bucket: str) -> None:
        for bad in (0, -1):
            with pytest.raises(ValueError, match="max_keys"):
                driver.list(bucket, max_keys=bad)
