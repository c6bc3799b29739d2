"""Checksums on put: computed and stored when asked for by name, verified when given a value —
and a body that fails verification is never written."""

from __future__ import annotations

import pytest

from trove_dist.checksum import ALGORITHMS, Checksum, digest
from trove_dist.driver.base import Driver
from trove_dist.errors import ChecksumMismatch
from trove_dist.testing.harness import ConformanceBase, keys_in, payload, read_all

DATA = payload(100_000, "checksums")
WRONG = {"sha256": "0" * 64, "blake3": "0" * 64, "xxh3": "0" * 32}


def _wrong(algorithm: str) -> Checksum:
    return Checksum.parse(f"{algorithm}:{WRONG[algorithm]}")


class ChecksumTests(ConformanceBase):
    @pytest.mark.parametrize("algorithm", ALGORITHMS)
    def test_named_checksum_is_computed_and_stored(self, driver: Driver, bucket: str, algorithm: str) -> None:
        expected = digest(algorithm, DATA)
        info = driver.put(bucket, "obj", DATA, checksum=algorithm)
        assert info.checksum == expected
        assert driver.head(bucket, "obj").checksum == expected
        with driver.get(bucket, "obj") as reader:
            assert reader.info.checksum == expected
            assert reader.read() == DATA

    @pytest.mark.parametrize("algorithm", ALGORITHMS)
    def test_checksum_of_a_streamed_body(self, driver: Driver, bucket: str, algorithm: str) -> None:
        chunks = [DATA[i : i + 7001] for i in range(0, len(DATA), 7001)]
        info = driver.put(bucket, "obj", iter(chunks), checksum=algorithm)
        assert info.checksum == digest(algorithm, DATA)
        assert driver.head(bucket, "obj").checksum == digest(algorithm, DATA)

    def test_checksum_of_an_empty_object(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "empty", b"", checksum="sha256")
        assert driver.head(bucket, "empty").checksum == digest("sha256", b"")

    @pytest.mark.parametrize("algorithm", ALGORITHMS)
    def test_correct_expected_checksum_is_accepted_and_stored(
        self, driver: Driver, bucket: str, algorithm: str
    ) -> None:
        expected = digest(algorithm, DATA)
        info = driver.put(bucket, "obj", DATA, checksum=expected)
        assert info.checksum == expected
        assert driver.head(bucket, "obj").checksum == expected

    def test_expected_checksum_accepts_uppercase_hex(self, driver: Driver, bucket: str) -> None:
        expected = digest("sha256", DATA)
        shouted = Checksum("sha256", expected.value.upper())
        info = driver.put(bucket, "obj", DATA, checksum=shouted)
        assert info.checksum is not None
        assert info.checksum.value.lower() == expected.value

    @pytest.mark.parametrize("algorithm", ALGORITHMS)
    def test_wrong_checksum_on_a_new_key_writes_nothing(self, driver: Driver, bucket: str, algorithm: str) -> None:
        with pytest.raises(ChecksumMismatch) as caught:
            driver.put(bucket, "obj", DATA, checksum=_wrong(algorithm))
        assert caught.value.algorithm == algorithm
        assert caught.value.actual == digest(algorithm, DATA).value
        assert not driver.exists(bucket, "obj")
        assert keys_in(driver, bucket) == []

    @pytest.mark.parametrize("algorithm", ALGORITHMS)
    def test_wrong_checksum_keeps_the_previous_version(self, driver: Driver, bucket: str, algorithm: str) -> None:
        previous = driver.put(bucket, "obj", b"previous version", metadata={"v": "1"})
        with pytest.raises(ChecksumMismatch):
            driver.put(
                bucket,
                "obj",
                iter([DATA[:50_000], DATA[50_000:]]),
                checksum=_wrong(algorithm),
                metadata={"v": "2"},
                chunk_size=4096,
            )
        head = driver.head(bucket, "obj")
        assert read_all(driver, bucket, "obj") == b"previous version"
        assert (head.etag, dict(head.metadata)) == (previous.etag, {"v": "1"})

    def test_checksum_of_other_content_is_a_mismatch(self, driver: Driver, bucket: str) -> None:
        with pytest.raises(ChecksumMismatch):
            driver.put(bucket, "obj", DATA, checksum=digest("sha256", DATA[:-1]))
        assert not driver.exists(bucket, "obj")

    def test_unknown_algorithm_is_refused(self, driver: Driver, bucket: str) -> None:
        with pytest.raises(ValueError, match="algorithm"):
            driver.put(bucket, "obj", DATA, checksum="md5")
        assert not driver.exists(bucket, "obj")

    def test_overwrite_without_checksum_drops_the_stale_one(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "obj", DATA, checksum="sha256")
        driver.put(bucket, "obj", b"new content")
        stored = driver.head(bucket, "obj").checksum
        assert stored is None or stored == digest(stored.algorithm, b"new content"), (
            f"head reports {stored} for content it does not describe"
        )
