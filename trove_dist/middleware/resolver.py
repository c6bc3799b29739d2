"""Assemble the pipeline for one operation, with a true LRU cache of resolved pipelines.

Resolution filters the registrations by direction and scope, then sorts by priority and then
registration order.  The read pipeline is the write order reversed, so a read undoes exactly
what a write did.  The cache key holds everything a scope can look at — direction, bucket, key,
content type and, when any registered scope reads it, the ambient context — plus a version that
every ``add``/``remove`` bumps, so a cached pipeline is never served to an operation it was not
resolved for.  Scope predicates must therefore be pure functions of the operation.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable

from trove_dist.middleware.base import Middleware
from trove_dist.middleware.context import Direction, Operation
from trove_dist.middleware.registration import Registration

Pipeline = tuple[Registration, ...]


class Resolver:
    def __init__(self, registrations: Iterable[Registration] = (), *, cache_size: int = 1024) -> None:
        if cache_size < 0:
            raise ValueError("cache_size must not be negative")
        self._lock = threading.Lock()
        self._registrations: list[Registration] = []
        self._version = 0
        self._cache: OrderedDict[Hashable, Pipeline] = OrderedDict()
        self._cache_size = cache_size
        self.hits = 0
        self.misses = 0
        for registration in registrations:
            self.add(registration)

    @property
    def registrations(self) -> list[Registration]:
        with self._lock:
            return list(self._registrations)

    def add(self, registration: Registration) -> Registration:
        with self._lock:
            self._registrations.append(registration)
            self._invalidate()
        return registration

    def remove(self, target: Registration | Middleware) -> int:
        """Remove a registration, or every registration of a middleware; returns how many."""
        with self._lock:
            before = len(self._registrations)
            self._registrations = [
                r for r in self._registrations if r is not target and r.middleware is not target
            ]
            removed = before - len(self._registrations)
            if removed:
                self._invalidate()
            return removed

    def _invalidate(self) -> None:
        self._version += 1
        self._cache.clear()

    def resolve(self, op: Operation) -> Pipeline:
        """The registrations that apply to ``op`` in the order they run for its direction."""
        with self._lock:
            registrations = self._registrations
            version = self._version
        key = self._cache_key(op, registrations, version)
        if key is not None:
            with self._lock:
                cached = self._cache.get(key)
                if cached is not None:
                    self._cache.move_to_end(key)
                    self.hits += 1
                    return cached
        pipeline = self._compute(op, registrations)
        with self._lock:
            self.misses += 1
            if key is not None and self._cache_size and version == self._version:
                self._cache[key] = pipeline
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return pipeline

    @staticmethod
    def _cache_key(op: Operation, registrations: list[Registration], version: int) -> Hashable | None:
        context: Hashable = None
        if any(r.scope.uses_context for r in registrations):
            try:
                context = frozenset(op.context.items())
                hash(context)
            except TypeError:
                return None  # unhashable context values: resolve every time rather than guess
        return (version, op.direction, op.bucket, op.key, op.content_type, context)

    @staticmethod
    def _compute(op: Operation, registrations: list[Registration]) -> Pipeline:
        wanted = Direction.WRITE if op.direction & Direction.WRITE else Direction.READ
        ordered = sorted(
            (
                (r.priority, position, r)
                for position, r in enumerate(registrations)
                if r.effective_direction & wanted and r.scope.matches(op)
            ),
            key=lambda item: (item[0], item[1]),
        )
        pipeline = tuple(r for _, _, r in ordered)
        return pipeline if wanted == Direction.WRITE else tuple(reversed(pipeline))
