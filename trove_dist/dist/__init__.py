"""The distributed pipeline: Celery workers, Redis state and staging (see DESIGN.md §3, §5).

The library never imports this package; this package uses the library.  A producer connects a
``Trove`` to the workers with ``connect(trove)``; from then on ``trove.stream(...)`` hands every
chunk to the ``middleware`` and ``writer`` queues instead of the embedded thread executor.
"""

from __future__ import annotations

from trove_dist.dist.config import DistConfig
from trove_dist.stream import StreamEngine
from trove_dist.trove import Trove


def connect(trove: Trove, config: DistConfig | None = None) -> StreamEngine:
    """Run ``trove``'s streams on the workers named by ``config`` (default: the environment)."""
    from trove_dist.dist.app import create_app
    from trove_dist.dist.tasks import CeleryDispatcher, build_runtime, register_tasks

    config = config or DistConfig.from_env()
    app = create_app(config)
    register_tasks(app)
    engine = StreamEngine(build_runtime(config, trove), CeleryDispatcher(app))
    trove.set_stream_engine(engine)
    return engine


__all__ = ["DistConfig", "connect"]
