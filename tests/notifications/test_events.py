"""Each announced event, from the real flow that causes it: to the organisation it concerns, once,
as a webhook, an e-mail and a notification-centre entry, with nothing of another tenant."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from sqlalchemy import select

from marketplace.commerce import metering
from marketplace.commerce import services as commerce
from marketplace.commerce.models import Grant, GrantStatus, Order
from marketplace.kernel.db import get_session, unit_of_work, utcnow
from marketplace.kernel.notify import NotificationEvent
from marketplace.notifications.models import Notification
from tests.catalog.helpers import create_version, publish, upload_small
from tests.commerce.helpers import market, offer_for, order
from tests.factories import bearer, make_tenant
from tests.factories.identity import principal
from tests.notifications.helpers import bought, pay, register


def announced(org_id, topic=None) -> list[dict]:
    q = select(NotificationEvent).where(NotificationEvent.org_id == org_id)
    if topic:
        q = q.where(NotificationEvent.topic == topic)
    return [dict(e.data, _topic=e.topic) for e in get_session().scalars(q.order_by(NotificationEvent.created_at))]


def test_an_event_goes_out_as_a_webhook_an_email_and_a_centre_entry(notify_app, nclient, receiver, mailbox):
    vendor, buyer, offer, o = bought(nclient)
    ep = register(nclient, buyer, receiver.url, topics=["order.cancelled"])
    r = nclient.post(f"/api/v1/orders/{o['id']}/cancel", json={"reason": "budget moved"}, headers=bearer(buyer.keys["member"]))
    assert r.status_code == 200
    [hook] = receiver.payloads()
    assert hook["type"] == "order.cancelled" and hook["data"]["reason"] == "budget moved" and hook["data"]["order_id"] == o["id"]
    mails = [m for m in mailbox.to(buyer.auditor.email) if "cancelled" in m["Subject"]]
    assert len(mails) == 1 and "budget moved" in mails[0].get_body(("plain",)).get_content()
    entry = nclient.get("/api/v1/notifications", headers=bearer(buyer.keys["admin"])).json["items"][0]
    assert entry["topic"] == "order.cancelled" and entry["link"] == f"/orders/{o['id']}"
    # the vendor hears of it too, in its own centre; the webhook was the buyer's only
    assert [e["_topic"] for e in announced(vendor.org.id, "order.cancelled")] == ["order.cancelled"]
    assert ep["id"]


def test_a_rejected_order_tells_both_parties_with_the_reason(notify_app, nclient):
    vendor, buyer, offer, o = bought(nclient)
    assert nclient.post(f"/api/v1/orders/{o['id']}/reject", json={"reason": "Not for resellers."}, headers=bearer(vendor.keys["admin"])).status_code == 200
    for org, role in ((buyer.org.id, "buyer"), (vendor.org.id, "vendor")):
        [e] = announced(org, "order.rejected")
        assert e["reason"] == "Not for resellers." and e["role"] == role


def test_a_grant_is_announced_when_made_seven_days_before_it_ends_when_it_ends_and_when_revoked(notify_app, nclient):
    vendor, buyer, offer, o = bought(nclient, term_days=5)
    paid = pay(nclient, vendor, o)
    [created] = announced(buyer.org.id, "grant.created")
    assert created["grant_id"] == paid["grant_id"] and created["expires_at"]
    assert commerce.warn_expiring_grants() == 1
    assert commerce.warn_expiring_grants() == 0  # once per expiry date
    assert len(announced(buyer.org.id, "grant.expiring")) == 1
    with unit_of_work():
        get_session().get_one(Grant, uuid.UUID(paid["grant_id"])).expires_at = utcnow() - timedelta(seconds=1)
    assert commerce.expire_grants() == 1
    assert [e["status"] for e in announced(buyer.org.id, "grant.expired")] == ["expired"]
    # a refund revokes it (the provider's event does this; here the same service step)
    with unit_of_work():
        commerce._set_grant(commerce.SYSTEM, get_session().get_one(Order, uuid.UUID(o["id"])), GrantStatus.revoked, "refunded")
    [revoked] = announced(buyer.org.id, "grant.revoked")
    assert revoked["reason"] == "refunded"
    assert announced(vendor.org.id, "grant.created") == [] and announced(vendor.org.id, "grant.revoked") == []


def test_quota_thresholds_are_announced_once_each(notify_app, nclient):
    vendor, buyer, offer, o = bought(nclient, quantity=100)
    grant_id = uuid.UUID(pay(nclient, vendor, o)["grant_id"])
    who = principal(buyer.member)
    for n, amount in enumerate((79, 1, 14, 1, 4, 1)):
        with unit_of_work():
            metering.debit(who, grant_id, "records", amount, request_id=f"t-{n}")
    seen = [(e["threshold_percent"], e["balance"]) for e in announced(buyer.org.id, "quota.threshold")]
    assert seen == [(80, 20), (95, 5), (100, 0)], seen
    assert announced(vendor.org.id, "quota.threshold") == []


def test_holders_hear_of_new_and_withdrawn_versions_and_nobody_else_does(notify_app, nclient):
    vendor, buyer = market()
    bystander = make_tenant()
    offer = offer_for(nclient, vendor.keys["owner"], term_days=365)  # for the latest version, with updates
    o = order(nclient, buyer.keys["owner"], offer, quantity=10).json
    pay(nclient, vendor, o)
    k = vendor.keys["owner"]
    v2 = create_version(nclient, k, offer["dataset_id"], "2.0.0")
    upload_small(nclient, k, v2["id"], "part-0.jsonl", b'{"x": 2}\n' * 10)
    assert nclient.put(f"/api/v1/versions/{v2['id']}/license", json={"identifier": "CC-BY-4.0"}, headers=bearer(k)).status_code == 200
    assert publish(nclient, k, v2["id"])["status"] == "published"
    [new] = announced(buyer.org.id, "version.published")
    assert new["version"] == "2.0.0" and new["follows"] is True
    r = nclient.post(f"/api/v1/versions/{v2['id']}/withdraw", json={"reason": "A consent was revoked."}, headers=bearer(vendor.keys["admin"]))
    assert r.status_code == 200, r.json
    [gone] = announced(buyer.org.id, "version.withdrawn")
    assert gone["reason"] == "A consent was revoked." and gone["version"] == "2.0.0"
    assert announced(bystander.org.id) == []
    assert [e["_topic"] for e in announced(vendor.org.id) if e["_topic"].startswith("version.")] == []
    assert {e["_topic"] for e in announced(vendor.org.id, "ingest.finished")} == {"ingest.finished"}
    # none of the buyer's entries names another organisation
    text = json.dumps(announced(buyer.org.id))
    assert str(bystander.org.id) not in text and bystander.owner.email not in text


def test_a_failed_ingest_tells_the_vendor_why(notify_app, nclient):
    vendor = make_tenant(vendor=True)
    k = vendor.keys["owner"]
    ds = nclient.post("/api/v1/datasets", json={"slug": f"broken-{uuid.uuid4().hex[:6]}", "title": "Broken", "domain": "healthcare", "visibility": "draft"},
                      headers=bearer(k)).json
    v = create_version(nclient, k, ds["id"])
    upload_small(nclient, k, v["id"], "bad.jsonl", b'{"ok": 1}\n{not json\n')
    assert nclient.put(f"/api/v1/versions/{v['id']}/license", json={"identifier": "CC-BY-4.0"}, headers=bearer(k)).status_code == 200
    publish(nclient, k, v["id"])
    [failed] = announced(vendor.org.id, "ingest.failed")
    assert failed["version"] == "1.0.0" and "bad.jsonl" in failed["failures"]
    entries = get_session().scalars(select(Notification).where(Notification.user_id == vendor.member.id, Notification.topic == "ingest.failed")).all()
    assert len(entries) == 1 and "failed its checks" in entries[0].title
