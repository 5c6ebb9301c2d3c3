"""The background-job port. Inline by default (the job runs after the request's commit, in the
same process); a Celery adapter on Redis is used when MARKETPLACE_BROKER_URL is set.

Jobs are plain functions registered by name and must be idempotent: a worker can die midway and
the job will run again.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Protocol

from flask import current_app

log = logging.getLogger(__name__)

_REGISTRY: dict[str, Callable[..., Any]] = {}


def job(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register an idempotent job function under a stable name."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        _REGISTRY[name] = fn
        return fn

    return deco


def registered(name: str) -> Callable[..., Any]:
    return _REGISTRY[name]


class JobQueue(Protocol):
    def enqueue(self, name: str, **kwargs: Any) -> None: ...


class InlineJobQueue:
    """Runs the job at once, in this process, inside the current app context."""

    def enqueue(self, name: str, **kwargs: Any) -> None:
        registered(name)(**kwargs)


def job_queue() -> JobQueue:
    """The job queue the running app was wired with (inline, or Celery on Redis)."""
    return current_app.extensions["jobs"]
