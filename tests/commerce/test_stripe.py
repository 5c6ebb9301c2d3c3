"""Card payments: the real `stripe` library against a local fake of Stripe's HTTP API, and
webhooks signed exactly as Stripe signs them."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from marketplace.commerce.models import Grant, Order, StripeEvent
from marketplace.kernel.db import get_session
from tests.commerce.helpers import market, offer_for, order
from tests.factories import bearer
from tests.fakes.stripe_api import event, sign


@pytest.fixture
def shop(stripe_app, fake_stripe):
    client = stripe_app.test_client()
    vendor, buyer = market()
    r = client.put(f"/api/v1/orgs/{vendor.org.id}/payout-account", json={"stripe_account_id": "acct_1VendorXYZ"}, headers=bearer(vendor.keys["owner"]))
    assert r.status_code == 204
    offer = offer_for(client, vendor.keys["owner"], unit_price_minor=250, currency="EUR")
    return client, vendor, buyer, offer


def post_event(client, payload: bytes, sig: str | None = None):
    return client.post("/api/v1/payments/stripe/webhook", data=payload, headers={"Stripe-Signature": sig if sig is not None else sign(payload), "Content-Type": "application/json"})


def completed(order_json: dict, *, created: int | None = None, event_id: str | None = None) -> bytes:
    session = {"id": order_json["checkout_session_id"] if "checkout_session_id" in order_json else "cs_x", "object": "checkout.session",
               "payment_status": "paid", "status": "complete", "client_reference_id": order_json["id"], "metadata": {"order_id": order_json["id"]},
               "payment_intent": order_json["_pi"]}
    return event("checkout.session.completed", session, created=created, event_id=event_id)


def checkout(client, buyer, offer, fake_stripe, **kw):
    r = order(client, buyer.keys["owner"], offer, method="stripe", quantity=kw.pop("quantity", 40), **kw)
    assert r.status_code == 201, r.json
    o = r.json
    sid = o["checkout_url"].rsplit("/", 1)[1]
    o["checkout_session_id"] = sid
    o["_pi"] = fake_stripe.sessions[sid]["payment_intent"]
    return o


def grants(buyer):
    return get_session().scalars(select(Grant).where(Grant.buyer_org_id == buyer.org.id)).all()


def test_checkout_session_uses_connect_with_platform_fee(shop, fake_stripe):
    client, vendor, buyer, offer = shop
    o = checkout(client, buyer, offer, fake_stripe)
    assert o["status"] == "pending_payment" and o["amount_minor"] == 10_000 and o["platform_fee_minor"] == 1_000
    req = [r for r in fake_stripe.requests if r["path"] == "/v1/checkout/sessions"][-1]
    assert req["idempotency_key"] == f"checkout-{o['id']}"
    pid = req["params"]["payment_intent_data"]
    assert pid["application_fee_amount"] == "1000" and pid["transfer_data"]["destination"] == "acct_1VendorXYZ"
    assert req["params"]["line_items"][0]["price_data"] == {"currency": "eur", "unit_amount": "10000", "product_data": {"name": offer["title"]}}


def test_paid_webhook_creates_exactly_one_grant_despite_duplicates_and_replays(shop, fake_stripe):
    client, vendor, buyer, offer = shop
    o = checkout(client, buyer, offer, fake_stripe)
    payload = completed(o, event_id="evt_paid_1")
    r = post_event(client, payload)
    assert r.status_code == 200 and r.json["outcome"] == "paid"
    assert post_event(client, payload).json["outcome"].startswith("duplicate")  # same delivery again
    replay = completed(o, event_id="evt_paid_2")  # another event saying the same thing
    assert post_event(client, replay).json["outcome"].startswith("ignored")
    assert len(grants(buyer)) == 1 and grants(buyer)[0].balance == 40
    assert client.get(f"/api/v1/orders/{o['id']}", headers=bearer(buyer.keys["owner"])).json["status"] == "paid"


def test_forged_signature_is_400_and_changes_nothing(shop, fake_stripe):
    client, vendor, buyer, offer = shop
    o = checkout(client, buyer, offer, fake_stripe)
    payload = completed(o)
    events_before = get_session().scalar(select(func.count()).select_from(StripeEvent))
    for sig in (sign(payload, secret="whsec_attacker"), "t=1,v1=deadbeef", "", sign(payload, timestamp=int(time.time()) - 3600)):
        r = post_event(client, payload, sig)
        assert r.status_code == 400 and r.headers["Content-Type"] == "application/problem+json", sig
    tampered = payload.replace(b'"paid"', b'"paid" ', 1)
    assert post_event(client, tampered, sign(payload)).status_code == 400
    assert get_session().scalar(select(func.count()).select_from(StripeEvent)) == events_before
    assert grants(buyer) == [] and client.get(f"/api/v1/orders/{o['id']}", headers=bearer(buyer.keys["owner"])).json["status"] == "pending_payment"


def test_out_of_order_events_change_nothing_beyond_their_in_order_effect(shop, fake_stripe):
    client, vendor, buyer, offer = shop
    o = checkout(client, buyer, offer, fake_stripe)
    now = int(time.time())
    failed = event("checkout.session.async_payment_failed", {"id": o["checkout_session_id"], "metadata": {"order_id": o["id"]}}, created=now - 100)
    assert post_event(client, completed(o, created=now)).json["outcome"] == "paid"
    assert post_event(client, failed).json["outcome"].startswith("ignored")  # older than the payment
    assert client.get(f"/api/v1/orders/{o['id']}", headers=bearer(buyer.keys["owner"])).json["status"] == "paid"
    assert len(grants(buyer)) == 1


def test_refund_before_completion_means_no_grant(shop, fake_stripe):
    client, vendor, buyer, offer = shop
    o = checkout(client, buyer, offer, fake_stripe)
    now = int(time.time())
    refund = event("charge.refunded", {"object": "charge", "payment_intent": o["_pi"], "amount": 10_000, "amount_refunded": 10_000,
                                       "metadata": {"order_id": o["id"]}}, created=now + 5)
    assert post_event(client, refund).status_code == 200
    assert post_event(client, completed(o, created=now)).json["outcome"].startswith("ignored")
    assert grants(buyer) == []


def test_partial_and_full_refund_reduce_then_revoke(shop, fake_stripe):
    client, vendor, buyer, offer = shop
    o = checkout(client, buyer, offer, fake_stripe)
    post_event(client, completed(o))
    g = grants(buyer)[0]
    charge = {"object": "charge", "payment_intent": o["_pi"], "amount": 10_000, "metadata": {"order_id": o["id"]}}
    r = post_event(client, event("charge.refunded", dict(charge, amount_refunded=2_500)))
    assert "partial" in r.json["outcome"]
    get_session().refresh(g)
    assert g.balance == 30 and g.status == "active"
    r = post_event(client, event("charge.refunded", dict(charge, amount_refunded=10_000)))
    assert "full" in r.json["outcome"]
    get_session().refresh(g)
    assert g.balance == 0 and g.status == "revoked"
    assert client.get(f"/api/v1/orders/{o['id']}", headers=bearer(buyer.keys["owner"])).json["status"] == "refunded"


def test_dispute_suspends_then_won_reinstates_or_lost_revokes(shop, fake_stripe):
    client, vendor, buyer, offer = shop
    o = checkout(client, buyer, offer, fake_stripe)
    now = int(time.time())
    post_event(client, completed(o, created=now))
    dispute = {"object": "dispute", "payment_intent": o["_pi"], "metadata": {"order_id": o["id"]}}
    post_event(client, event("charge.dispute.created", dispute, created=now + 1))
    g = grants(buyer)[0]
    get_session().refresh(g)
    assert g.status == "suspended"
    post_event(client, event("charge.dispute.closed", dict(dispute, status="won"), created=now + 2))
    get_session().refresh(g)
    assert g.status == "active"
    o2 = checkout(client, buyer, offer, fake_stripe, quantity=10)
    post_event(client, completed(o2, created=now + 3))
    post_event(client, event("charge.dispute.created", {"payment_intent": o2["_pi"], "metadata": {"order_id": o2["id"]}}, created=now + 4))
    post_event(client, event("charge.dispute.closed", {"payment_intent": o2["_pi"], "metadata": {"order_id": o2["id"]}, "status": "lost"}, created=now + 5))
    get_session().refresh(g)
    assert g.status == "revoked"


def test_stripe_errors_at_checkout_leave_the_order_retryable(shop, fake_stripe):
    client, vendor, buyer, offer = shop
    fake_stripe.fail_next = 10  # more than the client's retries
    r = order(client, buyer.keys["owner"], offer, method="stripe", key="card-1")
    assert r.status_code == 503 and r.headers["Content-Type"] == "application/problem+json"
    assert "nothing was charged" in r.json["detail"]
    pending = get_session().scalars(select(Order).where(Order.buyer_org_id == buyer.org.id)).all()
    assert len(pending) == 1 and pending[0].status == "pending_payment" and pending[0].checkout_session_id is None
    fake_stripe.fail_next = 0
    r = order(client, buyer.keys["owner"], offer, method="stripe", key="card-1")
    assert r.status_code == 200 and r.json["checkout_url"].startswith("https://checkout.stripe.test/")
    assert get_session().scalar(select(func.count()).select_from(Order).where(Order.buyer_org_id == buyer.org.id)) == 1


def test_vendor_without_connect_account_cannot_take_cards(stripe_app, fake_stripe):
    client = stripe_app.test_client()
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"])
    r = order(client, buyer.keys["owner"], offer, method="stripe")
    assert r.status_code == 400 and "payment_method" in r.json["errors"]
