"""Prometheus metrics: the only module that imports prometheus_client.

What operators watch: request latency per endpoint (the route's rule, never the raw path, so
the number of series stays bounded), download authorisations by channel and outcome, quota
debits and the units they charged, bytes streamed through ingest, webhook failures, and the
audit log's seal lag (measured when scraped).

Under gunicorn several processes serve requests; each writes its samples to files in a shared
folder (prometheus-client's multiprocess mode) and a scrape adds them up. `use_multiprocess` must
run in the master before any worker forks and before any sample is recorded: every metric here
has labels, and a labelled metric makes its storage when a label set is first used.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from typing import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess, start_http_server, values
from prometheus_client.core import GaugeMetricFamily

from marketplace.kernel.errors import DomainError

CONTENT_TYPE = CONTENT_TYPE_LATEST

# One registry of our own (not the library's global one, which also collects process metrics
# that mean nothing summed over workers).
_REGISTRY = CollectorRegistry()

REQUEST_SECONDS = Histogram("marketplace_http_request_duration_seconds", "Time to answer a request, by route.",
                            ["method", "endpoint", "status"], registry=_REGISTRY,
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
AUTHORISATIONS = Counter("marketplace_download_authorisations_total", "Download authorisations, by channel and outcome (granted, or the refusal's HTTP status).",
                         ["channel", "outcome"], registry=_REGISTRY)
DEBITS = Counter("marketplace_quota_debits_total", "Quota debits committed, by pricing unit.", ["unit"], registry=_REGISTRY)
DEBITED = Counter("marketplace_quota_debited_units_total", "Units charged by committed debits (records, downloads, bytes), by pricing unit.", ["unit"], registry=_REGISTRY)
INGEST_BYTES = Counter("marketplace_ingest_bytes_total", "Bytes streamed through ingest (verification and analysis), by file format.", ["format"], registry=_REGISTRY)
WEBHOOK_FAILURES = Counter("marketplace_webhook_failures_total", "Webhook delivery attempts that failed, by reason (HTTP status class, timeout, refused...).",
                           ["reason"], registry=_REGISTRY)


@contextmanager
def authorisation(channel: str) -> Iterator[None]:
    """Count the authorisation the block makes: granted when it returns, the refusal's HTTP
    status when it raises a domain error (anything else is a 500, counted by the request)."""
    try:
        yield
    except DomainError as e:
        AUTHORISATIONS.labels(channel, str(e.status)).inc()
        raise
    AUTHORISATIONS.labels(channel, "granted").inc()


def use_multiprocess(directory: str) -> None:
    """Record samples in `directory`, shared by every worker process (emptied first: files left
    by an earlier run would be added to this one's)."""
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    values.ValueClass = values.MultiProcessValue()


def process_exited(pid: int) -> None:
    """gunicorn's child_exit hook: a dead worker's live gauges stop counting (counters stay)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)


class _Measured:
    """Gauges measured at scrape time (not stored: in multiprocess mode a stored gauge would be
    a file per process)."""

    def __init__(self, gauges: dict[str, tuple[str, float]]):
        self.gauges = gauges

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, (doc, value) in self.gauges.items():
            yield GaugeMetricFamily(name, doc, value=value)


def exposition(live: dict[str, tuple[str, float]] | None = None) -> bytes:
    """The text a scrape gets: every process's samples, plus `live` gauges (name -> (help,
    value)) measured now."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = _REGISTRY
    body = generate_latest(registry)
    if live:
        now = CollectorRegistry()
        now.register(_Measured(live))
        body += generate_latest(now)
    return body


def serve_for_worker(port: int, directory: str, host: str = "0.0.0.0") -> None:
    """A job worker's own /metrics on `port` (ingest and webhook attempts run there, not in the
    web processes). Its pool's processes fork from this one, so they share `directory`."""
    use_multiprocess(directory)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    start_http_server(port, addr=host, registry=registry)
