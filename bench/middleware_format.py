"""``middleware_format``: the framed object format with compression and encryption, against the
libraries it wraps, a plain ranged read, and a memory budget.

* **aead**: encrypt + decrypt of 1 GiB through the format (``FrameEncoder``/``framed_stream`` with
  the ``Encrypt`` middleware's codec, read back by ``FramedReader``; in memory: the frames go
  straight from the writer to the reader through a pass-through source) vs cryptography's
  ``AESGCM`` alone, encrypting then decrypting the very same chunk buffers (same chunk size,
  a 12-byte nonce and associated data per chunk as the format uses).  Random data.
* **zstd**: the same with ``Compress(level=3)`` vs ``zstandard`` alone (``ZstdCompressor(level=3)``
  then ``ZstdDecompressor``, chunk by chunk) on compressible data: Python sources (this
  repository's first, then the virtualenv's, in path order) concatenated into a 64 MiB corpus and
  repeated.  The corpus is larger than zstd's window, so the repetition does not help either side.
* **range**: a 1 MiB range from the middle of a 1 GiB object stored compressed and encrypted
  through ``Trove`` on the local driver, vs the same range of the same bytes stored plain (a
  plain ``Trove`` on the same disk).  Every ``driver.get`` is counted (calls and bytes read).
  The range starts a third of a chunk past the middle, so with 1 MiB chunks it spans two frames
  (the worst case).
  The objects use 1 MiB chunks: the smallest for which a 1 MiB range can stay within two chunks
  (the default 8 MiB chunks are reported too).  A *floor* is reported for context: the plain
  ranged read plus decoding the frames it spans with ``zstandard`` and ``AESGCM`` alone — what any reader
  of a compressed and encrypted object must at least do.
* **memory**: peak RSS growth (``VmHWM`` reset just before the operation, in a fresh process,
  as ``local_rss`` does) of ``Trove.put`` and ``Trove.get`` of a framed (compressed, encrypted)
  object at two object sizes, against a budget of ``chunk size x chunks in flight``.  Chunks in
  flight, read off the code: a put holds the chunk ``rechunk`` holds back, the chunk it is
  assembling, and the frame being encoded (its compressed, then encrypted form); a get holds the
  stored frame, its decryption and its decompression (the piece handed to the caller).  So the
  budget is 4 chunks; it does not depend on the object's size, and neither may the peak.

The library-alone peers keep each chunk's output until the next one replaces it, as a consumer
handed the chunk would.  Written as ``decrypt(encrypt(chunk))``, both 8 MiB buffers are freed
together every chunk, glibc gives the top of its heap back to the kernel, and every next chunk
faults its pages in again: that made the peer 4x slower than the format — an allocator artefact,
not a fair baseline.

Throughput is reported twice for the same runs, both with the target: by the wall clock, and by
this process's CPU time (user+system, page faults included).  Both sides are single-threaded and
in memory, so the two differ only by the time slices other engineers' processes take on this
shared 2-core machine — which swing the wall-clock ratio of a half-second run by 2x either way.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import zstandard
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench.machine import REPO
from bench.measure import MB, GiB, MiB, Stopwatch, evict, interleave, settle
from bench.model import Context, Measurement, Outcome, Series
from trove_dist.content import start_framing
from trove_dist.driver.body import DEFAULT_CHUNK_SIZE
from trove_dist.driver.reader import ObjectReader
from trove_dist.drivers.local import LocalDriver
from trove_dist.format import FramedReader, framed_stream
from trove_dist.format.codec import ChunkCodec
from trove_dist.format.header import Header
from trove_dist.format.reader import read_index
from trove_dist.middleware.base import ChunkMiddleware
from trove_dist.middleware.compress import Compress
from trove_dist.middleware.context import Direction, Operation
from trove_dist.middleware.encrypt import Encrypt, StaticKeyProvider
from trove_dist.trove import Trove

BUCKET = "bench"
CHUNK = DEFAULT_CHUNK_SIZE  # Trove's default chunk size (8 MiB)
RANGE_CHUNK = 1 * MiB
RANGE_LENGTH = 1 * MiB
CORPUS_BYTES = 64 * MiB
ZSTD_LEVEL = 3
MEMORY_CHUNKS_IN_FLIGHT = 4
AEAD_TARGET = 0.85
ZSTD_TARGET = 0.9
RANGE_LATENCY_TARGET = 2.0
CORPUS_FILE = "corpus.bin"
KEY_ENV = "BENCH_MIDDLEWARE_KEY"


def run(ctx: Context) -> Outcome:
    quick = ctx.quick
    stream_size = 128 * MiB if quick else 1 * GiB
    range_size = 64 * MiB if quick else 1 * GiB
    memory_sizes = (64 * MiB, 256 * MiB) if quick else (1 * GiB, 4 * GiB)
    outcome = Outcome(
        parameters={
            "chunk_bytes": CHUNK,
            "stream_bytes": stream_size,
            "range_object_bytes": range_size,
            "range_chunk_bytes": RANGE_CHUNK,
            "range_bytes": RANGE_LENGTH,
            "memory_object_bytes": list(memory_sizes),
            "zstd_level": ZSTD_LEVEL,
            "corpus_bytes": CORPUS_BYTES,
            "warmup_rounds": 1,
        }
    )
    ctx.log("building a 64 MiB corpus of Python sources")
    corpus = build_corpus(CORPUS_BYTES)
    (ctx.scratch / CORPUS_FILE).write_bytes(corpus)
    _aead(ctx, outcome, stream_size)
    _zstd(ctx, outcome, corpus, stream_size)
    _range(ctx, outcome, corpus, range_size)
    settle()
    _memory(ctx, outcome, memory_sizes)
    return outcome


# ---- data ---------------------------------------------------------------------------------


def build_corpus(size: int) -> bytes:
    """``size`` bytes of Python source: this repository's files, then the virtualenv's, in a
    fixed order (so every run compresses the same bytes)."""
    roots = [REPO / "trove_dist", REPO / "tests", REPO / "bench", Path(sys.prefix) / "lib"]
    parts: list[bytes] = []
    total = 0
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if "scratch" in path.parts:
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            parts.append(data)
            total += len(data)
            if total >= size:
                return b"".join(parts)[:size]
    if not total:
        raise RuntimeError("found no Python sources for the corpus")
    corpus = b"".join(parts)
    return (corpus * (size // len(corpus) + 1))[:size]


def cut(data: bytes, chunk: int) -> list[bytes]:
    """``data`` as separate ``chunk``-sized bytes objects (the shared input buffers)."""
    return [data[i : i + chunk] for i in range(0, len(data) - chunk + 1, chunk)]


def cycle(buffers: Sequence[bytes], total: int) -> Iterator[bytes]:
    """``total`` bytes made of ``buffers`` in turn (the last one cut short if needed)."""
    sent = 0
    index = 0
    while sent < total:
        buffer = buffers[index % len(buffers)]
        piece = buffer if sent + len(buffer) <= total else buffer[: total - sent]
        sent += len(piece)
        index += 1
        yield piece


class _Pipe:
    """A ``ByteSource`` over the pieces ``framed_stream`` yields: hands each piece on as it is
    (a read that asks for less gets a slice), so no copy is made between writer and reader."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._current = b""

    def read(self, size: int = -1, /) -> bytes:
        if not self._current:
            self._current = next(self._pieces, b"")
        if size < 0 or len(self._current) <= size:
            out, self._current = self._current, b""
            return out
        out, self._current = self._current[:size], self._current[size:]
        return out

    def close(self) -> None:
        self._current = b""


def _human(size: int) -> str:
    return f"{size // GiB} GiB" if size >= GiB and size % GiB == 0 else f"{size // MiB} MiB"


def _codecs_for(middleware: ChunkMiddleware) -> Callable[[Header], list[ChunkCodec]]:
    def codecs_for(header: Header) -> list[ChunkCodec]:
        return [middleware.start_read(spec.params, header) for spec in header.chain]

    return codecs_for


# ---- throughput: the format vs the library alone ------------------------------------------


class _Timed:
    """A contender's rounds, timed by the wall clock (the figure) and by this process's CPU
    time (kept as a cross-check): both as MB/s of plaintext."""

    def __init__(self, size: int, body: Callable[[], int]) -> None:
        self.size = size
        self.body = body
        self.cpu: list[float] = []

    def __call__(self, round_: int) -> float:
        cpu = time.process_time()
        with Stopwatch() as sw:
            produced = self.body()
        cpu = time.process_time() - cpu
        if produced != self.size:
            raise RuntimeError(f"produced {produced} bytes, expected {self.size}")
        if round_ >= 1:  # the warm-up round is not recorded
            self.cpu.append(self.size / max(cpu, 1e-9) / MB)
        return self.size / sw.seconds / MB


def _through_format(middleware: ChunkMiddleware, buffers: list[bytes], size: int, chunk: int) -> int:
    """Frame ``size`` bytes of ``buffers`` with one middleware and decode them again; returns the
    number of plaintext bytes read back (the reader checks every frame and the index)."""
    op = Operation(Direction.WRITE, BUCKET, "object.bin")
    encoder = start_framing(op, [middleware], chunk)
    reader = FramedReader(_Pipe(framed_stream(encoder, cycle(buffers, size))), _codecs_for(middleware))
    total = 0
    while piece := reader.read(chunk):
        total += len(piece)
    reader.close()
    return total


def _throughput_pair(
    ctx: Context, what: str, middleware: ChunkMiddleware, peer: Callable[[], int], buffers: list[bytes], size: int
) -> tuple[dict[str, list[float]], _Timed, _Timed]:
    ours = _Timed(size, lambda: _through_format(middleware, buffers, size, CHUNK))
    theirs = _Timed(size, peer)
    repeats = 5 if ctx.quick else 9
    ctx.log(f"{what}: {_human(size)} in {CHUNK // MiB} MiB chunks, {repeats} rounds")
    return interleave([("ours", ours), ("peer", theirs)], repeats), ours, theirs


def _aead(ctx: Context, outcome: Outcome, size: int) -> None:
    buffers = [os.urandom(CHUNK) for _ in range(8)]
    check = _through_format(Encrypt(StaticKeyProvider(os.urandom(32))), buffers, 2 * CHUNK, CHUNK)
    assert check == 2 * CHUNK
    middleware = Encrypt(StaticKeyProvider(os.urandom(32), "bench"))

    def aesgcm_alone() -> int:
        aead = AESGCM(AESGCM.generate_key(bit_length=256))
        aad = os.urandom(32)
        total = 0
        for index, chunk in enumerate(cycle(buffers, size)):
            nonce = index.to_bytes(12, "big")
            sealed = aead.encrypt(nonce, chunk, aad)  # each kept until the next replaces it (see above)
            opened = aead.decrypt(nonce, sealed, aad)
            total += len(opened)
        return total

    figures, ours, peer = _throughput_pair(ctx, "encrypt + decrypt", middleware, aesgcm_alone, buffers, size)
    _throughput_rows(outcome, "aead", f"encrypt + decrypt {_human(size)}", figures, ours, peer, AEAD_TARGET, [
        "FrameEncoder(Encrypt) → FramedReader, in memory",
        "AESGCM.encrypt then .decrypt, the same buffers",
    ])  # fmt: skip


def _zstd(ctx: Context, outcome: Outcome, corpus: bytes, size: int) -> None:
    buffers = cut(corpus, CHUNK)
    middleware = Compress(level=ZSTD_LEVEL)
    stored = sum(len(zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(b)) for b in buffers)
    outcome.parameters["zstd_ratio"] = round(sum(map(len, buffers)) / stored, 2)

    def zstandard_alone() -> int:
        compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
        decompressor = zstandard.ZstdDecompressor()
        total = 0
        for chunk in cycle(buffers, size):
            packed = compressor.compress(chunk)  # each kept until the next replaces it (see above)
            unpacked = decompressor.decompress(packed)
            total += len(unpacked)
        return total

    figures, ours, peer = _throughput_pair(ctx, "compress + decompress", middleware, zstandard_alone, buffers, size)
    _throughput_rows(outcome, "zstd", f"compress + decompress {_human(size)}", figures, ours, peer, ZSTD_TARGET, [
        f"FrameEncoder(Compress level {ZSTD_LEVEL}) → FramedReader, in memory",
        f"ZstdCompressor(level={ZSTD_LEVEL}).compress then ZstdDecompressor().decompress, the same buffers",
    ])  # fmt: skip


def _throughput_rows(
    outcome: Outcome,
    key: str,
    name: str,
    figures: dict[str, list[float]],
    ours: _Timed,
    peer: _Timed,
    target: float,
    labels: list[str],
) -> None:
    outcome.parameters[f"{key}_cpu_mb_s"] = {"ours": ours.cpu, "peer": peer.cpu}
    cpu_ratios = [o / p for o, p in zip(ours.cpu, peer.cpu, strict=True)]
    outcome.parameters[f"{key}_cpu_ratio_median"] = statistics.median(cpu_ratios)
    outcome.measurements += [
        Measurement(
            name=f"{name}, {CHUNK // MiB} MiB chunks",
            unit="MB/s",
            better="higher",
            ours=Series(labels[0], figures["ours"], "ours"),
            peer=Series(labels[1], figures["peer"]),
            target=target,
            cache="in memory",
        ),
        Measurement(
            name=f"{name}, {CHUNK // MiB} MiB chunks, CPU time",
            unit="MB/s (CPU)",
            better="higher",
            ours=Series(labels[0], ours.cpu, "ours"),
            peer=Series(labels[1], peer.cpu),
            target=target,
            cache="in memory",
            note="the same runs timed by this process's CPU time (user+system), which time slices lost to "
            "other processes on the shared machine do not inflate",
        ),
    ]


# ---- random access --------------------------------------------------------------------------


class _Counted:
    """A driver reader's source that counts the bytes actually read from it."""

    def __init__(self, reader: ObjectReader, log: list[list[int]]) -> None:
        self._reader = reader
        self._entry = [reader.offset, reader.length, 0]
        log.append(self._entry)

    def read(self, size: int = -1, /) -> bytes:
        data = self._reader.read(size)
        self._entry[2] += len(data)
        return data

    def close(self) -> None:
        self._reader.close()


class CountingDriver(LocalDriver):
    """``LocalDriver`` that logs every ``get``: [offset, length served, bytes read]."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, durable=False)
        self.gets: list[list[int]] = []

    def get(self, bucket: str, key: str, *, offset: int = 0, length: int | None = None) -> ObjectReader:
        reader = super().get(bucket, key, offset=offset, length=length)
        return ObjectReader(reader.info, _Counted(reader, self.gets), offset=reader.offset, length=reader.length)


def _range(ctx: Context, outcome: Outcome, corpus: bytes, size: int) -> None:
    root = ctx.scratch / "range"
    root.mkdir()
    kek = os.urandom(32)
    for chunk, primary in ((RANGE_CHUNK, True), (CHUNK, False)):
        ctx.log(f"range: storing {_human(size)} plain and framed in {chunk // MiB} MiB chunks")
        _range_at(ctx, outcome, root, corpus, size, chunk, kek, primary=primary)


def _range_at(
    ctx: Context, outcome: Outcome, root: Path, corpus: bytes, size: int, chunk: int, kek: bytes, *, primary: bool
) -> None:
    buffers = cut(corpus, chunk)
    plain = Trove(CountingDriver(root), chunk_size=chunk, checksum=None)
    framed = Trove(CountingDriver(root), chunk_size=chunk, checksum=None)
    framed.use(Compress(level=ZSTD_LEVEL), priority=10)
    framed.use(Encrypt(StaticKeyProvider(kek, "bench")), priority=20)
    plain.create_bucket(BUCKET, exist_ok=True)
    try:
        plain.put(BUCKET, "plain.bin", cycle(buffers, size))
        stored = framed.put(BUCKET, "framed.bin", cycle(buffers, size))
        settle()
        plain_driver, framed_driver = plain.driver, framed.driver
        if not isinstance(plain_driver, CountingDriver) or not isinstance(framed_driver, CountingDriver):
            raise TypeError("expected counting drivers")
        stored_size = framed_driver.head(BUCKET, "framed.bin").size
        offset = size // 2 + chunk // 3

        def read(trove: Trove, key: str) -> bytes:
            with trove.get(BUCKET, key, offset=offset, length=RANGE_LENGTH) as reader:
                return reader.read()

        # One counted read of each, checked against each other (the same plaintext).
        framed_driver.gets.clear()
        ours_bytes = read(framed, "framed.bin")
        gets = [list(g) for g in framed_driver.gets]
        plain_driver.gets.clear()
        peer_bytes = read(plain, "plain.bin")
        plain_gets = [list(g) for g in plain_driver.gets]
        if ours_bytes != peer_bytes or len(ours_bytes) != RANGE_LENGTH:
            raise RuntimeError("the framed range differs from the plain range")

        header, trailer, frames_start = read_index(
            lambda o, n: framed_driver.get(BUCKET, "framed.bin", offset=o, length=n), stored_size
        )
        first, last = offset // chunk, (offset + RANGE_LENGTH - 1) // chunk
        frames_needed = sum(trailer.entries[i].stored for i in range(first, last + 1))
        trailer_bytes = len(trailer.encode())
        header_bytes = frames_start
        fetched = sum(g[2] for g in gets)
        frame_fetch = [g for g in gets if g[0] >= frames_start and g[0] + g[1] <= stored_size - trailer_bytes]
        human = f"{chunk // MiB} MiB chunks"
        outcome.parameters[f"range_{chunk // MiB}mib"] = {
            "object_plain_bytes": size,
            "object_stored_bytes": stored_size,
            "stored_ratio": round(size / stored_size, 2),
            "logical_size_reported": stored.size,
            "range_offset": offset,
            "frames_read": [first, last],
            "header_bytes": header_bytes,
            "trailer_bytes_with_footer": trailer_bytes,
            "frames_needed_bytes": frames_needed,
            "driver_gets_framed": [{"offset": g[0], "length": g[1], "bytes_read": g[2]} for g in gets],
            "driver_gets_plain": [{"offset": g[0], "length": g[1], "bytes_read": g[2]} for g in plain_gets],
            "bytes_fetched_total": fetched,
            "bytes_fetched_frames": sum(g[2] for g in frame_fetch),
        }
        budget = 2 * chunk + trailer_bytes
        if primary:
            outcome.measurements.append(
                Measurement(
                    name=f"1 MiB range of {_human(size)} compressed+encrypted: bytes from the driver, {human}",
                    unit="bytes",
                    better="lower",
                    ours=Series(
                        f"all driver reads ({len(gets)} gets: object, header, tail, frames)", [fetched], "ours"
                    ),
                    peer=Series(f"2 chunks + trailer = 2 x {chunk} + {trailer_bytes}", [budget], "limit"),
                    target=1.0,
                    cache="n/a",
                    note=f"header {header_bytes} B, trailer+footer {trailer_bytes} B, the frames "
                    f"{frames_needed} B stored; the tail read guesses {min(stored_size, 64 * 1024)} B",
                )
            )
        outcome.measurements.append(
            Measurement(
                name=f"1 MiB range, {human}: frame bytes read vs the frames needed",
                unit="bytes",
                better="lower",
                ours=Series("bytes read by the frame fetch", [sum(g[2] for g in frame_fetch)], "ours"),
                peer=Series(f"stored size of frames {first}..{last}", [frames_needed], "limit"),
                target=None,
                note="report only: 1.0 means not a byte of any other frame",
            )
        )
        plaintexts = [buffers[i % len(buffers)] for i in range(first, last + 1)]
        _range_latency(ctx, outcome, root, plain, framed, offset, plaintexts, header, primary=primary, read=read)
    finally:
        for trove, key in ((plain, "plain.bin"), (framed, "framed.bin")):
            trove.delete(BUCKET, key)
        plain.close()
        framed.close()


def _range_latency(
    ctx: Context,
    outcome: Outcome,
    root: Path,
    plain: Trove,
    framed: Trove,
    offset: int,
    plaintexts: list[bytes],
    header: Header,
    *,
    primary: bool,
    read: Callable[[Trove, str], bytes],
) -> None:
    """Latency of the range, warm (and, for the primary chunk size, cold), against the plain
    read and against a floor: the plain read plus decoding the frames the range spans (their
    plaintext compressed and encrypted beforehand) with the libraries alone."""
    chunk = len(plaintexts[0])
    reads = 10 if ctx.quick else 25
    repeats = 5 if ctx.quick else 9
    paths = {"plain.bin": root / BUCKET / "plain.bin", "framed.bin": root / BUCKET / "framed.bin"}
    for path in paths.values():
        if not path.is_file():
            raise RuntimeError(f"expected the local driver to keep {path.name} at {path}")

    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    frames = [
        aead.encrypt(i.to_bytes(12, "big"), compressor.compress(text), header.binding)
        for i, text in enumerate(plaintexts)
    ]
    decompressor = zstandard.ZstdDecompressor()

    def floor_read() -> bytes:
        data = read(plain, "plain.bin")
        for i, frame in enumerate(frames):
            decompressor.decompress(aead.decrypt(i.to_bytes(12, "big"), frame, header.binding))
        return data

    def contender(fetch: Callable[[], bytes], cold: bool) -> Callable[[int], float]:
        def run(round_: int) -> float:
            latencies = []
            for _ in range(reads):
                if cold:
                    for path in paths.values():
                        evict(path)
                with Stopwatch() as sw:
                    data = fetch()
                if len(data) != RANGE_LENGTH:
                    raise RuntimeError(f"read {len(data)} bytes")
                latencies.append(sw.seconds * 1e6)
            return statistics.median(latencies)

        return run

    human = f"{chunk // MiB} MiB chunks"
    for cold in (False, True) if primary else (False,):
        state = "cold" if cold else "warm"
        ctx.log(f"range latency, {human}, {state}: {repeats} rounds of {reads} reads")
        figures = interleave(
            [
                ("ours", contender(lambda: read(framed, "framed.bin"), cold)),
                ("peer", contender(lambda: read(plain, "plain.bin"), cold)),
                ("floor", contender(floor_read, cold)),
            ],
            repeats,
        )
        cache = "cold (both objects evicted before each read)" if cold else "warm"
        ours_label = "Trove.get(offset, 1 MiB).read(), compressed+encrypted object"
        outcome.measurements += [
            Measurement(
                name=f"1 MiB range latency, {human}",
                unit="µs",
                better="lower",
                ours=Series(ours_label, figures["ours"], "ours"),
                peer=Series("Trove.get(offset, 1 MiB).read(), the same bytes stored plain", figures["peer"]),
                target=RANGE_LATENCY_TARGET if primary else None,
                cache=cache,
                note=f"median of {reads} reads per round" + ("" if primary else "; report only: Trove's default chunk"),
            ),
            Measurement(
                name=f"1 MiB range latency vs the decoding floor, {human}",
                unit="µs",
                better="lower",
                ours=Series(ours_label, figures["ours"], "ours"),
                peer=Series("the plain read + zstandard/AESGCM decoding the same frames alone", figures["floor"]),
                target=None,
                cache=cache,
                note="report only: what the format adds beyond reading and decoding those frames",
            ),
        ]


# ---- memory -----------------------------------------------------------------------------


def _memory(ctx: Context, outcome: Outcome, sizes: Sequence[int]) -> None:
    root = ctx.scratch / "memory"
    root.mkdir()
    key = os.urandom(32).hex()
    repeats = 2
    probes: list[dict[str, Any]] = []
    growth: dict[tuple[str, int], list[float]] = {}
    for round_ in range(repeats):
        for size in sizes if round_ % 2 == 0 else reversed(sizes):
            ctx.log(f"memory round {round_ + 1}/{repeats}: put and get of {_human(size)}")
            for op in ("put", "get"):
                result = _probe(op, ctx.scratch, root, size, key)
                probes.append(result)
                growth.setdefault((op, size), []).append(result["growth"] / MiB)
                settle()
            (root / BUCKET / "object.bin").unlink()
    outcome.parameters["memory_probes"] = probes
    budget_mib = MEMORY_CHUNKS_IN_FLIGHT * CHUNK / MiB
    budget = Series(f"{MEMORY_CHUNKS_IN_FLIGHT} chunks in flight x {CHUNK // MiB} MiB", [budget_mib], "limit")
    how = {
        "put": "Trove.put from 1 MiB pieces, Compress+Encrypt",
        "get": "Trove.get(verify=True).read(1 MiB) loop, Compress+Encrypt",
    }
    for op in ("put", "get"):
        for size in sizes:
            outcome.measurements.append(
                Measurement(
                    name=f"peak RSS growth, framed {op} {_human(size)}",
                    unit="MiB",
                    better="lower",
                    ours=Series(how[op], growth[op, size], "ours"),
                    peer=budget,
                    target=1.0,
                    note="VmHWM growth in a fresh process",
                )
            )
        small, large = sizes
        outcome.measurements.append(
            Measurement(
                name=f"peak RSS growth, framed {op}: {_human(large)} vs {_human(small)}",
                unit="MiB",
                better="lower",
                ours=Series(f"{op} of {_human(large)}", growth[op, large], "ours"),
                peer=Series(f"{op} of {_human(small)}", growth[op, small]),
                target=None,
                note="report only: 1.0 means the peak does not grow with the object",
            )
        )
    outcome.notes.append(
        "memory: peak = VmHWM after resetting it through /proc/self/clear_refs just before the operation, "
        "in a fresh process per operation (python -m bench.middleware_format probe ...); page cache is not counted"
    )


def _probe(op: str, scratch: Path, root: Path, size: int, key: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.middleware_format", "probe", op, str(scratch), str(root), str(size)],
        cwd=REPO,
        env={**os.environ, KEY_ENV: key},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"memory probe {op} failed:\n{completed.stderr}")
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def probe(op: str, scratch: Path, root: Path, size: int) -> dict[str, Any]:
    """Runs in a fresh process: one put or get of a framed object, and its peak RSS growth."""
    from bench.rss_probe import Sampler, _status_bytes
    from trove_dist.checksum import new_hasher

    pieces = cut((scratch / CORPUS_FILE).read_bytes(), MiB)  # a producer's 1 MiB reads
    trove = Trove(LocalDriver(root, durable=False), chunk_size=CHUNK)
    trove.create_bucket(BUCKET, exist_ok=True)
    trove.use(Compress(level=ZSTD_LEVEL), priority=10)
    trove.use(Encrypt(StaticKeyProvider(bytes.fromhex(os.environ[KEY_ENV]), "bench")), priority=20)
    expected = new_hasher("blake3")
    for piece in cycle(pieces, size):
        expected.update(piece)
    digest = ""

    def put() -> None:
        trove.put(BUCKET, "object.bin", cycle(pieces, size))

    def get() -> None:
        nonlocal digest
        hasher = new_hasher("blake3")
        with trove.get(BUCKET, "object.bin", verify=True) as reader:
            while piece := reader.read(MiB):
                hasher.update(piece)
        digest = hasher.hexdigest()

    sampler = Sampler()
    sampler.start()
    time.sleep(0.05)
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_bytes("VmRSS")
    sampler.peak = before
    start = time.perf_counter()
    if op == "put":
        put()
    else:
        get()
    seconds = time.perf_counter() - start
    sampler.stop()
    peak = _status_bytes("VmHWM")
    if op == "get" and digest != expected.hexdigest():
        raise RuntimeError("the bytes read back differ from the bytes put")
    trove.close()
    return {
        "operation": op,
        "bytes": size,
        "rss_before": before,
        "peak_hwm": peak,
        "peak_sampled": sampler.peak,
        "growth": peak - before,
        "growth_sampled": sampler.peak - before,
        "seconds": seconds,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 5 or argv[0] != "probe" or argv[1] not in ("put", "get"):
        print("usage: python -m bench.middleware_format probe {put|get} SCRATCH ROOT SIZE", file=sys.stderr)
        return 2
    print(json.dumps(probe(argv[1], Path(argv[2]), Path(argv[3]), int(argv[4]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
