"""Every money state transition under real concurrency on PostgreSQL: 24 callers at once, each
with its own connection, on committed data. Exactly one effect and one audit event may result:
mark-paid, cancel, reject, cancel racing mark-paid, order replay with one Idempotency-Key, and
each payment webhook (completion, refund, dispute opened, dispute closed)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from marketplace.app import create_app
from marketplace.commerce.models import Grant, Order, QuotaEntry
from marketplace.kernel.audit import AuditEvent
from marketplace.kernel.db import get_session
from tests.catalog.helpers import published_dataset
from tests.commerce.helpers import market, order
from tests.concurrency import race
from tests.factories import bearer
from tests.fakes.stripe_api import event, sign

N = 24
pytestmark = pytest.mark.postgres_only


def _count(model, *where) -> int:
    return get_session().scalar(select(func.count()).select_from(model).where(*where)) or 0


def _events(action: str, subject_id: str) -> int:
    return _count(AuditEvent, AuditEvent.action == action, AuditEvent.subject_id == subject_id)


def _committed_order(app, *, term_days: int | None = 30, method: str = "invoice") -> tuple[dict, Any, Any, dict]:
    with app.app_context():
        client = app.test_client()
        vendor, buyer = market()
        ds, _ = published_dataset(client, vendor.keys["owner"], {"a.jsonl": b'{"a": 1}\n' * 5}, visibility="unlisted")
        if method == "stripe":
            client.put(f"/api/v1/orgs/{vendor.org.id}/payout-account", json={"stripe_account_id": "acct_1VendorRaceAB"}, headers=bearer(vendor.keys["owner"]))
        body = {"title": "t", "license": "CC-BY-4.0", "pricing_unit": "records", "unit_price_minor": 3, "currency": "EUR", "term_days": term_days}
        offer = client.post(f"/api/v1/datasets/{ds['id']}/offers", json=body, headers=bearer(vendor.keys["owner"])).json
        r = order(client, buyer.keys["owner"], offer, quantity=50, method=method)
        assert r.status_code == 201, r.json
        app.extensions["db"].remove()
        return r.json, vendor, buyer, offer


def test_concurrent_mark_paid_fulfils_once(session_app):
    o, vendor, buyer, _ = _committed_order(session_app)
    res = race(session_app, N, lambda c, i: c.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vendor.keys["owner"])))
    codes = sorted(r.status_code for r in res)
    assert codes.count(200) == 1 and codes.count(409) == N - 1, codes
    with session_app.app_context():
        assert _events("order.paid", o["id"]) == 1
        grant = get_session().scalar(select(Grant).where(Grant.buyer_org_id == buyer.org.id))
        assert _count(QuotaEntry, QuotaEntry.grant_id == grant.id, QuotaEntry.kind == "credit") == 1 and grant.balance == 50
        # The term was set once: 30 days from payment, not 30 x the number of callers.
        assert (grant.expires_at - grant.starts_at).days <= 30
        assert _events("grant.create", str(grant.id)) == 1 and _events("grant.extend", str(grant.id)) == 0
        session_app.extensions["db"].remove()


@pytest.mark.parametrize("how", ["cancel", "reject"])
def test_concurrent_cancel_or_reject_ends_the_order_once(session_app, how):
    o, vendor, buyer, _ = _committed_order(session_app)
    key = buyer.keys["owner"] if how == "cancel" else vendor.keys["owner"]
    res = race(session_app, N, lambda c, i: c.post(f"/api/v1/orders/{o['id']}/{how}", json={"reason": f"caller {i}"}, headers=bearer(key)))
    codes = sorted(r.status_code for r in res)
    assert codes.count(200) == 1 and codes.count(409) == N - 1, codes
    with session_app.app_context():
        assert _events(f"order.{how}", o["id"]) == 1
        assert get_session().get(Order, uuid.UUID(o["id"])).status == "cancelled"
        session_app.extensions["db"].remove()


def test_cancel_racing_mark_paid_has_exactly_one_winner(session_app):
    o, vendor, buyer, _ = _committed_order(session_app)

    def call(c, i):
        if i % 2:
            return "paid", c.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vendor.keys["owner"]))
        return "cancel", c.post(f"/api/v1/orders/{o['id']}/cancel", json={}, headers=bearer(buyer.keys["owner"]))

    res = race(session_app, N, call)
    winners = [k for k, r in res if r.status_code == 200]
    assert len(winners) == 1 and all(r.status_code in (200, 409) for _, r in res)
    with session_app.app_context():
        status = get_session().get(Order, uuid.UUID(o["id"])).status
        assert status == ("paid" if winners[0] == "paid" else "cancelled")
        assert _events("order.paid", o["id"]) + _events("order.cancel", o["id"]) == 1
        grants = _count(Grant, Grant.buyer_org_id == buyer.org.id)
        assert grants == (1 if status == "paid" else 0)
        session_app.extensions["db"].remove()


def test_concurrent_replays_of_one_idempotency_key_answer_with_one_order(session_app):
    o, vendor, buyer, offer = _committed_order(session_app)
    key = f"replay-{uuid.uuid4().hex}"
    res = race(session_app, N, lambda c, i: order(c, buyer.keys["owner"], offer, quantity=7, key=key))
    assert all(r.status_code in (200, 201) for r in res), sorted({(r.status_code, str(r.json)[:200]) for r in res})
    ids = {r.json["id"] for r in res}
    assert len(ids) == 1 and sum(1 for r in res if r.status_code == 201) == 1
    with session_app.app_context():
        assert _count(Order, Order.buyer_org_id == buyer.org.id, Order.idempotency_key == key) == 1
        assert _events("order.create", ids.pop()) == 1
        session_app.extensions["db"].remove()


@pytest.fixture
def committed_stripe_app(backend, make_settings, fake_stripe):
    from tests.fakes.stripe_api import API_KEY, WEBHOOK_SECRET

    app = create_app(make_settings(backend, payments="stripe", stripe_api_key=API_KEY, stripe_webhook_secret=WEBHOOK_SECRET, stripe_api_base=fake_stripe.url))
    fake_stripe.fail_next, fake_stripe.hang_seconds = 0, 0.0
    yield app
    app.extensions["db"].engine.dispose()


def _post(c, payload: bytes):
    return c.post("/api/v1/payments/stripe/webhook", data=payload, headers={"Stripe-Signature": sign(payload), "Content-Type": "application/json"})


def test_each_webhook_applies_once_under_concurrency(committed_stripe_app, fake_stripe):
    app = committed_stripe_app
    o, vendor, buyer, _ = _committed_order(app, term_days=None, method="stripe")
    sid = o["checkout_url"].rsplit("/", 1)[1]
    pi = fake_stripe.sessions[sid]["payment_intent"]
    now = int(time.time())
    completed = {"id": sid, "object": "checkout.session", "payment_status": "paid", "status": "complete", "client_reference_id": o["id"],
                 "metadata": {"order_id": o["id"]}, "payment_intent": pi}

    # One event delivered 24 times at once (Stripe retries), then 24 distinct events that say
    # the same thing (a replayed or re-sent notification): both apply once.
    same = event("checkout.session.completed", completed, created=now, event_id="evt_race_paid")
    res = race(app, N, lambda c, i: _post(c, same))
    assert all(r.status_code == 200 for r in res) and sum(1 for r in res if r.json["outcome"] == "paid") == 1
    res = race(app, N, lambda c, i: _post(c, event("checkout.session.completed", completed, created=now)))
    assert not any(r.json["outcome"] == "paid" for r in res)
    with app.app_context():
        assert _events("order.paid", o["id"]) == 1
        app.extensions["db"].remove()

    dispute = {"object": "dispute", "payment_intent": pi, "metadata": {"order_id": o["id"]}}
    res = race(app, N, lambda c, i: _post(c, event("charge.dispute.created", dispute, created=now + 1)))
    assert sum(1 for r in res if r.json["outcome"].startswith("disputed")) == 1
    res = race(app, N, lambda c, i: _post(c, event("charge.dispute.closed", dict(dispute, status="won"), created=now + 2)))
    assert sum(1 for r in res if r.json["outcome"].startswith("dispute won")) == 1
    charge = {"object": "charge", "payment_intent": pi, "amount": o["amount_minor"], "amount_refunded": o["amount_minor"], "metadata": {"order_id": o["id"]}}
    res = race(app, N, lambda c, i: _post(c, event("charge.refunded", charge, created=now + 3)))
    assert sum(1 for r in res if r.json["outcome"].startswith("refunded")) == 1
    with app.app_context():
        assert _events("order.refund", o["id"]) == 1
        grant = get_session().scalar(select(Grant).where(Grant.buyer_org_id == buyer.org.id))
        assert grant.status == "revoked" and grant.balance == 0
        refunds = _count(QuotaEntry, QuotaEntry.grant_id == grant.id, QuotaEntry.kind != "credit")
        assert refunds == 1
        app.extensions["db"].remove()
