"""The streaming engine: chunked transfers with a state machine, backpressure, hooks and resume.

An upload stream's chunks go through the same three steps (``engine``) whether they run on the
embedded thread executor or on Celery workers (``trove_dist.dist``); the state store and the
staging area are interfaces with in-memory and Redis implementations.
"""

from __future__ import annotations

from dataclasses import dataclass

from trove_dist.stream.backpressure import Adaptive, Backpressure, Block, Buffer, Drop
from trove_dist.stream.download import DownloadStream
from trove_dist.stream.engine import Dispatcher, Runtime
from trove_dist.stream.executor import ThreadDispatcher
from trove_dist.stream.pool import ChunkPool
from trove_dist.stream.progress import Hooks, Progress
from trove_dist.stream.records import ObjectRef, StreamSpec, StreamStatus
from trove_dist.stream.state import StreamState
from trove_dist.stream.upload import StreamError, UploadStream


@dataclass
class StreamEngine:
    """Where streams' state lives and who runs their steps."""

    runtime: Runtime
    dispatcher: Dispatcher

    def close(self) -> None:
        close = getattr(self.dispatcher, "close", None)
        if close is not None:
            close()


__all__ = [
    "Adaptive",
    "Backpressure",
    "Block",
    "Buffer",
    "ChunkPool",
    "Dispatcher",
    "DownloadStream",
    "Drop",
    "Hooks",
    "ObjectRef",
    "Progress",
    "Runtime",
    "StreamEngine",
    "StreamError",
    "StreamSpec",
    "StreamState",
    "StreamStatus",
    "ThreadDispatcher",
    "UploadStream",
]
