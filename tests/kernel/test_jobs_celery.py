"""The job path through Celery on a real Redis: publishing hands ingest to a worker."""

from __future__ import annotations

import os
import uuid

import pytest

from marketplace.app import create_app
from tests.catalog.helpers import create_dataset, create_version, ensure_licensed, upload_small, wait_while_processing
from tests.factories import bearer, make_tenant

REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.mark.postgres_only
def test_publish_runs_ingest_on_a_celery_worker(backend, make_settings):
    from celery.contrib.testing.worker import start_worker

    from marketplace.kernel import jobs_celery

    # A queue name of our own, so parallel runs on a shared Redis never steal each other's jobs.
    app = create_app(make_settings(backend, broker_url=REDIS))
    queue = app.extensions["jobs"]
    qname = f"marketplace-test-{uuid.uuid4().hex[:8]}"
    queue.celery.conf.task_default_queue = qname
    jobs_celery.FLASK_APP = app
    try:
        with app.app_context():
            client = app.test_client()
            t = make_tenant(vendor=True)
            key = t.keys["owner"]
            ds = create_dataset(client, key, visibility="draft")  # committed for real: keep it out of public search
            v = create_version(client, key, ds["id"])
            upload_small(client, key, v["id"], "a.jsonl", b'{"x": 1}\n{"x": 2}\n')
            ensure_licensed(client, key, v["id"])
            r = client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(key))
            assert r.status_code == 202 and r.json["status"] == "processing"  # not run inline
            with start_worker(queue.celery, queues=[qname], perform_ping_check=False, pool="solo", shutdown_timeout=10):
                status = wait_while_processing(client, key, v["id"], 30)
            assert status == "published"
            files = client.get(f"/api/v1/versions/{v['id']}/files", headers=bearer(key)).json
            assert files[0]["records"] == 2 and files[0]["status"] == "verified"
    finally:
        jobs_celery.FLASK_APP = None


def test_broker_down_keeps_state_and_publish_can_be_retried(backend, make_settings):
    app = create_app(make_settings(backend, broker_url="redis://127.0.0.1:9/0"))
    app.extensions["jobs"].celery.conf.broker_connection_timeout = 1
    app.extensions["jobs"].celery.conf.broker_transport_options = {"max_retries": 0}
    with app.app_context():
        client = app.test_client()
        t = make_tenant(vendor=True)
        key = t.keys["owner"]
        ds = create_dataset(client, key, visibility="draft")
        v = create_version(client, key, ds["id"])
        upload_small(client, key, v["id"], "a.jsonl", b'{"x": 1}\n')
        ensure_licensed(client, key, v["id"])
        r = client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(key))
        assert r.status_code == 202 and r.json["status"] == "processing"
        # still consistent: the version waits in processing, and asking again re-sends the job
        r = client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(key))
        assert r.status_code == 202 and r.json["status"] == "processing"
