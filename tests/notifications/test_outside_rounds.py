"""What the second outside round on notifications and gated access found, each now a test."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from catalog.models import AccessRequest
from marketplace.identity.models import Organization
from marketplace.kernel.db import get_session, unit_of_work
from marketplace.kernel.notify import Topic, publish
from marketplace.notifications.mailer import Mail
from marketplace.notifications.models import EmailMessage, WebhookEndpoint
from marketplace.notifications.services import dispatch
from tests.catalog.helpers import GOOD, ask, gated
from tests.factories import bearer, make_key, make_org, make_tenant
from tests.web.helpers import csrf_from, sign_in


def test_a_private_offer_is_bought_by_its_buyer_only(app, client):
    vendor, buyer, ds, _ = gated(client)
    req = ask(client, buyer, ds).json
    offer = {"title": "For you", "license": "CC-BY-4.0", "pricing_unit": "records", "unit_price_minor": 1, "currency": "EUR"}
    offer_id = client.post(f"/api/v1/access-requests/{req['id']}/approve", json={"offer": offer}, headers=bearer(vendor.keys["owner"])).json["offer_id"]
    other = make_org(buyer.owner)  # the buyer's owner also runs another organisation
    sha = client.get(f"/api/v1/offers/{offer_id}", headers=bearer(buyer.keys["owner"])).json["license_sha256"]
    body = {"offer_id": offer_id, "quantity": 10, "currency": "EUR", "license_sha256": sha, "payment_method": "invoice"}
    r = client.post("/api/v1/orders", json=dict(body, buyer_org_id=str(other.id)), headers=bearer(make_key(buyer.owner, other)))
    assert r.status_code == 404
    c = app.test_client()
    token = sign_in(c, buyer.owner)
    r = c.post("/api/v1/orders", json=dict(body, buyer_org_id=str(other.id)), headers={"X-CSRF-Token": token})
    assert r.status_code == 404, r.json
    r = c.post("/api/v1/orders", json=dict(body, buyer_org_id=str(buyer.org.id)), headers={"X-CSRF-Token": token})
    assert r.status_code == 201, r.json


@pytest.mark.parametrize("path,field,value", [("/api/v1/orgs/{org}", "name", "Acme\r\nBcc: x@evil.test"), ("/api/v1/orgs/{org}", "name", "Buyer\x1b]8;;http://evil\x07"),
                                              ("/api/v1/orgs/{org}", "name", "Evil\u202etxt.exe")])
def test_names_other_tenants_read_refuse_control_characters(app, client, path, field, value):
    t = make_tenant()
    r = client.patch(path.format(org=t.org.id), json={field: value}, headers=bearer(t.keys["owner"]))
    assert r.status_code == 400 and field in r.json["errors"], r.json


def test_reasons_and_titles_refuse_control_characters(app, client):
    vendor, buyer, ds, _ = gated(client)
    req = ask(client, buyer, ds).json
    h = bearer(vendor.keys["owner"])
    r = client.post(f"/api/v1/access-requests/{req['id']}/reject", json={"reason": "no\x1b[2J\x1b[32mAPPROVED"}, headers=h)
    assert r.status_code == 400 and "reason" in r.json["errors"]
    assert client.patch(f"/api/v1/datasets/{ds['id']}", json={"title": "Clinical\r\nBcc: x"}, headers=h).status_code == 400


def test_an_unsendable_message_is_failed_with_its_reason_and_subjects_are_one_line(notify_app, nclient, mailbox):
    t = make_tenant()
    with unit_of_work():  # a name stored before names were checked
        get_session().get_one(Organization, t.org.id).name = "Acme\r\nBcc: x@evil.test"
        publish(Topic.ACCESS_REQUEST_RECEIVED, t.org.id, {"dataset_title": "Notes\r\nX-Evil: 1", "buyer_name": "Acme\r\nBcc: x@evil.test",
                                                          "due_at": "2027-01-01T00:00:00+00:00", "access_request_id": str(uuid.uuid4())})
    got = mailbox.to(t.owner.email)
    assert len(got) == 1 and "\n" not in got[0]["Subject"] and got[0]["Bcc"] is None and got[0]["X-Evil"] is None

    class Broken:
        def send(self, mail: Mail) -> None:
            raise ValueError("header value contains a line break")

    notify_app.extensions["mailer"], real = Broken(), notify_app.extensions["mailer"]
    try:
        with unit_of_work():
            publish(Topic.INGEST_FINISHED, t.org.id, {"dataset_title": "X", "version": "1"})
    finally:
        notify_app.extensions["mailer"] = real
    rows = get_session().scalars(select(EmailMessage).where(EmailMessage.topic == "ingest.finished", EmailMessage.to_address == t.owner.email)).all()
    assert [(m.status, "line break" in (m.error or "")) for m in rows] == [("failed", True)]


def test_the_webhooks_page_refuses_what_the_api_refuses(notify_app, receiver):
    t = make_tenant()
    c = notify_app.test_client()
    sign_in(c, t.owner)
    token = csrf_from(c.get("/notifications/webhooks").get_data(as_text=True))
    for description, url in (("evil\u202egnp.exe", receiver.url), ("ok", receiver.url + "\u202e"), ("ok", receiver.url + "\x00")):
        r = c.post("/notifications/webhooks", data={"csrf_token": token, "url": url, "description": description})
        assert r.status_code in (200, 302) and r.status_code < 500
    assert get_session().scalars(select(WebhookEndpoint).where(WebhookEndpoint.org_id == t.org.id)).all() == []


def test_a_removed_member_hears_and_reads_nothing_more_of_the_organisation(notify_app, nclient, mailbox):
    t = make_tenant()
    h = bearer(t.keys["member"])
    assert nclient.put("/api/v1/notifications/preferences", json={"preferences": {"ingest.finished": "digest"}}, headers=h).status_code == 200
    with unit_of_work():
        publish(Topic.INGEST_FINISHED, t.org.id, {"dataset_title": "Internal", "version": "1"})
    c = notify_app.test_client()
    sign_in(c, t.member)
    assert c.get("/api/v1/notifications").json["items"]
    r = nclient.delete(f"/api/v1/orgs/{t.org.id}/members/{t.member.id}", headers=bearer(t.keys["owner"]))
    assert r.status_code == 204, r.json
    assert dispatch.send_digests() == 0 and mailbox.to(t.member.email) == []
    c2 = notify_app.test_client()
    sign_in(c2, t.member)
    assert c2.get("/api/v1/notifications").json == {"items": [], "unread": 0}


def test_marking_read_never_redirects_off_the_site(notify_app, nclient):
    t = make_tenant()
    with unit_of_work():
        publish(Topic.INGEST_FINISHED, t.org.id, {"dataset_title": "X", "version": "1"})
    c = notify_app.test_client()
    token = sign_in(c, t.owner)
    nid = c.get("/api/v1/notifications").json["items"][0]["id"]
    for target in ("/\t/evil.example", "//evil.example", "https://evil.example/", "/\\evil.example"):
        r = c.post("/notifications/read", data={"csrf_token": token, "id": nid, "next": target})
        assert r.status_code == 302 and "evil" not in r.headers["Location"], (target, r.headers["Location"])


def test_site_local_ipv6_is_refused(app, client):
    t = make_tenant()
    r = client.post(f"/api/v1/orgs/{t.org.id}/webhooks", json={"url": "http://[fec0::1]/x"}, headers=bearer(t.keys["owner"]))
    assert r.status_code == 400


def test_no_approval_for_a_dataset_off_the_market_and_the_gate_page_is_the_vendors(app, client):
    vendor, buyer, ds, _ = gated(client)
    req = ask(client, buyer, ds).json
    h = bearer(vendor.keys["owner"])
    assert client.patch(f"/api/v1/datasets/{ds['id']}", json={"visibility": "delisted"}, headers=h).status_code == 200
    r = client.post(f"/api/v1/access-requests/{req['id']}/approve", json={}, headers=h)
    assert r.status_code == 409 and "delisted" in r.json["detail"]
    assert get_session().get_one(AccessRequest, uuid.UUID(req["id"])).status.value == "pending"
    assert ask(client, make_tenant(), ds, GOOD).status_code == 409  # no new requests either
    assert client.post(f"/api/v1/access-requests/{req['id']}/reject", json={"reason": "Withdrawn from sale."}, headers=h).status_code == 200
    stranger = app.test_client()
    sign_in(stranger, make_tenant().owner)
    assert stranger.get(f"/vendor/datasets/{ds['id']}/access").status_code == 404
