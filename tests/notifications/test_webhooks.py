"""Webhooks as a receiver sees them: a real HTTP server on loopback verifies every delivery with
the `standardwebhooks` library; the retry schedule runs on a clock the test controls; 410 and
days of failures disable an endpoint; SSRF targets are refused; another tenant sees nothing."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook, WebhookVerificationError

from marketplace.kernel.db import get_session, unit_of_work, utcnow
from marketplace.kernel.notify import Topic, publish
from marketplace.notifications import webhook_sender
from marketplace.notifications.models import DeliveryStatus, EmailMessage, EndpointStatus, Notification, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from marketplace.notifications.services import dispatch
from tests.factories import bearer, make_tenant
from tests.notifications.helpers import bought, pay, register


def _verify(secret: str, req: dict) -> dict:
    return Webhook(secret).verify(req["body"], req["headers"])


def test_an_order_paid_reaches_the_buyers_endpoint_signed_and_verifiable(notify_app, nclient, receiver):
    vendor, buyer, offer, o = bought(nclient)
    ep = register(nclient, buyer, receiver.url)
    paid = pay(nclient, vendor, o)
    # order.paid and grant.created, both to the buyer (the vendor registered no endpoint)
    types = sorted(p["type"] for p in receiver.payloads())
    assert types == ["grant.created", "order.paid"], types
    req = next(r for r in receiver.requests if json.loads(r["body"])["type"] == "order.paid")
    body = _verify(ep["secret"], req)
    assert body["data"]["order_id"] == o["id"] and body["data"]["role"] == "buyer" and body["data"]["grant_id"] == paid["grant_id"]
    assert body["data"]["amount"] and body["data"]["dataset_title"]
    assert req["headers"]["webhook-id"].startswith("msg_") and req["headers"]["webhook-signature"].startswith("v1,")
    # A tampered body, a wrong secret and an old timestamp all fail verification.
    with pytest.raises(WebhookVerificationError):
        Webhook(ep["secret"]).verify(req["body"].replace(o["id"], str(uuid.uuid4())), req["headers"])
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(req["body"], req["headers"])
    old = dict(req["headers"], **{"webhook-timestamp": str(int((utcnow() - timedelta(minutes=10)).timestamp()))})
    with pytest.raises(WebhookVerificationError):
        Webhook(ep["secret"]).verify(req["body"], old)
    # The delivery log shows the attempt; a redelivery keeps the webhook-id and the body.
    log = nclient.get(f"/api/v1/webhooks/{ep['id']}/deliveries", headers=bearer(buyer.keys["owner"])).json
    d = next(x for x in log if x["topic"] == "order.paid")
    assert d["status"] == "succeeded" and d["message_id"] == req["headers"]["webhook-id"] and len(d["attempts"]) == 1
    assert d["attempts"][0]["status_code"] == 200 and d["attempts"][0]["response_ms"] >= 0 and d["payload"] == req["body"]
    r = nclient.post(f"/api/v1/webhooks/{ep['id']}/deliveries/{d['id']}/redeliver", headers=bearer(buyer.keys["admin"]))
    assert r.status_code == 200 and r.json["status_code"] == 200 and r.json["trigger"] == "manual"
    again = receiver.requests[-1]
    assert again["headers"]["webhook-id"] == req["headers"]["webhook-id"] and again["body"] == req["body"]
    _verify(ep["secret"], again)


def test_the_vendor_hears_of_the_payment_with_its_own_payload_and_nothing_of_other_tenants(notify_app, nclient, receiver):
    vendor, buyer, offer, o = bought(nclient)
    other_vendor, other_buyer, _, other_order = bought(nclient)
    ep = register(nclient, vendor, receiver.url, topics=["order.paid"])
    pay(nclient, vendor, o)
    pay(nclient, other_vendor, other_order)
    assert [p["type"] for p in receiver.payloads()] == ["order.paid"]
    body = _verify(ep["secret"], receiver.requests[0])
    assert body["data"]["role"] == "vendor" and body["data"]["order_id"] == o["id"]
    text = receiver.requests[0]["body"]
    assert other_order["id"] not in text and str(other_buyer.org.id) not in text and str(other_vendor.org.id) not in text


def test_secret_rotation_signs_with_both_secrets_during_the_overlap(notify_app, nclient, receiver):
    buyer = make_tenant()
    ep = register(nclient, buyer, receiver.url)
    r = nclient.post(f"/api/v1/webhooks/{ep['id']}/rotate-secret", headers=bearer(buyer.keys["owner"]))
    assert r.status_code == 200 and r.json["secret"] != ep["secret"] and r.json["previous_secret_until"]
    new = r.json["secret"]
    assert nclient.post(f"/api/v1/webhooks/{ep['id']}/test", headers=bearer(buyer.keys["owner"])).json["status_code"] == 200
    req = receiver.requests[-1]
    assert len(req["headers"]["webhook-signature"].split(" ")) == 2
    _verify(new, req)
    _verify(ep["secret"], req)  # receivers still on the old secret keep working
    # After the overlap only the new secret signs.
    with unit_of_work() as session:
        row = session.get_one(WebhookEndpoint, uuid.UUID(ep["id"]))
        row.previous_secret_until = utcnow() - timedelta(seconds=1)
    nclient.post(f"/api/v1/webhooks/{ep['id']}/test", headers=bearer(buyer.keys["owner"]))
    req = receiver.requests[-1]
    assert len(req["headers"]["webhook-signature"].split(" ")) == 1
    _verify(new, req)
    with pytest.raises(WebhookVerificationError):
        _verify(ep["secret"], req)


def _announce(org_id: uuid.UUID, topic: Topic = Topic.INGEST_FINISHED) -> uuid.UUID:
    with unit_of_work():
        eid = publish(topic, org_id, {"dataset_id": str(uuid.uuid4()), "dataset_title": "Clinical notes", "version": "1.0"})
    assert eid is not None
    return eid


def test_retries_follow_the_standard_webhooks_schedule_on_a_controlled_clock(notify_app, nclient, receiver):
    buyer = make_tenant()
    ep = register(nclient, buyer, receiver.url)
    receiver.default = (503, {})
    _announce(buyer.org.id)
    d = get_session().scalars(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == uuid.UUID(ep["id"]))).one()
    assert d.attempts == 1 and d.status == DeliveryStatus.pending
    t = d.next_attempt_at
    first = get_session().scalars(select(WebhookAttempt.attempted_at).where(WebhookAttempt.delivery_id == d.id)).one()
    assert t - first == timedelta(seconds=5)
    ids = {receiver.requests[0]["headers"]["webhook-id"]}
    expected = [timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=5), timedelta(hours=10), timedelta(hours=10)]
    for n, gap in enumerate(expected, start=2):
        # A moment before it is due nothing is sent; when it is due, exactly one attempt. (The
        # receiver counts: the sweep's own count also includes other tests' committed rows.)
        dispatch.sweep(now=t - timedelta(seconds=1))
        assert len(receiver.requests) == n - 1
        dispatch.sweep(now=t)
        assert len(receiver.requests) == n
        get_session().expire_all()
        d = get_session().get_one(WebhookDelivery, d.id)
        assert d.attempts == n and d.next_attempt_at == t + gap, (n, d.next_attempt_at - t)
        ids.add(receiver.requests[-1]["headers"]["webhook-id"])
        t = d.next_attempt_at
    dispatch.sweep(now=t)  # the eighth and last
    get_session().expire_all()
    d = get_session().get_one(WebhookDelivery, d.id)
    assert d.status == DeliveryStatus.failed and d.attempts == 8 and d.next_attempt_at is None
    assert len(receiver.requests) == 8 and ids == {receiver.requests[0]["headers"]["webhook-id"]}
    dispatch.sweep(now=t + timedelta(days=1))
    assert len(receiver.requests) == 8
    log = nclient.get(f"/api/v1/webhooks/{ep['id']}/deliveries", headers=bearer(buyer.keys["owner"])).json
    assert log[0]["status"] == "failed" and [a["status_code"] for a in log[0]["attempts"]] == [503] * 8


def test_a_410_disables_the_endpoint_and_the_organisation_is_told(notify_app, nclient, receiver, mailbox):
    buyer = make_tenant()
    ep = register(nclient, buyer, receiver.url)
    receiver.answers.append((410, {}))
    _announce(buyer.org.id)
    row = get_session().get_one(WebhookEndpoint, uuid.UUID(ep["id"]))
    assert row.status == EndpointStatus.disabled and "410" in (row.status_reason or "")
    got = nclient.get(f"/api/v1/webhooks/{ep['id']}", headers=bearer(buyer.keys["owner"])).json
    assert got["status"] == "disabled"
    # Nothing more is sent to it; its members hear of it in the centre and by e-mail.
    _announce(buyer.org.id)
    assert len(receiver.requests) == 1
    titles = [n["title"] for n in nclient.get("/api/v1/notifications", headers=bearer(buyer.keys["owner"])).json["items"]]
    assert any("disabled" in t for t in titles), titles
    assert any("disabled" in m["Subject"] for m in mailbox.to(buyer.owner.email))
    # Enabling it starts afresh.
    r = nclient.patch(f"/api/v1/webhooks/{ep['id']}", json={"enabled": True}, headers=bearer(buyer.keys["admin"]))
    assert r.status_code == 200 and r.json["status"] == "active"
    _announce(buyer.org.id)
    assert len(receiver.requests) == 2


def test_days_of_failures_disable_the_endpoint(notify_app, nclient, receiver, mailbox):
    buyer = make_tenant()
    ep = register(nclient, buyer, receiver.url)
    receiver.default = (500, {})
    _announce(buyer.org.id)
    row = get_session().get_one(WebhookEndpoint, uuid.UUID(ep["id"]))
    assert row.status == EndpointStatus.active and row.failing_since is not None
    start = row.failing_since
    # Still failing four days on: still active. Five days on: disabled, and the admins are e-mailed.
    d = get_session().scalars(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == row.id)).one()
    with unit_of_work():
        get_session().get_one(WebhookDelivery, d.id).next_attempt_at = start
    dispatch.deliver(str(d.id), now=start + timedelta(days=4))
    get_session().expire_all()
    assert get_session().get_one(WebhookEndpoint, row.id).status == EndpointStatus.active
    with unit_of_work():
        get_session().get_one(WebhookDelivery, d.id).next_attempt_at = start
    dispatch.deliver(str(d.id), now=start + timedelta(days=5))
    get_session().expire_all()
    row = get_session().get_one(WebhookEndpoint, row.id)
    assert row.status == EndpointStatus.disabled and "5 days" in (row.status_reason or "")
    assert any("disabled" in m["Subject"] for m in mailbox.to(buyer.admin.email))
    # A success in between resets the clock.
    r = nclient.patch(f"/api/v1/webhooks/{ep['id']}", json={"enabled": True}, headers=bearer(buyer.keys["admin"]))
    assert r.json["failing_since"] is None


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/x", "http://localhost/x", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.7/hook",
                                 "http://[::1]/x", "http://[::ffff:127.0.0.1]/x", "http://0.0.0.0/x", "http://192.168.1.1/", "ftp://example.com/x",
                                 "http://user:pw@example.com/x", "file:///etc/passwd", "http:///nohost"])
def test_ssrf_targets_are_refused_at_registration(app, client, url):
    buyer = make_tenant()
    r = client.post(f"/api/v1/orgs/{buyer.org.id}/webhooks", json={"url": url}, headers=bearer(buyer.keys["owner"]))
    assert r.status_code == 400 and r.headers["Content-Type"].startswith("application/problem+json"), (url, r.status_code, r.json)
    assert "url" in r.json.get("errors", {}), r.json
    assert get_session().scalar(select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.org_id == buyer.org.id)) == 0


def test_delivery_rechecks_the_address_and_never_follows_a_redirect(notify_app, nclient, receiver):
    # The sender itself refuses a private address when private targets are not allowed.
    resp = webhook_sender.post(receiver.url, "{}", {}, allow_private=False, timeout=2)
    assert resp.status_code is None and resp.error and resp.error.startswith("refused") and receiver.requests == []
    # A redirect is a failed attempt, and its target is never called.
    buyer = make_tenant()
    ep = register(nclient, buyer, receiver.url)
    receiver.answers.append((307, {"Location": "http://169.254.169.254/latest/meta-data/"}))
    _announce(buyer.org.id)
    assert len(receiver.requests) == 1
    log = nclient.get(f"/api/v1/webhooks/{ep['id']}/deliveries", headers=bearer(buyer.keys["owner"])).json
    assert log[0]["status"] == "pending" and "redirect" in log[0]["attempts"][0]["error"]


def test_a_slow_or_huge_answer_is_bounded(notify_app, nclient):
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    port = srv.getsockname()[1]

    def serve() -> None:
        conn, _ = srv.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n" + b"x" * 200_000)
        conn.close()
        conn, _ = srv.accept()  # the second never answers
        threading.Event().wait(5)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    big = webhook_sender.post(f"http://127.0.0.1:{port}/", "{}", {}, allow_private=True, timeout=2)
    assert big.excerpt is not None and len(big.excerpt) <= 1000
    slow = webhook_sender.post(f"http://127.0.0.1:{port}/", "{}", {}, allow_private=True, timeout=1)
    assert slow.status_code is None and "timed out" in (slow.error or "")
    srv.close()


def test_another_tenant_sees_no_endpoint_delivery_or_notification(notify_app, nclient, receiver):
    vendor, buyer, offer, o = bought(nclient)
    ep = register(nclient, buyer, receiver.url)
    pay(nclient, vendor, o)
    d = nclient.get(f"/api/v1/webhooks/{ep['id']}/deliveries", headers=bearer(buyer.keys["owner"])).json[0]
    other = make_tenant()
    h = bearer(other.keys["owner"])
    for method, path in [("get", f"/api/v1/webhooks/{ep['id']}"), ("patch", f"/api/v1/webhooks/{ep['id']}"), ("delete", f"/api/v1/webhooks/{ep['id']}"),
                         ("get", f"/api/v1/webhooks/{ep['id']}/deliveries"), ("post", f"/api/v1/webhooks/{ep['id']}/rotate-secret"),
                         ("post", f"/api/v1/webhooks/{ep['id']}/test"), ("post", f"/api/v1/webhooks/{ep['id']}/deliveries/{d['id']}/redeliver"),
                         ("get", f"/api/v1/orgs/{buyer.org.id}/webhooks"), ("post", f"/api/v1/orgs/{buyer.org.id}/webhooks")]:
        kw = {"json": {"url": receiver.url}} if method in ("patch", "post") and path.endswith(("webhooks", ep["id"])) else {}
        r = getattr(nclient, method)(path, headers=h, **kw)
        assert r.status_code == 404, (method, path, r.status_code)
    # The vendor of the same order cannot read the buyer's endpoint either.
    assert nclient.get(f"/api/v1/webhooks/{ep['id']}", headers=bearer(vendor.keys["owner"])).status_code == 404
    # Within the organisation, members and auditors do not manage or read endpoints.
    assert nclient.get(f"/api/v1/orgs/{buyer.org.id}/webhooks", headers=bearer(buyer.keys["member"])).status_code == 403
    assert nclient.post(f"/api/v1/orgs/{buyer.org.id}/webhooks", json={"url": receiver.url}, headers=bearer(buyer.keys["member"])).status_code == 403
    # The other tenant's centre is empty; our notification ids are not found for it.
    mine = nclient.get("/api/v1/notifications", headers=bearer(buyer.keys["owner"])).json["items"]
    assert mine and nclient.get("/api/v1/notifications", headers=h).json == {"items": [], "unread": 0}
    r = nclient.post("/api/v1/notifications/read", json={"ids": [mine[0]["id"]]}, headers=h)
    assert r.status_code == 404
    assert nclient.get("/api/v1/notifications", headers=bearer(buyer.keys["owner"])).json["unread"] == len(mine)
    # No e-mail row of the buyer's event went to anyone outside the buyer organisation.
    members = {buyer.owner.email, buyer.admin.email, buyer.member.email, buyer.auditor.email}
    vendor_members = {vendor.owner.email, vendor.admin.email, vendor.member.email, vendor.auditor.email}
    # (other tests' committed orders left grant.created mail to their own tenants: only ours count)
    rows = [m for m in get_session().scalars(select(EmailMessage).where(EmailMessage.topic == "grant.created")) if m.to_address in members | vendor_members]
    assert rows and {m.to_address for m in rows} <= members
    assert get_session().scalar(select(func.count()).select_from(Notification).where(Notification.user_id == other.owner.id)) == 0


def test_bad_endpoint_input_is_a_clear_400(notify_app, nclient):
    buyer = make_tenant()
    h = bearer(buyer.keys["owner"])
    url = f"/api/v1/orgs/{buyer.org.id}/webhooks"
    for body in [{"url": "https://example.com/x", "topics": ["order.nope"]}, {"url": "https://example.com/\u202ex"}, {"url": "x" * 3000},
                 {"url": "https://example.com/x", "extra": 1}, {"url": "https://example.com/x", "description": "\ud800"}, {}]:
        r = nclient.post(url, json=body, headers=h)
        assert r.status_code == 400 and r.headers["Content-Type"].startswith("application/problem+json"), (body, r.status_code)


def test_a_receiver_trickling_its_answer_cannot_hold_an_attempt_open(notify_app):
    """Found from outside: the timeout bounded each read, so a byte every few seconds kept one
    attempt (and the worker making it) open for days. A watchdog now ends the whole attempt."""
    import socket
    import threading
    import time as _time

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    sent = []

    def serve() -> None:
        conn, _ = srv.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n")
        try:
            for _ in range(40):
                conn.sendall(b"x")
                sent.append(1)
                _time.sleep(0.5)
        except OSError:
            pass
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    resp = webhook_sender.post(f"http://127.0.0.1:{port}/", "{}", {}, allow_private=True, timeout=2)
    assert resp.status_code is None and "timed out" in (resp.error or ""), resp
    assert len(sent) < 40  # cut before the receiver finished its 20-second trickle
    srv.close()


@pytest.mark.parametrize("url", ["http://[2002:7f00:1::]/x", "http://[2002:a9fe:a9fe::1]/x", "http://[2002:c0a8:0101::]/x", "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x"])
def test_ipv4_inside_6to4_and_teredo_is_judged_by_the_ipv4_address(app, client, url):
    buyer = make_tenant()
    r = client.post(f"/api/v1/orgs/{buyer.org.id}/webhooks", json={"url": url}, headers=bearer(buyer.keys["owner"]))
    assert r.status_code == 400, (url, r.json)


def test_non_ascii_urls_are_sent_encoded_and_one_broken_endpoint_never_stops_the_sweep(notify_app, nclient, receiver):
    buyer, other = make_tenant(), make_tenant()
    ep = register(nclient, buyer, receiver.url + "/caf\u00e9?q=\u00e9")
    assert nclient.post(f"/api/v1/webhooks/{ep['id']}/test", headers=bearer(buyer.keys["owner"])).json["status_code"] == 200
    assert receiver.requests[-1]["path"] == "/hooks/caf%C3%A9?q=%C3%A9"
    # a delivery whose sending raises (here: a secret that no longer decrypts) is logged, and
    # the sweep still makes the other tenant's due attempt
    broken = register(nclient, buyer, receiver.url)
    ok = register(nclient, other, receiver.url)
    receiver.default = (500, {})
    _announce(buyer.org.id)
    _announce(other.org.id)
    with unit_of_work():
        get_session().get_one(WebhookEndpoint, uuid.UUID(broken["id"])).secret_enc = "not-a-fernet-token"
    receiver.default = (200, {})
    before = len(receiver.requests)
    later = utcnow() + timedelta(seconds=6)
    dispatch.sweep(now=later)
    got = [json.loads(r["body"])["type"] for r in receiver.requests[before:]]
    assert got.count("ingest.finished") >= 2  # the first endpoint's retry and the other tenant's
    assert ok["id"]


def test_inputs_are_as_strict_as_everywhere_else(notify_app, nclient, receiver):
    buyer = make_tenant()
    ep = register(nclient, buyer, receiver.url)
    h = bearer(buyer.keys["owner"])
    assert nclient.get("/api/v1/notifications?before=9999-12-31T23:59:59-23:59", headers=h).status_code == 400
    assert nclient.patch(f"/api/v1/webhooks/{ep['id']}", json={"enabled": "false"}, headers=h).status_code == 400
    assert nclient.post("/api/v1/notifications/read", json={"all": "true"}, headers=h).status_code == 400
    assert nclient.get(f"/api/v1/webhooks/{ep['id']}/deliveries?limit=%EF%BC%95", headers=h).status_code == 400


def test_an_api_key_reads_only_its_own_organisations_notifications(notify_app, nclient):
    from marketplace.kernel.principal import OrgRole
    from tests.factories import add_member, make_key

    a, b = make_tenant(), make_tenant()
    add_member(b.org, b.owner, OrgRole.member, user=a.admin)  # a.admin belongs to both
    _announce(a.org.id)
    _announce(b.org.id)
    key_b = make_key(a.admin, b.org, scopes=["notifications"])
    items = nclient.get("/api/v1/notifications", headers=bearer(key_b)).json["items"]
    assert {i["org_id"] for i in items} == {str(b.org.id)}
    nclient.post("/api/v1/notifications/read", json={"all": True}, headers=bearer(key_b))
    assert nclient.get("/api/v1/notifications", headers=bearer(a.keys["admin"])).json["unread"] == 1


def test_the_disabled_endpoint_notice_names_the_host_not_the_path(notify_app, nclient, receiver, mailbox):
    buyer = make_tenant()
    register(nclient, buyer, receiver.url + "/token-abc123")
    receiver.answers.append((410, {}))
    _announce(buyer.org.id)
    titles = [n["title"] for n in nclient.get("/api/v1/notifications", headers=bearer(buyer.keys["member"])).json["items"]]
    notice = next(t for t in titles if "disabled" in t)
    assert "127.0.0.1" in notice and "token-abc123" not in notice
    assert all("token-abc123" not in m.get_body(("plain",)).get_content() for m in mailbox.to(buyer.member.email))
