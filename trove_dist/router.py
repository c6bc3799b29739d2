"""Which backend serves a (bucket, key): route functions, then glob routes, then the default.

Route functions come first because they can express anything (a tenant table, a size policy);
globs cover the common declarative cases (``*.log`` to an archive); the default catches the rest.
A function returns a backend name, or ``None`` to fall through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from trove_dist.errors import BackendNotFound
from trove_dist.glob import compile_glob

RouteFunc = Callable[[str, str], str | None]
DEFAULT_BACKEND = "default"


class Router:
    def __init__(self, backends: Iterable[str], default: str = DEFAULT_BACKEND) -> None:
        self._backends = set(backends)
        if default not in self._backends:
            raise BackendNotFound(default)
        self.default = default
        self._patterns: list[tuple[str, str]] = []
        self._functions: list[RouteFunc] = []

    def add_route(self, pattern: str, backend: str) -> None:
        """Send keys matching ``pattern`` (see ``trove_dist.glob``) to ``backend``; earlier
        routes win over later ones."""
        self._require(backend)
        compile_glob(pattern)  # fail now on a malformed pattern, not on the first put
        self._patterns.append((pattern, backend))

    def add_route_func(self, function: RouteFunc) -> None:
        self._functions.append(function)

    @property
    def routes(self) -> list[tuple[str, str]]:
        return list(self._patterns)

    @property
    def has_routes(self) -> bool:
        return bool(self._patterns or self._functions)

    def resolve(self, bucket: str, key: str) -> str:
        for function in self._functions:
            name = function(bucket, key)
            if name:
                return self._require(name)
        for pattern, backend in self._patterns:
            if compile_glob(pattern).match(key):
                return backend
        return self.default

    def _require(self, name: str) -> str:
        if name not in self._backends:
            raise BackendNotFound(name)
        return name
