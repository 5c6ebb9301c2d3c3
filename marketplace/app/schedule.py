"""The product's periodic work, in one table.

The same table drives both ways the product runs:
- in production, `marketplace beat` (Celery beat) sends each entry to the job queue at its
  interval, and `marketplace worker` runs it;
- under `make run` (no broker), `marketplace serve` runs the entries itself from one background
  thread in the server's master process.

Every entry is an idempotent, registered job: a beat that fires twice, a worker that dies midway
or two sealers at once cost time, never correctness (each service takes its own locks or
de-duplicates its announcements).
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from flask import Flask

from catalog.services.access import warn_overdue
from catalog.services.uploads import abort_stale_uploads
from marketplace.auditlog.services import seal
from marketplace.commerce.services import expire_grants, warn_expiring_grants
from marketplace.kernel.jobs import job
from marketplace.notifications.services.dispatch import send_digests, sweep

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    """One entry: the job's registered name, how often it runs, and what it does."""

    name: str
    every_seconds: int
    run: Callable[[], Any]
    why: str


def _seal() -> int:
    return len(seal())


SCHEDULE: tuple[Periodic, ...] = (
    Periodic("periodic.audit.seal", 30, _seal, "seal new audit events into signed Merkle blocks (the seal lag a compliance officer sees)"),
    Periodic("periodic.notifications.sweep", 60, sweep, "fan out lost announcements, make due webhook retries, retry failed e-mails"),
    Periodic("periodic.grants.expire", 300, expire_grants, "mark grants past their term as expired"),
    Periodic("periodic.grants.warn-expiring", 3600, warn_expiring_grants, "tell holders of grants ending within 7 days (once per expiry date)"),
    Periodic("periodic.access.warn-overdue", 3600, warn_overdue, "tell vendors about access requests waiting past their response time (once each)"),
    Periodic("periodic.uploads.abort-stale", 3600, abort_stale_uploads, "abort multipart uploads no file waits for any more"),
    Periodic("periodic.notifications.digests", 86400, send_digests, "send each user who chose a digest one e-mail with what is pending"),
)

for _entry in SCHEDULE:
    job(_entry.name)(_entry.run)


def beat_schedule() -> dict[str, int]:
    """The table as Celery beat needs it: job name -> interval in seconds."""
    return {p.name: p.every_seconds for p in SCHEDULE}


def run_due(app: Flask, last_run: dict[str, float], now: float) -> list[str]:
    """Run every entry whose interval has passed since it last ran (each in its own app context,
    a failure logged and the others still run). Returns the names that ran."""
    ran = []
    for p in SCHEDULE:
        if now - last_run.get(p.name, float("-inf")) < p.every_seconds:
            continue
        last_run[p.name] = now
        try:
            with app.app_context():
                try:
                    p.run()
                finally:
                    app.extensions["db"].remove()
        except Exception:
            log.exception("periodic job failed; it runs again at its next interval", extra={"job": p.name})
        ran.append(p.name)
    return ran


def start_embedded(app: Flask, *, lock_path: str, tick_seconds: float = 5.0, first_delay: float = 5.0,
                   stop: threading.Event | None = None) -> threading.Thread:
    """Run the table from a daemon thread (the embedded default has no beat). Several processes
    may call this; the one holding the lock file runs the table, the others wait to take over.
    Each entry runs once shortly after start, then at its interval, until `stop` is set."""
    stopped = stop or threading.Event()

    def loop() -> None:
        last: dict[str, float] = {}
        if stopped.wait(first_delay):
            return
        with open(lock_path, "a+b") as handle:  # closing it (or dying) releases the lock
            held = False
            while not stopped.is_set():
                if not held:
                    try:
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        held = True
                    except OSError:
                        pass  # another process runs the table
                if held:
                    run_due(app, last, time.monotonic())
                stopped.wait(tick_seconds)

    t = threading.Thread(target=loop, name="periodic-jobs", daemon=True)
    t.start()
    return t
