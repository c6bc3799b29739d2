"""Keys S3 allows must work everywhere: unicode, URL metacharacters, odd slashes, long keys."""

from __future__ import annotations

import unicodedata

import pytest

from trove_dist.driver.base import Driver, Limitation
from trove_dist.errors import InvalidKey, KeyConflict
from trove_dist.testing.harness import ConformanceBase, keys_in, read_all
from trove_dist.testing.requirements import skip_limited

UNUSUAL_KEYS: dict[str, str] = {
    "unicode": "ünïcödé/文件/файл.txt",
    "emoji": "emoji 😀/🚀",
    "space": "with space",
    "spaces-only-segment": "a/ /b",
    "percent": "100%",
    "percent-encoded": "a%2Fb%20c",
    "plus": "a+b",
    "hash": "tag#fragment",
    "question": "what?x=1",
    "ampersand-equals": "a&b=c",
    "url-metachars": "!$'()*,;:@[]{}|^`~<>\"",
    "leading-slash": "/leading",
    "trailing-slash": "trailing/",
    "double-slash": "double//slash",
    "only-slash": "/",
    "many-slashes": "///",
    "dots-in-name": "...",
    "dot-prefixed": ".hidden/.x",
    "dotted-segment": "a/.b/..c/d.",
    "tilde": "~user",
    "dash-start": "-rf",
    "1000-ascii": "k" * 1000,
    "1000-bytes-2-byte-chars": "é" * 500,
    "1000-bytes-4-byte-chars": "😀" * 250,
    "1024-bytes-limit": "x" * 1024,
    "1024-bytes-3-byte-chars": "a" + "中" * 341,
    "long-segments": "/".join(["s" * 200] * 4),
}


class KeyTests(ConformanceBase):
    @pytest.mark.parametrize("key", UNUSUAL_KEYS.values(), ids=UNUSUAL_KEYS.keys())
    def test_unusual_key_round_trips(self, driver: Driver, bucket: str, key: str) -> None:
        data = key.encode("utf-8")
        info = driver.put(bucket, key, data, metadata={"k": "v"})
        assert info.key == key
        assert read_all(driver, bucket, key) == data
        assert driver.head(bucket, key).key == key
        assert keys_in(driver, bucket) == [key]
        assert keys_in(driver, bucket, prefix=key) == [key]
        driver.delete(bucket, key)
        assert not driver.exists(bucket, key)
        assert keys_in(driver, bucket) == []

    def test_all_unusual_keys_coexist(self, driver: Driver, bucket: str) -> None:
        keys = list(UNUSUAL_KEYS.values())
        limited = Limitation.NO_OBJECT_AND_PREFIX_SAME_NAME in driver.limitations
        if limited:  # "/" and "///" would make "/" both an object and a prefix
            keys = [k for k in keys if not any(o != k and o.startswith(k + "/") for o in keys)]
        for key in keys:
            driver.put(bucket, key, key.encode())
        assert keys_in(driver, bucket) == sorted(keys, key=lambda k: k.encode())
        for key in keys:
            assert read_all(driver, bucket, key) == key.encode()

    def test_key_over_1024_bytes_is_refused(self, driver: Driver, bucket: str) -> None:
        for key in ("x" * 1025, "é" * 513, "😀" * 256 + "x"):
            with pytest.raises(InvalidKey):
                driver.put(bucket, key, b"x")
        assert keys_in(driver, bucket) == []

    def test_directory_marker_and_file_below_it_coexist(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "dir/", b"marker")
        driver.put(bucket, "dir/file", b"file")
        assert read_all(driver, bucket, "dir/") == b"marker"
        assert read_all(driver, bucket, "dir/file") == b"file"
        assert keys_in(driver, bucket) == ["dir/", "dir/file"]
        page = driver.list(bucket, prefix="dir/", delimiter="/")
        assert [o.key for o in page.objects] == ["dir/", "dir/file"]
        assert driver.list(bucket, delimiter="/").common_prefixes == ["dir/"]
        driver.delete(bucket, "dir/")
        assert keys_in(driver, bucket) == ["dir/file"]
        driver.put(bucket, "dir/", b"again")
        driver.delete(bucket, "dir/file")
        assert keys_in(driver, bucket) == ["dir/"]

    def test_keys_are_case_sensitive(self, driver: Driver, bucket: str) -> None:
        for key in ("Key", "key", "KEY", "dir/File", "DIR/file"):
            driver.put(bucket, key, key.encode())
        for key in ("Key", "key", "KEY", "dir/File", "DIR/file"):
            assert read_all(driver, bucket, key) == key.encode()
        assert keys_in(driver, bucket) == ["DIR/file", "KEY", "Key", "dir/File", "key"]

    def test_unicode_normalization_forms_are_distinct_keys(self, driver: Driver, bucket: str) -> None:
        nfc = unicodedata.normalize("NFC", "café")
        nfd = unicodedata.normalize("NFD", "café")
        assert nfc != nfd
        driver.put(bucket, nfc, b"composed")
        driver.put(bucket, nfd, b"decomposed")
        assert read_all(driver, bucket, nfc) == b"composed"
        assert read_all(driver, bucket, nfd) == b"decomposed"
        assert set(keys_in(driver, bucket)) == {nfc, nfd}

    @pytest.mark.parametrize(("first", "second"), [("a", "a/b"), ("a/b", "a"), ("a", "a/"), ("x/y", "x/y/z/w")])
    def test_object_and_prefix_with_the_same_name_coexist(
        self, driver: Driver, bucket: str, first: str, second: str
    ) -> None:
        skip_limited(driver, Limitation.NO_OBJECT_AND_PREFIX_SAME_NAME)
        driver.put(bucket, first, b"first")
        driver.put(bucket, second, b"second")
        assert read_all(driver, bucket, first) == b"first"
        assert read_all(driver, bucket, second) == b"second"
        assert keys_in(driver, bucket) == sorted([first, second])
        driver.delete(bucket, first)
        assert keys_in(driver, bucket) == [second]

    @pytest.mark.parametrize(("first", "second"), [("a", "a/b"), ("a/b", "a"), ("x/y", "x/y/z/w")])
    def test_declared_object_prefix_limitation_raises_key_conflict(
        self, driver: Driver, bucket: str, first: str, second: str
    ) -> None:
        if Limitation.NO_OBJECT_AND_PREFIX_SAME_NAME not in driver.limitations:
            pytest.skip(f"{driver.name} does not declare Limitation.NO_OBJECT_AND_PREFIX_SAME_NAME")
        driver.put(bucket, first, b"first")
        with pytest.raises(KeyConflict):
            driver.put(bucket, second, b"second")
        assert read_all(driver, bucket, first) == b"first"
        assert keys_in(driver, bucket) == [first]
