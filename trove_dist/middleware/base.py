"""What a middleware is.

Two kinds, because content transforms come in two shapes:

* ``ChunkMiddleware`` transforms each chunk on its own (compression, encryption).  Chunks are
  independent, so the same code runs in-process or in a Celery worker, frames can be produced
  in parallel, and a range read decodes only the frames it needs.  The transforms applied to an
  object are recorded in its framed header (``trove_dist.format``), so a reader can decode it
  without being told how it was written.
* ``ObjectMiddleware`` sees the whole object in order (virus scanning, watermarking).  It may
  adjust metadata before the write starts and wrap the stream of chunks; raising from the
  stream aborts the write before anything becomes visible.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from trove_dist.format.codec import ChunkCodec
from trove_dist.format.header import Header
from trove_dist.middleware.context import Direction, Operation

Params = Mapping[str, Any]


class Middleware:
    #: A short name for logs and ``repr``.
    name: ClassVar[str] = "middleware"
    #: The data paths this middleware takes part in.
    direction: ClassVar[Direction] = Direction.READ_WRITE

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class ChunkMiddleware(Middleware):
    #: The identifier written into framed headers; it selects the decoder when reading.
    transform: ClassVar[str]

    def applies_to(self, op: Operation) -> bool:
        """Whether to transform this object at all (e.g. skip already-compressed formats)."""
        return True

    @abstractmethod
    def start_write(self, op: Operation, header: Header) -> tuple[ChunkCodec, Params]:
        """Begin one object: a codec, and the JSON-serialisable parameters to record in the
        header.  ``header.binding`` identifies the object; ``header.chunk_size`` bounds chunks."""

    @abstractmethod
    def start_read(self, params: Params, header: Header) -> ChunkCodec:
        """A codec for an object whose header recorded ``params``."""


class ObjectMiddleware(Middleware):
    direction: ClassVar[Direction] = Direction.WRITE

    def prepare_write(self, op: Operation, metadata: dict[str, str]) -> None:
        """Adjust the metadata before anything is written."""

    def wrap_write(self, op: Operation, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """Observe or rewrite the plaintext stream; raise to refuse the object."""
        return chunks
