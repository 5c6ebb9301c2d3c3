"""Celery adapter of the job port, on Redis (or any Celery broker). The only module that imports
celery.

Delivery is at-least-once: tasks are acknowledged after they finish (acks_late) and re-queued
if the worker dies (reject_on_worker_lost), which is safe because every job is idempotent.
A job that fails because an external system is down is retried with backoff.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from celery import Celery

from marketplace.kernel.errors import DependencyUnavailable
from marketplace.kernel.jobs import registered

log = logging.getLogger(__name__)

# The Flask app a worker runs jobs in: built once per worker process by the factory the worker
# command names (the kernel cannot import the app), or set by whoever embeds a worker (tests).
APP_FACTORY: Callable[[], Any] | None = None
FLASK_APP: Any = None


def _flask_app() -> Any:
    global FLASK_APP
    if FLASK_APP is None:
        if APP_FACTORY is None:
            raise RuntimeError("no application factory: start workers with `marketplace worker`")
        FLASK_APP = APP_FACTORY()
    return FLASK_APP


def make_celery(broker_url: str, *, redelivery_seconds: int = 6 * 3600, schedule: dict[str, int] | None = None) -> Celery:
    """The Celery app of the job port. `schedule` (job name -> seconds) is what `marketplace beat`
    sends: each entry expires after one interval, so a beat that ran while every worker was down
    leaves one pending run per job, not a backlog."""
    app = Celery("marketplace", broker=broker_url)
    app.conf.update(
        # A worker killed mid-job never acknowledges it; Redis hands the job to another worker
        # once this much time has passed. It must exceed the longest job, or a slow but alive
        # worker's job would run twice at once (harmless, since jobs are idempotent, but wasteful).
        # Workers sweep for such jobs every few seconds (kombu's default is every ~100 s).
        broker_transport_options={"visibility_timeout": redelivery_seconds, "unacked_restore_interval": max(1, min(60, redelivery_seconds // 3)),
                                  "unacked_restore_throttle": 1},
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="marketplace",
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        accept_content=["json"],
        beat_schedule={name: {"task": "marketplace.run_job", "schedule": float(every), "args": (name, {}),
                              "options": {"expires": float(every)}}
                       for name, every in (schedule or {}).items()},
    )

    @app.task(name="marketplace.run_job", bind=True, autoretry_for=(DependencyUnavailable,), retry_backoff=True, retry_backoff_max=300, max_retries=20)
    def run_job(self: Any, name: str, kwargs: dict[str, Any]) -> Any:
        flask_app = _flask_app()
        with flask_app.app_context():
            try:
                return registered(name)(**kwargs)
            finally:
                flask_app.extensions["db"].remove()

    return app


class CeleryJobQueue:
    """Sends jobs to Celery workers (`marketplace worker`)."""

    def __init__(self, broker_url: str, *, redelivery_seconds: int = 6 * 3600):
        self.celery = make_celery(broker_url, redelivery_seconds=redelivery_seconds)

    def enqueue(self, name: str, **kwargs: Any) -> None:
        try:
            self.celery.send_task("marketplace.run_job", args=[name, kwargs])
        except Exception as e:  # kombu raises several types when the broker is down
            # Called after commit: the state is consistent (the version stays in processing)
            # and the job can be re-sent; say so loudly.
            log.error("could not enqueue job", extra={"job": name, "error": type(e).__name__})
            raise DependencyUnavailable("The job queue is unavailable; the work is recorded and will be retried.") from None
