"""`marketplace serve`: the product under gunicorn's threaded workers, started from the CLI.

Each worker builds its own app after the fork (no preloading), so no database connection ever
crosses a fork. When the deployment has no broker (`make run`), every worker starts the
periodic-jobs thread, and a file lock lets exactly one of them run the table at a time; if that
worker dies, another takes over at its next tick.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.app.base import BaseApplication

from marketplace.app.factory import create_app
from marketplace.app.gunicorn_conf import LIMIT_REQUEST_LINE
from marketplace.app.schedule import start_embedded
from marketplace.kernel import metrics
from marketplace.kernel.config import Settings


class WebServer(BaseApplication):
    """gunicorn, configured from a dict instead of its own command line."""

    def __init__(self, settings: Settings, options: dict[str, Any], *, periodic_lock: str | None):
        self.settings = settings
        self.options = options
        self.periodic_lock = periodic_lock
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        # gunicorn's largest request line (its default, 4094, turns a long but valid search URL into
        # its own HTML 414 before the app can answer with a problem).
        self.cfg.set("limit_request_line", LIMIT_REQUEST_LINE)
        # Every worker's metrics in one folder, added up at each scrape (set before any fork).
        metrics.use_multiprocess(os.path.join(self.settings.instance_path, "metrics"))
        self.cfg.set("child_exit", lambda _server, worker: metrics.process_exited(worker.pid))
        if self.periodic_lock:
            lock = self.periodic_lock
            self.cfg.set("post_worker_init", lambda worker: start_embedded(worker.wsgi, lock_path=lock))

    def load(self) -> Any:
        return create_app(self.settings)
