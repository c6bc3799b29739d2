"""The workers' ``TROVE_CONFIG`` in the migration tests: the migration workers' own factory,
plus the test-only ``flaky://`` destination (registered before any task opens a store)."""

from __future__ import annotations

from tests.migrate.flaky import register_scheme
from trove_dist.migrate.transforms import make_worker_trove
from trove_dist.trove import Trove


def make_trove() -> Trove:
    register_scheme()
    return make_worker_trove()
