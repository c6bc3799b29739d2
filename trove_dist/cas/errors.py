"""Conditions particular to content-addressed storage (the rest are ``trove_dist.errors``)."""

from __future__ import annotations

from trove_dist.errors import NotFound, TroveError


class HashNotFound(NotFound):
    """No live content has this hash (never stored, or collected)."""

    def __init__(self, digest: str) -> None:
        super().__init__(f"no content with hash {digest}")
        self.digest = digest


class NoReferences(TroveError):
    """``release`` of content that holds no reference: releasing twice is a caller's bug that
    would otherwise free content someone else still uses."""

    def __init__(self, digest: str) -> None:
        super().__init__(f"content {digest} has no reference left to release")
        self.digest = digest


class IndexMismatch(TroveError, ValueError):
    """The index was created for another bucket or hash algorithm than the CAS opening it."""


class StoreContention(TroveError):
    """A store kept losing its claim to garbage collection (it ran longer than the grace period
    each time); nothing is left half-done, and the store can be retried."""
