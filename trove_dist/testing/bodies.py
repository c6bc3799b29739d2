"""What ``put`` accepts as a body — bytes-likes, binary files, iterables — and what it refuses."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trove_dist.driver.base import Driver
from trove_dist.errors import TroveError
from trove_dist.testing.harness import ConformanceBase, payload, read_all

DATA = payload(300_000, "bodies")


def _generator(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class BodyTests(ConformanceBase):
    def test_put_bytes(self, driver: Driver, bucket: str) -> None:
        assert driver.put(bucket, "obj", DATA).size == len(DATA)
        assert read_all(driver, bucket, "obj") == DATA

    def test_put_bytearray_and_memoryview(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "ba", bytearray(DATA))
        driver.put(bucket, "mv", memoryview(DATA)[1000:2000])
        assert read_all(driver, bucket, "ba") == DATA
        assert read_all(driver, bucket, "mv") == DATA[1000:2000]

    def test_put_is_a_snapshot_of_a_mutable_buffer(self, driver: Driver, bucket: str) -> None:
        buffer = bytearray(b"original")
        driver.put(bucket, "obj", buffer)
        buffer[:] = b"mutated!"
        assert read_all(driver, bucket, "obj") == b"original"

    def test_put_binary_file_object(self, driver: Driver, bucket: str, tmp_path: Path) -> None:
        path = tmp_path / "body.bin"
        path.write_bytes(DATA)
        with path.open("rb") as fh:
            info = driver.put(bucket, "from-file", fh)
        assert info.size == len(DATA)
        assert read_all(driver, bucket, "from-file") == DATA

    def test_put_binary_file_from_its_current_position(self, driver: Driver, bucket: str, tmp_path: Path) -> None:
        path = tmp_path / "body.bin"
        path.write_bytes(DATA)
        with path.open("rb") as fh:
            fh.seek(1000)
            info = driver.put(bucket, "tail", fh)
        assert info.size == len(DATA) - 1000
        assert read_all(driver, bucket, "tail") == DATA[1000:]

    def test_put_bytesio(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "obj", io.BytesIO(DATA), chunk_size=4096)
        assert read_all(driver, bucket, "obj") == DATA

    def test_put_iterable_of_bytes(self, driver: Driver, bucket: str) -> None:
        chunks: Any = [b"", b"a", b"", bytearray(b"bc"), memoryview(b"def")]
        driver.put(bucket, "list", chunks)
        assert read_all(driver, bucket, "list") == b"abcdef"

    def test_put_generator_of_uneven_chunks(self, driver: Driver, bucket: str) -> None:
        info = driver.put(bucket, "gen", _generator(DATA, 7919))
        assert info.size == len(DATA)
        assert read_all(driver, bucket, "gen") == DATA

    def test_put_empty_iterable(self, driver: Driver, bucket: str) -> None:
        assert driver.put(bucket, "empty", iter([])).size == 0
        assert read_all(driver, bucket, "empty") == b""

    def test_put_an_object_read_from_the_driver(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "src", DATA)
        with driver.get(bucket, "src") as reader:
            driver.put(bucket, "dst", reader)
        assert read_all(driver, bucket, "dst") == DATA

    def test_put_str_is_refused(self, driver: Driver, bucket: str) -> None:
        text: Any = "not bytes"
        with pytest.raises(TypeError):
            driver.put(bucket, "obj", text)
        assert not driver.exists(bucket, "obj")

    def test_put_text_mode_file_is_refused(self, driver: Driver, bucket: str, tmp_path: Path) -> None:
        path = tmp_path / "body.txt"
        path.write_text("text")
        with path.open("r") as fh:
            text_file: Any = fh
            with pytest.raises(TypeError):
                driver.put(bucket, "obj", text_file)
        assert not driver.exists(bucket, "obj")

    def test_put_iterable_of_str_is_refused(self, driver: Driver, bucket: str) -> None:
        chunks: Any = [b"bytes first", "then text"]
        with pytest.raises(TypeError):
            driver.put(bucket, "obj", chunks)
        assert not driver.exists(bucket, "obj")

    def test_failed_body_leaves_previous_version(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "obj", b"previous")

        def broken() -> Iterator[bytes]:
            yield b"partial data that must never become visible"
            raise OSError("the source failed mid-stream")

        with pytest.raises((OSError, TroveError)):
            driver.put(bucket, "obj", broken())
        assert read_all(driver, bucket, "obj") == b"previous"
        assert driver.head(bucket, "obj").size == len(b"previous")

    def test_failed_body_creates_nothing(self, driver: Driver, bucket: str) -> None:
        def broken() -> Iterator[bytes]:
            yield b"partial"
            raise OSError("the source failed mid-stream")

        with pytest.raises((OSError, TroveError)):
            driver.put(bucket, "obj", broken())
        assert not driver.exists(bucket, "obj")
        assert driver.list(bucket).objects == []
