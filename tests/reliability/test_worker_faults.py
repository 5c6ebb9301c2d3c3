"""A worker killed (SIGKILL, the whole process group) in the middle of an ingest: the job is
handed to another worker and runs again from the start; the result is the same as one clean run
(one publication, one blob, one audit event)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, func, select

from catalog.models import Blob, DatasetVersion
from marketplace.app import create_app
from marketplace.kernel.audit import AuditEvent
from tests.catalog.helpers import create_dataset, create_version, declare, ensure_licensed, put_part, wait_while_processing
from tests.conftest import create_pg_database, drop_pg_database
from tests.factories import bearer, make_tenant

pytestmark = pytest.mark.postgres_only
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([str(Path(sys.executable).with_name("marketplace")), "worker", "--concurrency=1"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_worker_killed_mid_ingest_the_job_is_redelivered_and_idempotent(backend, make_settings, pg_server_url, s3_endpoint, s3_bucket):
    import migrations

    name = f"mp_worker_{uuid.uuid4().hex[:8]}"
    url = create_pg_database(pg_server_url, name)
    migrations.upgrade(url)
    # A Redis database of our own: no other run's worker can take this job.
    base = REDIS.rsplit("/", 1)[0]
    broker = f"{base}/{(os.getpid() % 14) + 1}"
    redis.Redis.from_url(broker).flushdb()
    settings = make_settings(backend, database_url=url, broker_url=broker, job_redelivery_seconds=3)
    app = create_app(settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETPLACE_")}
    env.update(MARKETPLACE_DATABASE_URL=url, MARKETPLACE_STORAGE_URL=settings.storage_url, MARKETPLACE_BROKER_URL=broker,
               MARKETPLACE_SECRET_KEY=settings.secret_key, MARKETPLACE_INSTANCE_PATH=settings.instance_path, MARKETPLACE_JOB_REDELIVERY="3",
               MARKETPLACE_LOG_LEVEL="WARNING")
    first = second = None
    try:
        client = app.test_client()
        with app.app_context():
            t = make_tenant(vendor=True)
            app.extensions["db"].session.commit()
        key = t.keys["owner"]
        ds = create_dataset(client, key, visibility="draft")
        v = create_version(client, key, ds["id"])
        # ~135 MB, so that the streaming verification is still running when the worker dies
        chunk = b"".join(b'{"id": %d, "text": "%s"}\n' % (i, b"y" * 200) for i in range(40_000))
        parts = 16
        sha = hashlib.sha256()
        for _ in range(parts):
            sha.update(chunk)
        size = len(chunk) * parts
        f = declare(client, key, v["id"], "big.jsonl", b"", sha256=sha.hexdigest(), size=size).json
        part_size = max(5 * 1024 * 1024, -(-size // 4))
        plan = client.post(f"/api/v1/files/{f['id']}/multipart", json={"part_size": part_size}, headers=bearer(key)).json
        blob = chunk * parts
        etags = [{"part_number": p["part_number"], "etag": put_part(app, client, p["url"], blob[p["offset"]:p["offset"] + p["size"]])} for p in plan["parts"]]
        del blob
        assert client.post(f"/api/v1/files/{f['id']}/multipart/complete", json={"parts": etags}, headers=bearer(key)).status_code == 200
        ensure_licensed(client, key, v["id"])

        first = _worker(env)
        r = client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(key))
        assert r.status_code == 202 and r.json["status"] == "processing"
        rds = redis.Redis.from_url(broker)
        deadline = time.time() + 60
        while time.time() < deadline and not rds.hlen("unacked"):
            time.sleep(0.05)
        assert rds.hlen("unacked") == 1, "the worker never took the job"
        time.sleep(0.2)  # well inside the verification pass
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        db = create_engine(url)
        with db.connect() as c:
            assert c.execute(select(DatasetVersion.status).where(DatasetVersion.id == uuid.UUID(v["id"]))).scalar() == "processing"

        second = _worker(env)
        assert wait_while_processing(client, key, v["id"], 120) == "published"
        files = client.get(f"/api/v1/versions/{v['id']}/files", headers=bearer(key)).json
        assert files[0]["status"] == "verified" and files[0]["records"] == 40_000 * parts
        with db.connect() as c:
            assert c.execute(select(func.count()).select_from(Blob).where(Blob.sha256 == sha.hexdigest())).scalar() == 1
            assert c.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "version.publish",
                                                                                 AuditEvent.subject_id == v["id"])).scalar() == 1
        db.dispose()
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)
        app.extensions["db"].engine.dispose()
        drop_pg_database(pg_server_url, name)
