"""Celery entry point for workers that run migrations as well as chunk streams:
``celery -A trove_dist.migrate.worker worker -Q middleware,writer``.

It is ``trove_dist.dist.worker``'s application with the migration tasks registered too, and one
broker setting more: kombu looks for unacknowledged messages to restore (those of a killed
worker) only on every tenth of its 10-second checks, so a killed worker's tasks came back up to
100 s after their visibility timeout; checking every time brings that down to 10 s.
"""

from __future__ import annotations

from trove_dist.dist.worker import app
from trove_dist.migrate.tasks import register_migration_tasks

register_migration_tasks(app)
app.conf.broker_transport_options = {**app.conf.broker_transport_options, "unacked_restore_throttle": 1}

__all__ = ["app"]
