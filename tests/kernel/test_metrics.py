"""GET /metrics: who may scrape it, and that each figure moves when (and only when) its event
happens: a request's latency by route, an authorisation by outcome, a committed debit, ingest
bytes, a failed webhook attempt, the seal lag."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from marketplace.app import create_app
from marketplace.auditlog.services import seal
from marketplace.kernel import metrics
from tests.delivery.helpers import authorize, buy
from tests.factories import bearer, make_tenant_rows

BIN = Path(sys.executable).parent


def samples(client, **kw) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics", **kw)
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert r.headers["Content-Type"].startswith("text/plain") and r.headers["Cache-Control"] == "no-store"
    out = {}
    for family in text_string_to_metric_families(r.get_data(as_text=True)):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(snap, name: str, **labels: str) -> float:
    return snap.get((name, tuple(sorted(labels.items()))), 0.0)


def test_only_loopback_may_scrape_without_a_token(client):
    assert client.get("/metrics").status_code == 200
    r = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "not-an-address"}).status_code == 404
    # a public request relayed by a reverse proxy on this host arrives from loopback: refused
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        assert client.get("/metrics", headers={header: "203.0.113.9"}).status_code == 404, header


def test_with_a_token_every_caller_needs_it(backend, make_settings):
    app = create_app(make_settings(backend, metrics_token="scrape-me-0123456789"))
    c = app.test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer scrape-me-0123456789x"}, {"Authorization": "scrape-me"}):
        assert c.get("/metrics", headers=headers).status_code == 404  # loopback is no excuse once a token is set
    r = c.get("/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"}, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert r.status_code == 200 and b"marketplace_audit_seal_lag_seconds" in r.data


def test_request_latency_is_by_route_not_by_path(client):
    before = samples(client)
    client.get("/api/v1/domains")
    client.get("/api/v1/datasets/00000000-0000-0000-0000-000000000000")
    client.get("/no/such/page/12345")
    client.open("/api/v1/domains", method="BREW")
    after = samples(client)
    assert value(after, "marketplace_http_request_duration_seconds_count", method="GET", endpoint="/api/v1/domains", status="200") \
        == value(before, "marketplace_http_request_duration_seconds_count", method="GET", endpoint="/api/v1/domains", status="200") + 1
    assert value(after, "marketplace_http_request_duration_seconds_count", method="GET", endpoint="/api/v1/datasets/<uuid:dataset_id>", status="404") >= 1
    assert value(after, "marketplace_http_request_duration_seconds_count", method="GET", endpoint="<unmatched>", status="404") >= 1
    assert value(after, "marketplace_http_request_duration_seconds_count", method="other", endpoint="<unmatched>", status="405") >= 1
    assert not [k for k in after if "12345" in str(k) or "BREW" in str(k)]  # a client cannot mint series


def test_authorisations_and_debits_count_what_happened(app, client):
    vendor, buyer = make_tenant_rows(vendor=True), make_tenant_rows()
    _, gid = buy(vendor, buyer, quantity=55)
    before = samples(client)
    assert authorize(client, buyer.keys["member"], gid).status_code == 200  # 30 + 20 + 1 records
    assert authorize(client, buyer.keys["member"], gid).status_code == 200  # the resume window: nothing charged again
    assert authorize(client, make_tenant_rows().keys["member"], gid).status_code == 404  # another tenant's grant
    after = samples(client)
    d = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    assert value(d, "marketplace_download_authorisations_total", channel="download", outcome="granted") == 2
    assert value(d, "marketplace_download_authorisations_total", channel="download", outcome="404") == 1
    assert value(d, "marketplace_quota_debits_total", unit="records") == 3  # one debit per file, once
    assert value(d, "marketplace_quota_debited_units_total", unit="records") == 51


def test_record_streaming_counts_as_its_own_channel(app, client):
    vendor, buyer = make_tenant_rows(vendor=True), make_tenant_rows()
    _, gid = buy(vendor, buyer)
    key = buyer.keys["member"]
    before = samples(client)
    assert client.get(f"/api/v1/grants/{gid}/records?path=train/a.jsonl&limit=5", headers=bearer(key)).status_code == 200
    assert client.get(f"/api/v1/grants/{gid}/records?path=nope.jsonl&limit=5", headers=bearer(key)).status_code == 400
    after = samples(client)
    assert value(after, "marketplace_download_authorisations_total", channel="records", outcome="granted") == \
        value(before, "marketplace_download_authorisations_total", channel="records", outcome="granted") + 1
    assert value(after, "marketplace_download_authorisations_total", channel="records", outcome="400") == \
        value(before, "marketplace_download_authorisations_total", channel="records", outcome="400") + 1
    assert value(after, "marketplace_quota_debited_units_total", unit="records") == value(before, "marketplace_quota_debited_units_total", unit="records") + 5


def test_a_refused_debit_counts_no_charge(app, client):
    vendor, buyer = make_tenant_rows(vendor=True), make_tenant_rows()
    _, gid = buy(vendor, buyer, quantity=40)  # the whole version is 51 records: all or nothing
    before = samples(client)
    assert authorize(client, buyer.keys["member"], gid).status_code == 402
    after = samples(client)
    assert value(after, "marketplace_download_authorisations_total", channel="download", outcome="402") == \
        value(before, "marketplace_download_authorisations_total", channel="download", outcome="402") + 1
    # the first files' debits rolled back with the refusal: nothing was charged, nothing is counted
    assert value(after, "marketplace_quota_debited_units_total", unit="records") == value(before, "marketplace_quota_debited_units_total", unit="records")


def test_seal_lag_is_measured_at_scrape(app, client):
    vendor, buyer = make_tenant_rows(vendor=True), make_tenant_rows()
    _, gid = buy(vendor, buyer)
    assert authorize(client, buyer.keys["member"], gid).status_code == 200  # audited
    snap = samples(client)
    assert value(snap, "marketplace_audit_unsealed_events") >= 1
    assert value(snap, "marketplace_audit_seal_lag_seconds") >= 0
    seal(grace_seconds=0)
    assert value(samples(client), "marketplace_audit_unsealed_events") == 0
    assert value(samples(client), "marketplace_audit_seal_lag_seconds") == 0


def test_ingest_bytes_and_webhook_failures_are_counted():
    """Directly on the counters the services use: their call sites run in jobs whose own tests
    cover them; what this checks is that the figures reach the exposition."""
    before = metrics.exposition()
    metrics.INGEST_BYTES.labels("jsonl").inc(1234)
    metrics.WEBHOOK_FAILURES.labels("timed_out").inc()
    after = metrics.exposition().decode()
    assert 'marketplace_ingest_bytes_total{format="jsonl"}' in after and 'marketplace_webhook_failures_total{reason="timed_out"}' in after
    assert before != after.encode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.postgres_only
def test_a_worker_serves_its_own_metrics(tmp_path, database_urls):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETPLACE_")}
    env.update(MARKETPLACE_INSTANCE_PATH=str(tmp_path), MARKETPLACE_BROKER_URL="redis://127.0.0.1:6379/13",  # a database no test sends jobs to
               MARKETPLACE_DATABASE_URL=database_urls["postgresql"], MARKETPLACE_LOG_LEVEL="WARNING")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen([str(BIN / "marketplace"), "worker", "--concurrency", "1", "--metrics-port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                r = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
                break
            except requests.ConnectionError:
                assert time.time() < deadline and proc.poll() is None, "the worker's metrics never came up"
                time.sleep(0.2)
        assert r.status_code == 200 and (tmp_path / "metrics-worker").is_dir()
    finally:
        proc.terminate()
        proc.wait(20)
