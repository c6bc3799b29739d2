"""The Celery entry point for worker processes: ``celery -A trove_dist.dist.worker worker -Q …``."""

from __future__ import annotations

from trove_dist.dist.app import create_app
from trove_dist.dist.config import DistConfig
from trove_dist.dist.maintenance import register_maintenance
from trove_dist.dist.tasks import register_tasks

app = create_app(DistConfig.from_env())
register_tasks(app)
register_maintenance(app)
