"""Scopes: when a registered middleware applies.

``ForBuckets("a", "b")``, ``ForKeys("*.jpg", "docs/**")`` (globs as in ``trove_dist.glob``),
``ForContentTypes("image/*", "application/pdf")`` (real MIME matching: type/subtype,
case-insensitive, parameters ignored), ``When(predicate)`` on the operation, combined with
``And``, ``Or`` and ``Not``.  A scope with no arguments to narrow it is ``Global()``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from trove_dist.glob import compile_glob
from trove_dist.middleware.context import Operation


class Scope(ABC):
    @abstractmethod
    def matches(self, op: Operation) -> bool: ...

    #: Whether the result can depend on the ambient context (then resolution caches per context).
    uses_context: bool = False

    def __and__(self, other: Scope) -> Scope:
        return And(self, other)

    def __or__(self, other: Scope) -> Scope:
        return Or(self, other)

    def __invert__(self) -> Scope:
        return Not(self)


class Global(Scope):
    def matches(self, op: Operation) -> bool:
        return True

    def __repr__(self) -> str:
        return "Global()"


class ForBuckets(Scope):
    def __init__(self, *buckets: str) -> None:
        if not buckets:
            raise ValueError("ForBuckets needs at least one bucket")
        self.buckets = frozenset(buckets)

    def matches(self, op: Operation) -> bool:
        return op.bucket in self.buckets

    def __repr__(self) -> str:
        return f"ForBuckets({', '.join(sorted(self.buckets))})"


class ForKeys(Scope):
    def __init__(self, *patterns: str) -> None:
        if not patterns:
            raise ValueError("ForKeys needs at least one pattern")
        self.patterns = patterns
        self._compiled = [compile_glob(p) for p in patterns]

    def matches(self, op: Operation) -> bool:
        return any(c.match(op.key) for c in self._compiled)

    def __repr__(self) -> str:
        return f"ForKeys({', '.join(self.patterns)})"


@dataclass(frozen=True, slots=True)
class _MimePattern:
    type: str
    subtype: str

    def matches(self, mime: str) -> bool:
        kind, _, sub = mime.partition("/")
        return (self.type == "*" or self.type == kind) and (self.subtype == "*" or self.subtype == sub)


def _parse_mime(value: str) -> tuple[str, str] | None:
    essence = value.split(";", 1)[0].strip().lower()
    kind, sep, sub = essence.partition("/")
    if not sep or not kind or not sub:
        return None
    return kind, sub


class ForContentTypes(Scope):
    def __init__(self, *patterns: str) -> None:
        if not patterns:
            raise ValueError("ForContentTypes needs at least one pattern")
        parsed = []
        for pattern in patterns:
            mime = _parse_mime(pattern)
            if mime is None:
                raise ValueError(f"{pattern!r} is not a MIME type pattern like 'image/*' or 'text/plain'")
            parsed.append(_MimePattern(*mime))
        self.patterns = patterns
        self._parsed = parsed

    def matches(self, op: Operation) -> bool:
        if not op.content_type:
            return False
        mime = _parse_mime(op.content_type)
        return mime is not None and any(p.matches(f"{mime[0]}/{mime[1]}") for p in self._parsed)

    def __repr__(self) -> str:
        return f"ForContentTypes({', '.join(self.patterns)})"


class When(Scope):
    """A predicate on the whole operation, ambient context included."""

    uses_context = True

    def __init__(self, predicate: Callable[[Operation], bool]) -> None:
        self.predicate = predicate

    def matches(self, op: Operation) -> bool:
        return bool(self.predicate(op))

    def __repr__(self) -> str:
        return f"When({getattr(self.predicate, '__name__', 'predicate')})"


class And(Scope):
    def __init__(self, *scopes: Scope) -> None:
        self.scopes = scopes
        self.uses_context = any(s.uses_context for s in scopes)

    def matches(self, op: Operation) -> bool:
        return all(s.matches(op) for s in self.scopes)

    def __repr__(self) -> str:
        return f"And({', '.join(map(repr, self.scopes))})"


class Or(Scope):
    def __init__(self, *scopes: Scope) -> None:
        self.scopes = scopes
        self.uses_context = any(s.uses_context for s in scopes)

    def matches(self, op: Operation) -> bool:
        return any(s.matches(op) for s in self.scopes)

    def __repr__(self) -> str:
        return f"Or({', '.join(map(repr, self.scopes))})"


class Not(Scope):
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.uses_context = scope.uses_context

    def matches(self, op: Operation) -> bool:
        return not self.scope.matches(op)

    def __repr__(self) -> str:
        return f"Not({self.scope!r})"
