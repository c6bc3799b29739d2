"""The operation a middleware is resolved for, and the caller's ambient context.

Scopes decide per operation whether a middleware applies.  Besides bucket, key and content
type, a scope may look at values the application sets for the duration of a block — a tenant,
a request id — through a ``contextvars`` variable, so the values follow threads and asyncio
tasks without being passed through every call:

    with operation_context(tenant="acme"):
        trove.put("uploads", "a.pdf", data)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import Flag
from types import MappingProxyType


class Direction(Flag):
    READ = 1
    WRITE = 2
    READ_WRITE = READ | WRITE


_EMPTY: Mapping[str, object] = MappingProxyType({})
_context: ContextVar[Mapping[str, object]] = ContextVar("trove_operation_context", default=_EMPTY)


def current_context() -> Mapping[str, object]:
    return _context.get()


@contextlib.contextmanager
def operation_context(**values: object) -> Iterator[Mapping[str, object]]:
    """Add ``values`` to the ambient context for the block (nested blocks layer on top)."""
    merged = MappingProxyType({**_context.get(), **values})
    token = _context.set(merged)
    try:
        yield merged
    finally:
        _context.reset(token)


@dataclass(frozen=True, slots=True)
class Operation:
    """What a scope is matched against."""

    direction: Direction
    bucket: str
    key: str
    content_type: str | None = None
    context: Mapping[str, object] = field(default_factory=lambda: _EMPTY)
