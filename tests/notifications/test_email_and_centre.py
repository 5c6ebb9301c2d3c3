"""E-mail as a real SMTP server (aiosmtpd on loopback) receives it, the unsubscribe link without
signing in, digests, and the notification centre over the API and in the page header."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import func, select

from marketplace.kernel.db import get_session, unit_of_work
from marketplace.kernel.notify import NotificationEvent, Topic, publish
from marketplace.notifications.models import Notification
from marketplace.notifications.services import dispatch
from tests.factories import bearer, make_tenant
from tests.notifications.helpers import bought, pay
from tests.web.helpers import sign_in


def _link(msg) -> str:
    text = msg.get_body(("plain",)).get_content()
    return re.search(r"Unsubscribe from these e-mails: (\S+)", text).group(1)


def test_members_get_the_mail_in_text_and_html_and_one_link_unsubscribes_without_signing_in(notify_app, nclient, mailbox):
    vendor, buyer, offer, o = bought(nclient)
    pay(nclient, vendor, o)
    mails = [m for m in mailbox.to(buyer.member.email) if "paid" in m["Subject"]]
    assert len(mails) == 1
    m = mails[0]
    assert m["From"] == "Marketplace <noreply@marketplace.test>" and m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = m.get_body(("plain",)).get_content(), m.get_body(("html",)).get_content()
    assert offer["title"] not in ("",) and "paid" in text and "<a href=" in html and f"/orders/{o['id']}" in text
    # the vendor's members hear of it too, with the buyer named; no other organisation's member does
    assert any("paid" in v["Subject"] for v in mailbox.to(vendor.admin.email))
    link = _link(m)
    path = link.replace("http://localhost", "")
    anon = notify_app.test_client()
    page = anon.get(path)
    assert page.status_code == 200 and b"Unsubscribe" in page.data and buyer.member.email.encode() in page.data
    # GET alone changes nothing (mail scanners follow links)
    o2 = bought_again(nclient, vendor, buyer, offer)
    pay(nclient, vendor, o2)
    assert len([x for x in mailbox.to(buyer.member.email) if "paid" in x["Subject"]]) == 2
    # POST without a session or CSRF token (RFC 8058 one-click) unsubscribes
    r = anon.post(path, data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200 and b"will no longer receive" in r.data
    o3 = bought_again(nclient, vendor, buyer, offer)
    pay(nclient, vendor, o3)
    assert len([x for x in mailbox.to(buyer.member.email) if "paid" in x["Subject"]]) == 2
    # ... but the centre still shows it, and the other members still get the mail
    items = nclient.get("/api/v1/notifications", headers=bearer(buyer.keys["member"])).json["items"]
    assert sum(1 for n in items if n["topic"] == "order.paid") == 3
    assert len([x for x in mailbox.to(buyer.owner.email) if "paid" in x["Subject"]]) == 3
    prefs = {p["topic"]: p["email"] for p in nclient.get("/api/v1/notifications/preferences", headers=bearer(buyer.keys["member"])).json}
    assert prefs["order.paid"] == "off" and prefs["grant.created"] == "instant"
    # a forged or altered token is refused, and changes nothing
    assert anon.post(path[:-3] + "abc").status_code == 404
    assert anon.get("/notifications/unsubscribe/not-a-token").status_code == 404


def bought_again(client, vendor, buyer, offer):
    from tests.commerce.helpers import order

    r = order(client, buyer.keys["owner"], offer, quantity=10)
    assert r.status_code == 201
    return r.json


def test_digest_collects_what_was_pending_into_one_mail(notify_app, nclient, mailbox):
    buyer = make_tenant()
    r = nclient.put("/api/v1/notifications/preferences", json={"preferences": {"ingest.finished": "digest", "ingest.failed": "off"}},
                    headers=bearer(buyer.keys["owner"]))
    assert r.status_code == 200
    for title in ("Clinical notes", "Court rulings"):
        with unit_of_work():
            publish(Topic.INGEST_FINISHED, buyer.org.id, {"dataset_id": str(uuid.uuid4()), "dataset_title": title, "version": "1.0", "files": 1, "records": 5})
    with unit_of_work():
        publish(Topic.INGEST_FAILED, buyer.org.id, {"dataset_id": str(uuid.uuid4()), "dataset_title": "Bad", "version": "1.0", "reason": "x"})
    assert mailbox.to(buyer.owner.email) == []
    assert len(mailbox.to(buyer.admin.email)) == 3  # the others chose nothing: instantly
    assert dispatch.send_digests() == 1
    digests = mailbox.to(buyer.owner.email)
    assert len(digests) == 1 and "2 update" in digests[0]["Subject"]
    text = digests[0].get_body(("plain",)).get_content()
    assert "Clinical notes" in text and "Court rulings" in text and "Bad" not in text
    assert dispatch.send_digests() == 0  # sent once


def test_the_centre_lists_counts_and_marks_read_only_the_callers_own(notify_app, nclient):
    buyer = make_tenant()
    for i in range(3):
        with unit_of_work():
            publish(Topic.INGEST_FINISHED, buyer.org.id, {"dataset_id": str(uuid.uuid4()), "dataset_title": f"Set {i}", "version": "1.0"})
    h = bearer(buyer.keys["member"])
    page = nclient.get("/api/v1/notifications", headers=h).json
    assert page["unread"] == 3 and [n["title"] for n in page["items"]][0].startswith("Version 1.0 of Set 2")
    r = nclient.post("/api/v1/notifications/read", json={"ids": [page["items"][0]["id"]]}, headers=h)
    assert r.status_code == 200 and r.json == {"marked": 1, "unread": 2}
    assert len(nclient.get("/api/v1/notifications?unread=true", headers=h).json["items"]) == 2
    # another member's entries are theirs: marking mine read leaves theirs unread
    assert nclient.get("/api/v1/notifications", headers=bearer(buyer.keys["owner"])).json["unread"] == 3
    # someone else's id, or nothing named, is refused
    theirs = nclient.get("/api/v1/notifications", headers=bearer(buyer.keys["owner"])).json["items"][0]["id"]
    assert nclient.post("/api/v1/notifications/read", json={"ids": [theirs]}, headers=h).status_code == 404
    assert nclient.post("/api/v1/notifications/read", json={}, headers=h).status_code == 400
    r = nclient.post("/api/v1/notifications/read", json={"all": True}, headers=h)
    assert r.json == {"marked": 2, "unread": 0}
    # the page header's bell shows the count to a signed-in browser
    c = notify_app.test_client()
    sign_in(c, buyer.owner)
    home = c.get("/")
    assert b"Notifications, 3 unread" in home.data
    page = c.get("/notifications")
    assert page.status_code == 200 and b"Set 2" in page.data and b"Mark all read" in page.data


def test_dispatch_and_delivery_happen_once_however_often_they_run(notify_app, nclient, receiver):
    buyer = make_tenant()
    from tests.notifications.helpers import register

    register(nclient, buyer, receiver.url)
    with unit_of_work():
        eid = publish(Topic.INGEST_FINISHED, buyer.org.id, {"dataset_title": "X", "version": "1"}, dedupe="once-only")
        again = publish(Topic.INGEST_FINISHED, buyer.org.id, {"dataset_title": "X", "version": "1"}, dedupe="once-only")
    assert eid is not None and again is None
    for _ in range(3):
        assert dispatch.dispatch(str(eid)) == 0  # already fanned out after commit
    assert get_session().scalar(select(func.count()).select_from(Notification).where(Notification.event_id == eid)) == 4
    assert len(receiver.requests) == 1
    assert get_session().get_one(NotificationEvent, eid).dispatched_at is not None
