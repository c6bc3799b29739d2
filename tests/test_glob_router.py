"""Glob semantics and route resolution order."""

from __future__ import annotations

import pytest

from trove_dist.errors import BackendNotFound
from trove_dist.glob import glob_match
from trove_dist.router import Router


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("*.log", "c.log", True),
        ("*.log", "a/b/c.log", True),
        ("*.log", "c.logx", False),
        ("*.log", "a.log/b", False),
        ("tmp/*", "tmp/x", True),
        ("tmp/*", "tmp/x/y", False),
        ("tmp/*", "a/tmp/x", False),
        ("tmp/**", "tmp/x/y", True),
        ("**/x", "x", True),
        ("**/x", "a/b/x", True),
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b", True),
        ("a/**/b", "a/x/y/c", False),
        ("?.txt", "a.txt", True),
        ("?.txt", "ab.txt", False),
        ("[ab].txt", "b.txt", True),
        ("[!ab].txt", "a.txt", False),
        ("[!ab].txt", "c.txt", True),
        ("report (1).pdf", "x/report (1).pdf", True),
        ("a+b.*", "a+b.c", True),
        ("/anchored.txt", "anchored.txt", True),
    ],
)
def test_glob(pattern: str, key: str, expected: bool) -> None:
    assert glob_match(pattern, key) is expected


def test_empty_pattern_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        glob_match("", "x")


def test_route_priority_functions_then_globs_then_default() -> None:
    router = Router(["default", "archive", "cache", "compliance"])
    router.add_route("*.log", "archive")
    router.add_route("tmp/*", "cache")
    router.add_route("*.tmp", "archive")  # a later route loses to an earlier one
    router.add_route_func(lambda bucket, key: "compliance" if bucket == "legal" else None)
    assert router.resolve("b", "x/y.log") == "archive"
    assert router.resolve("b", "tmp/a.tmp") == "cache"
    assert router.resolve("b", "x.txt") == "default"
    assert router.resolve("legal", "x/y.log") == "compliance"


def test_unknown_backend_refused_at_configuration_and_from_functions() -> None:
    router = Router(["default"])
    with pytest.raises(BackendNotFound):
        router.add_route("*.log", "nowhere")
    router.add_route_func(lambda bucket, key: "nowhere")
    with pytest.raises(BackendNotFound):
        router.resolve("b", "k")
    with pytest.raises(BackendNotFound):
        Router(["a"], default="default")
