"""Traversal keys and bad bucket names are refused by *every* operation, before any I/O."""

from __future__ import annotations

import pytest

from trove_dist.driver.base import Driver
from trove_dist.errors import InvalidBucket, InvalidKey
from trove_dist.testing.harness import ConformanceBase, keys_in
from trove_dist.testing.operations import ALL_OPERATIONS, OBJECT_OPERATIONS, Operation, Target
from trove_dist.testing.requirements import skip_missing

BAD_KEYS: dict[str, str] = {
    "parent": "../x",
    "parent-escape": "a/../../x",
    "parent-inside": "a/b/../c",
    "dot-start": "./a",
    "dot-inside": "a/./b",
    "dot-end": "a/.",
    "parent-end": "a/..",
    "dotdot": "..",
    "dot": ".",
    "parent-after-slash": "/../x",
    "parent-after-double-slash": "a//../x",
    "nul": "a\x00b",
    "backslash": "a\\b",
    "backslash-traversal": "..\\x",
    "newline": "a\nb",
    "carriage-return": "a\rb",
    "tab": "a\tb",
    "escape": "\x1b[31mred",
    "delete-char": "a\x7f",
    "c1-control": "a\x85b",
    "empty": "",
    "1025-bytes": "x" * 1025,
    "1026-bytes-multibyte": "é" * 513,
    "lone-surrogate": "a\ud800b",
}

BAD_BUCKETS: dict[str, str] = {
    "empty": "",
    "too-short": "ab",
    "too-long": "b" * 64,
    "uppercase": "Bucket-name",
    "leading-dash": "-bucket",
    "trailing-dash": "bucket-",
    "leading-dot": ".bucket",
    "double-dot": "my..bucket",
    "ip-address": "192.168.0.1",
    "slash": "buck/et",
    "traversal": "../etc",
    "dotdot": "..",
    "space": "buck et",
    "nul": "bucket\x00",
    "newline": "bucket\n",
    "backslash": "buck\\et",
    "non-ascii": "bückét",
}


class NameTests(ConformanceBase):
    @pytest.mark.parametrize("op", OBJECT_OPERATIONS, ids=repr)
    def test_bad_keys_are_refused(self, driver: Driver, bucket: str, op: Operation) -> None:
        if op.capability:
            skip_missing(driver, op.capability)
        driver.put(bucket, "good", b"good")
        accepted: list[str] = []
        wrong_error: list[str] = []
        for name, key in BAD_KEYS.items():
            try:
                op.run(driver, Target(bucket, key, bucket, "good"))
            except InvalidKey:
                continue
            except Exception as exc:  # noqa: BLE001 - collected and reported below
                wrong_error.append(f"{name}: {type(exc).__name__}: {str(exc)[:80]}")
            else:
                accepted.append(name)
        assert not accepted, f"{op.name} accepted bad keys: {accepted}"
        assert not wrong_error, f"{op.name} raised something other than InvalidKey: {wrong_error}"
        assert keys_in(driver, bucket) == ["good"], f"{op.name} wrote something for a bad key"

    @pytest.mark.parametrize("op", ALL_OPERATIONS, ids=repr)
    def test_bad_bucket_names_are_refused(self, driver: Driver, bucket: str, op: Operation) -> None:
        if op.capability:
            skip_missing(driver, op.capability)
        driver.put(bucket, "good", b"good")
        before = {b.name for b in driver.list_buckets()}
        accepted: list[str] = []
        wrong_error: list[str] = []
        for name, bad in BAD_BUCKETS.items():
            try:
                op.run(driver, Target(bad, "key", bucket, "good"))
            except InvalidBucket:
                continue
            except Exception as exc:  # noqa: BLE001 - collected and reported below
                wrong_error.append(f"{name}: {type(exc).__name__}: {str(exc)[:80]}")
            else:
                accepted.append(name)
        assert not accepted, f"{op.name} accepted bad bucket names: {accepted}"
        assert not wrong_error, f"{op.name} raised something other than InvalidBucket: {wrong_error}"
        assert {b.name for b in driver.list_buckets()} == before
        assert keys_in(driver, bucket) == ["good"]

    def test_invalid_key_is_a_value_error(self, driver: Driver, bucket: str) -> None:
        with pytest.raises(ValueError, match="invalid key"):
            driver.put(bucket, "../x", b"x")
        with pytest.raises(ValueError, match="invalid bucket"):
            driver.create_bucket("../x")

    def test_dotted_names_that_are_not_traversal_are_allowed(self, driver: Driver, bucket: str) -> None:
        for key in ("a..b", "...", ".a", "a.", "a/..b/c", "..hidden", "dir/.../x"):
            driver.put(bucket, key, key.encode())
        assert sorted(keys_in(driver, bucket)) == sorted(
            ["a..b", "...", ".a", "a.", "a/..b/c", "..hidden", "dir/.../x"]
        )
