"""Exactly once under real concurrency (PostgreSQL, committed data): 24 callers announcing the
same thing, fanning out the same announcement, or making the same webhook attempt."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from marketplace.kernel.db import get_session, unit_of_work, utcnow
from marketplace.kernel.notify import NotificationEvent, Topic, publish
from marketplace.notifications.models import Notification, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from marketplace.notifications.services import dispatch
from tests.factories import make_tenant

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
        session_app.extensions["db"].remove()
