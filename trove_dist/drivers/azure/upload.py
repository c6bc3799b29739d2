"""Streaming a body into staged blocks with a bounded number in flight.

A put whose body outgrows one block is cut into blocks that are staged concurrently on a small
thread pool that lives only as long as the put; at most ``concurrency`` blocks are in flight and
one more is being filled, so memory is bounded by ``(concurrency + 1) * block size`` whatever
the body's length.  Nothing is visible until the caller commits the returned block ids; if the
body fails (a source error, a checksum mismatch raised at exhaustion) the staged blocks stay
uncommitted — invisible to get, head and list — and Azure discards them at the key's next
commit or after seven days.  They cannot be removed sooner without also discarding the blocks
of any other upload to the same key (see ``errors.BlocksDiscarded``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import cast

from azure.storage.blob import BlobClient

from trove_dist.drivers.azure.blocks import BlockSizer, data_block_id
from trove_dist.drivers.azure.errors import azure_errors


def fill_first_block(chunks: Iterator[bytes | memoryview], limit: int) -> tuple[bytearray, bool]:
    """Read up to ``limit + 1`` bytes: the body fits one Put Blob iff it ends within ``limit``.
    Returns the bytes read (a private copy) and whether the body is exhausted."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        if len(buffer) > limit:
            return buffer, False
    return buffer, True


def _blocks(chunks: Iterator[bytes | bytearray | memoryview], sizer: BlockSizer) -> Iterator[bytearray]:
    """The body as blocks of the sizes ``sizer`` prescribes.

    Each block is a fresh buffer filled by copying, so a caller's buffer reused between chunks
    is never sent, and a block handed out is never touched again here."""
    index = 0
    target = sizer.size_of(index)
    block = bytearray()
    for chunk in chunks:
        view = memoryview(chunk)
        offset = 0
        while offset < len(view):
            take = min(target - len(block), len(view) - offset)
            block += view[offset : offset + take]
            offset += take
            if len(block) == target:
                yield block
                block = bytearray()
                index += 1
                target = sizer.size_of(index)
        del view, chunk
    if block:
        yield block


def stage_stream(
    blob: BlobClient,
    *,
    bucket: str,
    key: str,
    token: str,
    chunks: Iterator[bytes | bytearray | memoryview],
    sizer: BlockSizer,
    concurrency: int,
) -> list[str]:
    """Stage the whole body as blocks of upload ``token``; return their ids in order.

    Raises whatever the body raises (after the blocks in flight have settled), or the first
    staging failure (without reading further)."""
    block_ids: list[str] = []
    in_flight: set[Future[None]] = set()
    slots = threading.BoundedSemaphore(concurrency)

    def stage(block_id: str, data: bytearray) -> None:
        try:
            with azure_errors("stage block", bucket=bucket, key=key):
                # The SDK sends any bytes-like body; its annotation names only ``bytes``.
                blob.stage_block(block_id, cast(bytes, data), length=len(data))
        finally:
            slots.release()

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="trove-azure-put") as pool:
        try:
            for number, block in enumerate(_blocks(chunks, sizer), start=1):
                _raise_first_failure(in_flight)
                slots.acquire()
                block_id = data_block_id(token, number)
                block_ids.append(block_id)
                in_flight.add(pool.submit(stage, block_id, block))
                del block  # the pool holds the only reference: freed as soon as it is sent
            while in_flight:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                in_flight -= done
                for future in done:
                    future.result()
        except BaseException:
            for future in in_flight:
                future.cancel()
            raise
    return block_ids


def _raise_first_failure(in_flight: set[Future[None]]) -> None:
    finished = {f for f in in_flight if f.done()}
    in_flight -= finished
    for future in finished:
        future.result()
