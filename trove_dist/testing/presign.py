"""``PresignDriver``: the URLs it hands out work with a plain HTTP client (urllib)."""

from __future__ import annotations

import urllib.request
from datetime import timedelta

import pytest

from trove_dist.driver.base import Driver
from trove_dist.testing.harness import ConformanceBase, payload, read_all
from trove_dist.testing.requirements import need_presign

EXPIRES = timedelta(minutes=10)


def _fetch(request: urllib.request.Request | str) -> bytes:
    with urllib.request.urlopen(request, timeout=60) as response:
        body: bytes = response.read()
        return body


class PresignTests(ConformanceBase):
    def test_presigned_get_downloads_the_object(self, driver: Driver, bucket: str) -> None:
        presign = need_presign(driver)
        data = payload(100_000, "presign-get")
        driver.put(bucket, "dir/with space+plus.bin", data)
        url = presign.presign_get(bucket, "dir/with space+plus.bin", EXPIRES)
        assert isinstance(url, str)
        assert "://" in url
        assert _fetch(url) == data

    def test_presigned_get_of_a_missing_object_fails(self, driver: Driver, bucket: str) -> None:
        presign = need_presign(driver)
        url = presign.presign_get(bucket, "missing", EXPIRES)
        with pytest.raises(OSError):  # urllib's HTTPError and URLError are OSErrors
            _fetch(url)

    def test_presigned_put_uploads_the_object(self, driver: Driver, bucket: str) -> None:
        presign = need_presign(driver)
        data = payload(100_000, "presign-put")
        url = presign.presign_put(bucket, "uploaded.txt", EXPIRES, content_type="text/plain")
        request = urllib.request.Request(url, data=data, method="PUT", headers={"Content-Type": "text/plain"})
        _fetch(request)
        assert read_all(driver, bucket, "uploaded.txt") == data
        assert driver.head(bucket, "uploaded.txt").size == len(data)
