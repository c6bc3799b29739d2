"""Threads: writers and readers at the same time see whole objects, and the last commit wins.

Synchronisation is by events and barriers, never by sleeping: a test either proves an ordering
or does not depend on one.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import pytest

from trove_dist.driver.base import Driver
from trove_dist.driver.models import ObjectInfo
from trove_dist.errors import BucketAlreadyExists
from trove_dist.testing.harness import BucketFactory, ConformanceBase, keys_in, payload, read_all

#: Seconds a thread may take before the test calls it hung (a deadlock, not slowness).
HANG = 120.0


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _results(futures: list[Future[None]]) -> None:
    for future in futures:
        future.result(timeout=HANG)


class ConcurrencyTests(ConformanceBase):
    #: Threads used by the parallel tests; lower it for a backend with a small connection pool.
    concurrency_threads = 8
    #: Size of each competing payload in the same-key test.
    contended_payload_size = 1024 * 1024

    def test_parallel_puts_and_gets_of_distinct_keys(self, driver: Driver, bucket: str) -> None:
        per_thread = 20
        threads = self.concurrency_threads

        def work(t: int) -> None:
            for i in range(per_thread):
                key = f"t{t:02d}/k{i:03d}"
                data = payload(1000 + 97 * i, key)
                driver.put(bucket, key, data)
                assert read_all(driver, bucket, key) == data, f"{key} read back wrong"

        with ThreadPoolExecutor(threads) as pool:
            _results([pool.submit(work, t) for t in range(threads)])
        expected = sorted(f"t{t:02d}/k{i:03d}" for t in range(threads) for i in range(per_thread))
        assert keys_in(driver, bucket) == expected
        for key in expected[:: per_thread // 2]:
            assert read_all(driver, bucket, key) == payload(1000 + 97 * int(key[-3:]), key)

    def test_same_key_readers_never_see_a_torn_object(self, driver: Driver, bucket: str) -> None:
        writers, puts_each, readers = 4, 5, max(2, self.concurrency_threads - 4)
        size = self.contended_payload_size
        payloads = [payload(size, f"writer-{w}") for w in range(writers + 1)]  # the last is the initial one
        known = {_sha(p): i for i, p in enumerate(payloads)}
        driver.put(bucket, "contended", payloads[-1])
        writers_done = threading.Event()
        lock = threading.Lock()
        written: dict[str, int] = {}  # etag -> writer
        reads: list[int] = []

        def write(w: int) -> None:
            for _ in range(puts_each):
                info = driver.put(bucket, "contended", payloads[w], chunk_size=64 * 1024)
                with lock:
                    written[info.etag] = w

        def read() -> None:
            while True:
                finished = writers_done.is_set()
                with driver.get(bucket, "contended") as reader:
                    data = b"".join(reader.iter_chunks(64 * 1024))
                    info = reader.info
                digest = _sha(data)
                assert digest in known, f"torn read: {len(data)} bytes matching no payload"
                assert info.size == len(data)
                with lock:
                    reads.append(known[digest])
                if finished:
                    return

        with ThreadPoolExecutor(writers + readers) as pool:
            reading = [pool.submit(read) for _ in range(readers)]
            try:
                _results([pool.submit(write, w) for w in range(writers)])
            finally:
                writers_done.set()
            _results(reading)
        assert len(reads) >= readers
        final = read_all(driver, bucket, "contended")
        winner = known.get(_sha(final), -1)
        assert 0 <= winner < writers, "the final object is no writer's payload"
        assert written.get(driver.head(bucket, "contended").etag) == winner, "head's etag belongs to another write"

    def test_write_in_progress_is_invisible_and_last_commit_wins(self, driver: Driver, bucket: str) -> None:
        old, slow, fast = (payload(256 * 1024, name) for name in ("old", "slow", "fast"))
        driver.put(bucket, "k", old)
        halfway, release = threading.Event(), threading.Event()

        def slow_body() -> Iterator[bytes]:
            yield slow[: len(slow) // 2]
            halfway.set()
            if not release.wait(timeout=HANG):
                raise TimeoutError("the test never released the slow writer")
            yield slow[len(slow) // 2 :]

        with ThreadPoolExecutor(2) as pool:
            slow_put = pool.submit(driver.put, bucket, "k", slow_body())
            try:
                assert halfway.wait(timeout=HANG), "the driver never asked for the second half of the body"
                assert read_all(driver, bucket, "k") == old, "half of a write in progress became visible"
                assert driver.head(bucket, "k").size == len(old)
                fast_put = pool.submit(driver.put, bucket, "k", fast)
                try:
                    fast_info = fast_put.result(timeout=HANG)
                except FutureTimeout:
                    pytest.fail("a put blocked behind another put of the same key that was still streaming")
                assert read_all(driver, bucket, "k") == fast
            finally:
                release.set()
            slow_info: ObjectInfo = slow_put.result(timeout=HANG)
        assert read_all(driver, bucket, "k") == slow, "the write that committed last must win"
        assert driver.head(bucket, "k").etag == slow_info.etag != fast_info.etag

    def test_open_reader_keeps_the_version_it_opened(self, driver: Driver, bucket: str) -> None:
        old, new = payload(512 * 1024, "old"), payload(512 * 1024, "new")
        driver.put(bucket, "k", old)
        with driver.get(bucket, "k") as reader:
            head = reader.read(1000)
            driver.put(bucket, "k", new)
            rest = reader.read()
        assert head + rest == old, "a reader opened before an overwrite returned a mix"
        assert read_all(driver, bucket, "k") == new

    def test_open_reader_survives_a_delete(self, driver: Driver, bucket: str) -> None:
        old = payload(512 * 1024, "old")
        driver.put(bucket, "k", old)
        with driver.get(bucket, "k") as reader:
            head = reader.read(1000)
            driver.delete(bucket, "k")
            rest = reader.read()
        assert head + rest == old
        assert not driver.exists(bucket, "k")

    def test_listing_while_writing_stays_sorted_and_unique(self, driver: Driver, bucket: str) -> None:
        keys = [f"k{i:04d}" for i in range(300)]
        done = threading.Event()
        listings: list[list[str]] = []

        def write() -> None:
            try:
                for key in keys[1::2] + keys[::2]:
                    driver.put(bucket, key, b"x")
            finally:
                done.set()

        def list_repeatedly() -> None:
            while True:
                finished = done.is_set()
                listed = keys_in(driver, bucket)
                assert listed == sorted(set(listed)), "a listing under writes repeated or reordered keys"
                listings.append(listed)
                if finished:
                    return

        with ThreadPoolExecutor(3) as pool:
            _results([pool.submit(list_repeatedly), pool.submit(list_repeatedly), pool.submit(write)])
        assert listings[-1] == keys, "a listing started after the last write missed keys"

    def test_concurrent_deletes_of_one_key_all_succeed(self, driver: Driver, bucket: str) -> None:
        driver.put(bucket, "k", b"x")
        barrier = threading.Barrier(self.concurrency_threads)

        def delete() -> None:
            barrier.wait(timeout=HANG)
            driver.delete(bucket, "k")

        with ThreadPoolExecutor(self.concurrency_threads) as pool:
            _results([pool.submit(delete) for _ in range(self.concurrency_threads)])
        assert not driver.exists(bucket, "k")

    def test_racing_bucket_creates_have_exactly_one_winner(self, driver: Driver, new_bucket: BucketFactory) -> None:
        name = new_bucket.name("race")
        barrier = threading.Barrier(self.concurrency_threads)
        outcomes: list[str] = []
        lock = threading.Lock()

        def create() -> None:
            barrier.wait(timeout=HANG)
            try:
                driver.create_bucket(name)
                outcome = "created"
            except BucketAlreadyExists:
                outcome = "exists"
            with lock:
                outcomes.append(outcome)

        with ThreadPoolExecutor(self.concurrency_threads) as pool:
            _results([pool.submit(create) for _ in range(self.concurrency_threads)])
        assert sorted(outcomes) == ["created"] + ["exists"] * (self.concurrency_threads - 1)
        assert driver.bucket_exists(name)
