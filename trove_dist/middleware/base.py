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
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any, ClassVar

from trove_dist.driver.models import ObjectInfo
from trove_dist.driver.reader import ObjectReader
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

    # A middleware that stores content in a form of its own (a dedup manifest) marks the object
    # in its metadata and implements the three hooks below; the pipeline calls them for objects
    # the middleware ``claims``.

    #: Set to True by a middleware whose objects hold references that must be released when the
    #: object is deleted or overwritten (the pipeline then looks at the old object first).
    tracks_lifecycle: ClassVar[bool] = False

    def claims(self, info: ObjectInfo) -> bool:
        """Whether ``info`` (as stored, reserved metadata included) is in this middleware's form."""
        return False

    def open_read(
        self, op: Operation, info: ObjectInfo, stored: ObjectReader, offset: int, length: int | None
    ) -> IO[bytes]:
        """The plaintext (or the range of it) of a claimed object; ``stored`` reads its stored
        form from the start.  Returns a readable binary stream."""
        raise TypeError(f"{type(self).__name__} claims objects but does not implement open_read")

    def logical_size(self, info: ObjectInfo, stored: Callable[[], ObjectReader]) -> int:
        """The plaintext size of a claimed object.  ``stored`` opens its stored form (decoded,
        from the start) for a middleware that keeps the size there: metadata is fixed before
        the content streams, so it cannot hold a size learnt while writing."""
        return info.size

    def released(self, op: Operation, info: ObjectInfo) -> None:
        """A claimed object was deleted or overwritten: drop what it referenced."""
