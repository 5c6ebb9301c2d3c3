"""gunicorn settings for the image and the benchmarks: `gunicorn -c python:marketplace.app.gunicorn_conf 'marketplace.app:create_app()'`.

gunicorn names itself and its version in every `Server:` header; a banner tells an attacker
which advisories to try, so it says only "marketplace".

With PROMETHEUS_MULTIPROC_DIR set (the image sets it), every worker's metrics go to files in that
folder, emptied when the server starts, and a scrape of /metrics adds them up."""

import os
from typing import Any

import gunicorn.http.wsgi

from marketplace.kernel import metrics

gunicorn.http.wsgi.SERVER = "marketplace"

# The largest request line gunicorn takes (its maximum; its default of 4094 answers a long but
# valid search URL with its own HTML 414 before the app can answer).
LIMIT_REQUEST_LINE = 8190
limit_request_line = LIMIT_REQUEST_LINE


def on_starting(_server: Any) -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        metrics.use_multiprocess(folder)


def child_exit(_server: Any, worker: Any) -> None:
    metrics.process_exited(worker.pid)
