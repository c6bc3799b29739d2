"""One RSS measurement in a fresh process: ``python -m bench.rss_probe SUBJECT OPERATION ROOT SIZE``.

Prints one JSON object.  The peak is the kernel's high-water mark (``VmHWM``), reset to the
current RSS just before the operation through ``/proc/self/clear_refs``, so nothing the
interpreter did before (imports, start-up) counts; a sampling thread cross-checks it.  Page
cache is not part of RSS: only memory this process holds counts.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil

from trove_dist.checksum import Hasher, new_hasher
from trove_dist.drivers.local import LocalDriver
from trove_dist.trove import Trove

BUCKET = "bench"
CHUNK = 1024 * 1024
SOURCE = "source.bin"
SUBJECTS = ("driver", "trove", "plain")
#: put-gen streams from a generator, put-file from a file opened "rb" (``ROOT/source.bin``),
#: where the driver chooses the chunk size; get reads the object back into a BLAKE3 hash.
OPERATIONS = ("put-gen", "put-file", "get")


def stream(size: int) -> Iterator[bytes]:
    """``size`` bytes as fresh 1 MiB chunks, as a producer reading a socket would hand them over."""
    base = os.urandom(CHUNK)
    for index, start in enumerate(range(0, size, CHUNK)):
        yield (index.to_bytes(8, "little") + base[8:])[: size - start]


def _digest(read: Callable[[int], bytes]) -> str:
    hasher = new_hasher("blake3")
    while chunk := read(CHUNK):
        hasher.update(chunk)
    return hasher.hexdigest()


def _hashed(chunks: Iterator[bytes], hasher: Hasher) -> Iterator[bytes]:
    for chunk in chunks:
        hasher.update(chunk)
        yield chunk


def operation(subject: str, op: str, root: Path, size: int) -> Callable[[], str]:
    """The operation to measure, already set up; it returns the BLAKE3 of the bytes it moved
    (empty for a put from the file: the caller knows that file's digest)."""
    key = f"{subject}.bin"
    if subject == "plain":
        path = root / key
        if op == "put-gen":

            def plain_put() -> str:
                hasher = new_hasher("blake3")
                with path.open("wb") as f:
                    for chunk in _hashed(stream(size), hasher):
                        f.write(chunk)
                return hasher.hexdigest()

            return plain_put
        if op == "get":

            def plain_get() -> str:
                with path.open("rb") as f:
                    return _digest(f.read)

            return plain_get
        raise ValueError("plain file I/O has no put-file (it would be a copy)")

    driver = LocalDriver(root, durable=False)
    driver.create_bucket(BUCKET, exist_ok=True)
    store = Trove(driver) if subject == "trove" else driver

    if op == "put-gen":

        def put_gen() -> str:
            hasher = new_hasher("blake3")
            store.put(BUCKET, key, _hashed(stream(size), hasher))
            return hasher.hexdigest()

        return put_gen
    if op == "put-file":

        def put_file() -> str:
            with (root / SOURCE).open("rb") as f:
                store.put(BUCKET, key, f)
            return ""

        return put_file

    def get() -> str:
        if isinstance(store, Trove):
            with store.get(BUCKET, key, verify=True) as reader:
                return _digest(reader.read)
        with store.get(BUCKET, key) as reader:
            return _digest(reader.read)

    return get


class Sampler(threading.Thread):
    """Polls this process's RSS every ``interval`` seconds and keeps the highest."""

    def __init__(self, interval: float = 0.002) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop_event = threading.Event()
        self._process = psutil.Process()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self.samples += 1
            time.sleep(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def _status_bytes(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"/proc/self/status has no {field}")
    return int(match.group(1)) * 1024


def measure(subject: str, op: str, root: Path, size: int) -> dict[str, object]:
    run = operation(subject, op, root, size)
    sampler = Sampler()
    sampler.start()
    time.sleep(0.05)  # the sampler's first samples are part of the baseline, not of the operation
    Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark to the current RSS
    before = _status_bytes("VmRSS")
    sampler.peak = before
    start = time.perf_counter()
    digest = run()
    seconds = time.perf_counter() - start
    sampler.stop()
    peak = _status_bytes("VmHWM")
    return {
        "subject": subject,
        "operation": op,
        "bytes": size,
        "rss_before": before,
        "peak_hwm": peak,
        "peak_sampled": sampler.peak,
        "samples": sampler.samples,
        "growth": peak - before,
        "growth_sampled": sampler.peak - before,
        "seconds": seconds,
        "blake3": digest,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] not in SUBJECTS or argv[1] not in OPERATIONS:
        print(
            f"usage: python -m bench.rss_probe {{{'|'.join(SUBJECTS)}}} {{{'|'.join(OPERATIONS)}}} ROOT SIZE",
            file=sys.stderr,
        )
        return 2
    print(json.dumps(measure(argv[0], argv[1], Path(argv[2]), int(argv[3]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
