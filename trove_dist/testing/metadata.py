"""User metadata and content type: stored, returned, lowercased, guessed, never shared."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import cast

import pytest

from trove_dist.driver.base import DEFAULT_CONTENT_TYPE, Driver
from trove_dist.testing.harness import ConformanceBase

GUESSED_TYPES = [
    ("doc.json", "application/json"),
    ("dir/page.html", "text/html"),
    ("notes.txt", "text/plain"),
    ("image.png", "image/png"),
    ("UPPER.PNG", "image/png"),
    ("no-extension", DEFAULT_CONTENT_TYPE),
    ("weird.zz-not-a-type", DEFAULT_CONTENT_TYPE),
]


class MetadataTests(ConformanceBase):
    def test_metadata_round_trips_with_lowercased_names(self, driver: Driver, bucket: str) -> None:
        metadata = {"X-Color": "Blue", "owner": "Ada Lovelace", "Empty": "", "unicode-value": "naïve ✓"}
        expected = {"x-color": "Blue", "owner": "Ada Lovelace", "empty": "", "unicode-value": "naïve ✓"}
        put = driver.put(bucket, "obj", b"x", metadata=metadata)
        assert dict(put.metadata) == expected
        assert dict(driver.head(bucket, "obj").metadata) == expected
        with driver.get(bucket, "obj") as reader:
            assert dict(reader.info.metadata) == expected

    def test_no_metadata_is_empty(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "obj", b"x")
        assert dict(driver.head(bucket, "obj").metadata) == {}

    def test_invalid_metadata_is_refused_and_nothing_written(self, driver: Driver, bucket: str) -> None:
        for bad in ({"with space": "v"}, {"colon:name": "v"}, {"ok": "line\nbreak"}, {"": "v"}, {"big": "x" * 4096}):
            with pytest.raises(ValueError, match="metadata"):
                driver.put(bucket, "obj", b"x", metadata=bad)
        assert not driver.exists(bucket, "obj")

    def test_caller_mapping_is_copied_on_put(self, driver: Driver, bucket: str) -> None:
        metadata = {"k": "before"}
        driver.put(bucket, "obj", b"x", metadata=metadata)
        metadata["k"] = "after"
        metadata["added"] = "later"
        assert dict(driver.head(bucket, "obj").metadata) == {"k": "before"}

    def test_returned_metadata_cannot_change_the_stored_object(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "obj", b"x", metadata={"k": "stored"})
        for info in (driver.head(bucket, "obj"), driver.list(bucket).objects[0]):
            returned = cast(MutableMapping[str, str], info.metadata)
            try:
                returned["k"] = "tampered"
                returned["injected"] = "yes"
            except TypeError:
                pass  # a read-only mapping is the best answer
        assert dict(driver.head(bucket, "obj").metadata) == {"k": "stored"}

    def test_explicit_content_type_round_trips(self, driver: Driver, bucket: str) -> None:
        put = driver.put(bucket, "data.json", b"{}", content_type="application/vnd.trove+json; charset=utf-8")
        expected = "application/vnd.trove+json; charset=utf-8"
        assert put.content_type == expected
        assert driver.head(bucket, "data.json").content_type == expected
        with driver.get(bucket, "data.json") as reader:
            assert reader.info.content_type == expected

    @pytest.mark.parametrize(("key", "expected"), GUESSED_TYPES)
    def test_content_type_guessed_from_extension(self, driver: Driver, bucket: str, key: str, expected: str) -> None:
        assert driver.put(bucket, key, b"x").content_type == expected
        assert driver.head(bucket, key).content_type == expected

    def test_overwrite_guesses_again(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "page.html", b"x", content_type="text/x-custom")
        driver.put(bucket, "page.html", b"y")
        assert driver.head(bucket, "page.html").content_type == "text/html"
