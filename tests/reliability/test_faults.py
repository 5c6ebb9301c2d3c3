"""Fault injection: the object store goes down during upload, complete and ingest (a TCP proxy in
front of the S3 server is switched off for real). Each case gives the caller a clear 503
problem+json, leaves nothing half-written, and reaches a consistent state once the store is back."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from catalog.models import FileStatus, VersionFile
from marketplace.app import create_app
from marketplace.kernel.audit import AuditEvent
from marketplace.kernel.db import get_session
from tests.catalog.helpers import create_dataset, create_version, declare, ensure_licensed, put_part
from tests.conftest import isolated
from tests.factories import bearer, make_tenant
from tests.fakes.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres_only

_apps: dict[str, object] = {}


@pytest.fixture(scope="module")
def proxy(s3_endpoint):
    u = urlparse(s3_endpoint)
    p = TcpProxy(u.hostname, u.port)
    yield p
    p.close()


@pytest.fixture
def flaky(backend, make_settings, s3_bucket, proxy):
    """An app whose object store sits behind the switchable proxy."""
    if backend not in _apps:
        _apps[backend] = create_app(make_settings(backend, storage_url=f"s3://{s3_bucket}?endpoint_url={proxy.url}&region=us-east-1"))
    proxy.restore()
    with isolated(_apps[backend]) as a:
        yield a, a.test_client(), proxy
    proxy.restore()


def _unavailable(r) -> None:
    assert r.status_code == 503, (r.status_code, r.get_data(as_text=True)[:500])
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json["type"].endswith("storage-unavailable") and r.json["detail"]


def _file(file_id: str) -> VersionFile:
    s = get_session()
    s.expire_all()
    return s.get(VersionFile, __import__("uuid").UUID(file_id))


def _events(action: str, subject: str) -> int:
    return get_session().scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action, AuditEvent.subject_id == subject))


def _draft(client, key):
    ds = create_dataset(client, key)
    return create_version(client, key, ds["id"])


def test_small_upload_with_the_store_down_is_503_and_leaves_the_file_pending(flaky):
    app, client, proxy = flaky
    vendor = make_tenant(vendor=True)
    key = vendor.keys["owner"]
    v = _draft(client, key)
    data = b'{"a": 1}\n' * 100
    f = declare(client, key, v["id"], "a.jsonl", data).json
    proxy.down()
    r = client.put(f"/api/v1/files/{f['id']}/content", data=data, headers=dict(bearer(key), **{"Content-Type": "application/octet-stream"}))
    _unavailable(r)
    assert _file(f["id"]).status == FileStatus.pending.value and _events("version.file.upload", f["id"]) == 0
    proxy.restore()
    r = client.put(f"/api/v1/files/{f['id']}/content", data=data, headers=dict(bearer(key), **{"Content-Type": "application/octet-stream"}))
    assert r.status_code == 200 and r.json["status"] == "uploaded" and _events("version.file.upload", f["id"]) == 1


def test_multipart_start_and_complete_with_the_store_down_then_recover(flaky):
    app, client, proxy = flaky
    vendor = make_tenant(vendor=True)
    key = vendor.keys["owner"]
    v = _draft(client, key)
    data = b"x" * (5 * 1024 * 1024) + b"tail"
    f = declare(client, key, v["id"], "big.bin", data).json
    proxy.down()
    _unavailable(client.post(f"/api/v1/files/{f['id']}/multipart", json={"part_size": 5 * 1024 * 1024}, headers=bearer(key)))
    row = _file(f["id"])
    assert row.status == FileStatus.pending.value and row.upload_id is None  # no upload id recorded for an upload S3 never opened
    proxy.restore()
    plan = client.post(f"/api/v1/files/{f['id']}/multipart", json={"part_size": 5 * 1024 * 1024}, headers=bearer(key)).json
    etags = [{"part_number": p["part_number"], "etag": put_part(app, client, p["url"], data[p["offset"]:p["offset"] + p["size"]])} for p in plan["parts"]]
    proxy.down()
    _unavailable(client.post(f"/api/v1/files/{f['id']}/multipart/complete", json={"parts": etags}, headers=bearer(key)))
    row = _file(f["id"])
    assert row.status == FileStatus.uploading.value and row.upload_id == plan["upload_id"]  # the parts are kept for a retry
    proxy.restore()
    again = client.get(f"/api/v1/files/{f['id']}/multipart", headers=bearer(key)).json
    assert sorted(p["part_number"] for p in again["received"]) == [1, 2]
    r = client.post(f"/api/v1/files/{f['id']}/multipart/complete", json={"parts": etags}, headers=bearer(key))
    assert r.status_code == 200 and r.json["status"] == "uploaded"


def test_ingest_with_the_store_down_pauses_with_a_reason_and_a_retry_publishes(flaky):
    app, client, proxy = flaky
    vendor = make_tenant(vendor=True)
    key = vendor.keys["owner"]
    v = _draft(client, key)
    data = b'{"q": "why", "a": "because"}\n' * 200
    f = declare(client, key, v["id"], "qa.jsonl", data).json
    client.put(f"/api/v1/files/{f['id']}/content", data=data, headers=dict(bearer(key), **{"Content-Type": "application/octet-stream"}))
    ensure_licensed(client, key, v["id"])
    proxy.down()
    r = client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(key))
    assert r.status_code == 202
    state = client.get(f"/api/v1/versions/{v['id']}", headers=bearer(key)).json
    assert state["status"] == "processing" and "object store" in state["status_reason"] and "publish again" in state["status_reason"]
    assert _file(f["id"]).status == FileStatus.uploaded.value  # nothing verified halfway
    proxy.restore()
    r = client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(key))
    assert r.status_code == 202
    state = client.get(f"/api/v1/versions/{v['id']}", headers=bearer(key)).json
    assert state["status"] == "published" and state["status_reason"] is None and state["manifest_digest"]
    assert _file(f["id"]).status == FileStatus.verified.value
