"""Exactly once under real concurrency (PostgreSQL, committed data): 24 callers announcing the
same thing, fanning out the same announcement, making the same webhook attempt, asking for access
for the same organisation, or answering the same request."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from catalog.models import AccessRequest
from marketplace.kernel.db import get_session, unit_of_work, utcnow
from marketplace.kernel.notify import NotificationEvent, Topic, publish
from marketplace.kernel.principal import OrgRole
from marketplace.notifications.models import Notification, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from marketplace.notifications.services import dispatch
from tests.catalog.helpers import published_dataset
from tests.factories import add_member, bearer, make_key, make_tenant

pytestmark = pytest.mark.postgres_only
N = 24


def _together(app, call):
    barrier = threading.Barrier(N)

    def one(i):
        with app.app_context():
            try:
                barrier.wait(timeout=10)
            except threading.BrokenBarrierError:
                pass
            try:
                return call(i)
            finally:
                app.extensions["db"].remove()

    with ThreadPoolExecutor(max_workers=N) as pool:
        return list(pool.map(one, range(N)))


def _count(model, *where) -> int:
    return get_session().scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_racing_announcements_fan_outs_and_attempts_each_happen_once(session_app):
    with session_app.app_context():
        tenant = make_tenant()
        org = tenant.org.id
        # An endpoint whose host never resolves: every attempt fails fast, and is still logged.
        with unit_of_work() as session:
            ep = WebhookEndpoint(id=uuid.uuid4(), org_id=org, url="https://hooks.invalid/race", description="", topics=[],
                                 secret_enc=dispatch.seal_secret("whsec_" + "QUJD" * 11), created_at=utcnow())
            session.add(ep)
        ep_id = ep.id
        session_app.extensions["db"].remove()
    key = f"race:{uuid.uuid4()}"

    def announce(i):
        with unit_of_work():
            return publish(Topic.INGEST_FINISHED, org, {"dataset_title": "Race", "version": str(i)}, dedupe=key)

    made = [r for r in _together(session_app, announce) if r is not None]
    assert len(made) == 1
    eid = made[0]
    with session_app.app_context():
        # the first fan-out ran after its commit; racing ones find it done
        assert _count(NotificationEvent, NotificationEvent.dedupe == key) == 1
        assert _count(Notification, Notification.event_id == eid) == 4
        d = get_session().scalars(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == ep_id)).one()
        due = d.next_attempt_at
        assert d.attempts == 1
        session_app.extensions["db"].remove()
    assert sum(_together(session_app, lambda i: dispatch.dispatch(str(eid)))) == 0
    results = _together(session_app, lambda i: dispatch.deliver(str(d.id), now=due))
    assert sum(1 for r in results if r is not None) == 1
    with session_app.app_context():
        assert _count(Notification, Notification.event_id == eid) == 4
        assert _count(WebhookAttempt, WebhookAttempt.delivery_id == d.id) == 2
        assert get_session().get_one(WebhookDelivery, d.id).attempts == 2
        # committed rows outlive this test: leave no endpoint with retries due for later sweeps
        with unit_of_work() as session:
            session.delete(session.get_one(WebhookEndpoint, ep_id))
        session_app.extensions["db"].remove()


def test_racing_access_requests_and_decisions_each_happen_once(session_app):
    with session_app.app_context():
        client = session_app.test_client()
        vendor, buyer = make_tenant(vendor=True), make_tenant()
        ds, _ = published_dataset(client, vendor.keys["owner"], {"a.jsonl": b'{"a": 1}\n'}, visibility="unlisted")
        r = client.put(f"/api/v1/datasets/{ds['id']}/access-gate", json={"samples": True, "private_offers": False, "questions": []},
                       headers=bearer(vendor.keys["owner"]))
        assert r.status_code == 200
        buyer_keys = [make_key(add_member(buyer.org, buyer.owner, OrgRole.member), buyer.org) for _ in range(N)]
        vendor_keys = [make_key(add_member(vendor.org, vendor.owner, OrgRole.admin), vendor.org) for _ in range(N)]
        session_app.extensions["db"].remove()

    def ask(i):
        c = session_app.test_client()
        return c.post(f"/api/v1/datasets/{ds['id']}/access-requests", json={"org_id": str(buyer.org.id), "answers": {}}, headers=bearer(buyer_keys[i])).status_code

    codes = sorted(_together(session_app, ask))
    assert codes.count(201) == 1 and codes.count(409) == N - 1, codes
    with session_app.app_context():
        req = get_session().scalars(select(AccessRequest).where(AccessRequest.buyer_org_id == buyer.org.id)).one()
        session_app.extensions["db"].remove()

    def approve(i):
        c = session_app.test_client()
        return c.post(f"/api/v1/access-requests/{req.id}/approve", json={}, headers=bearer(vendor_keys[i])).status_code

    codes = sorted(_together(session_app, approve))
    assert codes.count(200) == 1 and codes.count(409) == N - 1, codes
    with session_app.app_context():
        assert _count(NotificationEvent, NotificationEvent.org_id == buyer.org.id, NotificationEvent.topic == "access_request.approved") == 1
        assert _count(NotificationEvent, NotificationEvent.org_id == vendor.org.id, NotificationEvent.topic == "access_request.received") == 1
        session_app.extensions["db"].remove()
