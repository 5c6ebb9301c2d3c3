"""The database connection dropped in the middle of a request (PostgreSQL terminates the backend
while the request waits on a row lock): the caller gets a clear 503, nothing is half-written,
and the very next request works on a fresh connection."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import create_engine, func, select, text

from marketplace.app import create_app
from marketplace.commerce.models import Grant, QuotaEntry
from marketplace.kernel.audit import AuditEvent
from tests.commerce.helpers import market, offer_for, order
from tests.conftest import create_pg_database, drop_pg_database
from tests.factories import bearer

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def committed_app(backend, make_settings, pg_server_url):
    """An app on its own scratch database whose work really commits (no test transaction)."""
    import migrations

    name = f"mp_dbfault_{uuid.uuid4().hex[:8]}"
    url = create_pg_database(pg_server_url, name)
    migrations.upgrade(url)
    app = create_app(make_settings(backend, database_url=url))
    yield app, url
    app.extensions["db"].engine.dispose()
    drop_pg_database(pg_server_url, name)


def test_connection_killed_mid_request_is_503_and_nothing_is_charged(committed_app):
    app, url = committed_app
    client = app.test_client()
    with app.app_context():
        vendor, buyer = market()
        app.extensions["db"].session.commit()
    offer = offer_for(client, vendor.keys["owner"], pricing_unit="downloads", unit_price_minor=100)
    o = order(client, buyer.keys["owner"], offer, quantity=3).json
    gid = client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vendor.keys["owner"])).json["grant_id"]

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    locker = create_engine(url).connect()
    tx = locker.begin()
    locker.execute(text("SELECT id FROM grants WHERE id = :id FOR UPDATE"), {"id": uuid.UUID(gid)})  # the debit will wait here
    result: dict = {}

    def download() -> None:
        result["r"] = app.test_client().post(f"/api/v1/grants/{gid}/downloads", json={}, headers=bearer(buyer.keys["member"]))

    t = threading.Thread(target=download)
    t.start()
    with admin.connect() as c:
        waiting = None
        for _ in range(100):  # the request's backend, blocked on our lock
            waiting = c.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).scalar()
            if waiting:
                break
            time.sleep(0.05)
        assert waiting, "the request never reached the row lock"
        c.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": waiting})
    t.join(30)
    tx.rollback()
    locker.close()
    r = result["r"]
    assert r.status_code == 503 and r.headers["Content-Type"] == "application/problem+json"
    assert r.json["type"].endswith("database-unavailable")
    with admin.connect() as c:
        assert c.execute(select(func.count()).select_from(QuotaEntry).where(QuotaEntry.grant_id == uuid.UUID(gid), QuotaEntry.kind == "debit")).scalar() == 0
        assert c.execute(select(Grant.balance).where(Grant.id == uuid.UUID(gid))).scalar() == 3 + offer["included_quota"] * 3
        assert c.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "delivery.authorize")).scalar() == 0
    # recovery: the pool replaced the dead connection; the retry is charged exactly once
    again = client.post(f"/api/v1/grants/{gid}/downloads", json={}, headers=bearer(buyer.keys["member"]))
    assert again.status_code == 200, again.json
    with admin.connect() as c:
        assert c.execute(select(func.count()).select_from(QuotaEntry).where(QuotaEntry.grant_id == uuid.UUID(gid), QuotaEntry.kind == "debit")).scalar() == 1
    admin.dispose()
