"""The Celery application: queues, routing and the settings long chunk tasks need.

Queues: ``middleware`` runs transforms (CPU: compression, encryption), ``writer`` uploads parts
and finalises (I/O), ``maintenance`` runs scheduled jobs.  Settings follow what was verified on
this stack: late acknowledgement *and* reject-on-worker-lost (a killed worker's task is
redelivered), prefetch of one, a visibility timeout longer than any task, no result storage for
data tasks — and every task idempotent, because the Redis broker does deliver twice.
"""

from __future__ import annotations

from celery import Celery
from kombu import Queue  # type: ignore[attr-defined]

from trove_dist.dist.config import DistConfig

TRANSFORM = "trove.transform"
WRITE = "trove.write"
FINALIZE = "trove.finalize"


def create_app(config: DistConfig) -> Celery:
    if config.broker_url is None:
        raise RuntimeError("TROVE_BROKER_URL is not set: without a broker the embedded executor runs streams")
    app = Celery("trove_dist", broker=config.broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        result_expires=3600,
        broker_transport_options={"visibility_timeout": config.visibility_timeout},
        broker_connection_retry_on_startup=True,
        task_default_queue="maintenance",
        task_queues=[Queue(name) for name in ("middleware", "writer", "maintenance")],  # type: ignore[no-untyped-call]
        task_routes={TRANSFORM: {"queue": "middleware"}, WRITE: {"queue": "writer"}, FINALIZE: {"queue": "writer"}},
        task_serializer="json",
        accept_content=["json"],
        worker_send_task_events=True,
        task_send_sent_event=True,
    )
    app.conf.trove = config  # the tasks read it to build each worker's runtime
    return app
