"""Gated access over HTTP on both backends: a vendor's gate and typed questions, buyers' requests,
samples only for approved organisations, approval with a private offer in the same transaction,
rejection with a reason, overdue flags, the CSV report, notifications, and other tenants."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from catalog.models import AccessRequest
from catalog.services import access
from marketplace.kernel.db import get_session, unit_of_work, utcnow
from marketplace.kernel.notify import NotificationEvent
from tests.catalog.helpers import GOOD, ask, gated, published_dataset
from tests.factories import bearer, make_tenant


def test_the_whole_request_journey_gates_samples_and_ends_in_a_private_offer(app, client):
    vendor, buyer, ds, file_id = gated(client)
    # anyone who can see the dataset reads the form; the samples are the vendor's and approved buyers'
    form = client.get(f"/api/v1/datasets/{ds['id']}/access-gate").json
    assert [q["name"] for q in form["questions"]] == ["purpose", "sector", "country", "start", "dua"] and form["questions"][4]["required"] is True
    r = client.get(f"/api/v1/files/{file_id}/preview", headers=bearer(buyer.keys["owner"]))
    assert r.status_code == 403 and r.json["access_request_required"] is True
    assert client.get(f"/api/v1/files/{file_id}/preview").status_code == 403
    assert client.get(f"/api/v1/files/{file_id}/preview", headers=bearer(vendor.keys["member"])).status_code == 200
    # bad answers: each named, nothing stored
    bad = {"purpose": "x" * 301, "sector": "pirates", "country": "XX", "start": "31/01/2027", "dua": False, "shoe_size": "44"}
    r = ask(client, buyer, ds, bad)
    assert r.status_code == 400 and set(r.json["errors"]["answers"]) == {"purpose", "sector", "country", "start", "dua", "shoe_size"}, r.json
    assert get_session().scalar(select(func.count()).select_from(AccessRequest).where(AccessRequest.buyer_org_id == buyer.org.id)) == 0
    # a good request; the country is normalised, the terms' digest kept
    r = ask(client, buyer, ds)
    assert r.status_code == 201, r.json
    req = r.json
    assert req["status"] == "pending" and req["answers"]["country"] == "DE" and len(req["accepted_terms"]["dua"]) == 64 and not req["overdue"]
    assert ask(client, buyer, ds, role="owner").status_code == 409  # one open request per organisation
    # the vendor hears of it; the inbox lists it with the buyer's name
    assert get_session().scalar(select(func.count()).select_from(NotificationEvent).where(NotificationEvent.org_id == vendor.org.id,
                                                                                           NotificationEvent.topic == "access_request.received")) == 1
    inbox = client.get(f"/api/v1/orgs/{vendor.org.id}/access-requests", headers=bearer(vendor.keys["admin"])).json
    assert [x["id"] for x in inbox] == [req["id"]] and inbox[0]["buyer_name"] == buyer.org.name
    # the buyer cannot approve its own request; a vendor member (not admin) neither
    assert client.post(f"/api/v1/access-requests/{req['id']}/approve", json={}, headers=bearer(buyer.keys["owner"])).status_code == 403
    assert client.post(f"/api/v1/access-requests/{req['id']}/approve", json={}, headers=bearer(vendor.keys["member"])).status_code == 403
    # an approval whose offer is refused approves nothing
    offer = {"title": "For your hospital", "license": "No-Such-Licence", "pricing_unit": "records", "unit_price_minor": 1, "currency": "EUR"}
    r = client.post(f"/api/v1/access-requests/{req['id']}/approve", json={"offer": offer}, headers=bearer(vendor.keys["admin"]))
    assert r.status_code == 400
    assert client.get(f"/api/v1/access-requests/{req['id']}", headers=bearer(buyer.keys["member"])).json["status"] == "pending"
    offer["license"] = "CC-BY-4.0"
    r = client.post(f"/api/v1/access-requests/{req['id']}/approve", json={"offer": offer, "reason": "Welcome."}, headers=bearer(vendor.keys["admin"]))
    assert r.status_code == 200 and r.json["status"] == "approved" and r.json["offer_id"], r.json
    assert client.post(f"/api/v1/access-requests/{req['id']}/reject", json={"reason": "late"}, headers=bearer(vendor.keys["admin"])).status_code == 409
    # the private offer is the buyer's alone; the samples are open to it now
    o = client.get(f"/api/v1/offers/{r.json['offer_id']}", headers=bearer(buyer.keys["member"]))
    assert o.status_code == 200 and o.json["private_buyer_org_id"] == str(buyer.org.id)
    assert client.get(f"/api/v1/offers/{r.json['offer_id']}", headers=bearer(make_tenant().keys["owner"])).status_code == 404
    assert client.get(f"/api/v1/files/{file_id}/preview", headers=bearer(buyer.keys["auditor"])).status_code == 200
    assert client.get(f"/api/v1/files/{file_id}/preview", headers=bearer(make_tenant().keys["owner"])).status_code == 403
    assert get_session().scalar(select(func.count()).select_from(NotificationEvent).where(NotificationEvent.org_id == buyer.org.id,
                                                                                           NotificationEvent.topic == "access_request.approved")) == 1
    # the report: one row, the answers as columns, a formula made harmless
    r = client.get(f"/api/v1/orgs/{vendor.org.id}/access-report", headers=bearer(vendor.keys["auditor"]))
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert len(rows) == 1 and rows[0]["status"] == "approved" and rows[0]["answer:purpose"].startswith("'=HYPERLINK") and rows[0]["answer:country"] == "DE"
    assert rows[0]["buyer"] == buyer.org.name and "dua=" in rows[0]["accepted_terms_sha256"]


def test_rejection_needs_a_reason_the_buyer_reads_and_a_new_request_may_follow(app, client):
    vendor, buyer, ds, _ = gated(client, samples=False)
    req = ask(client, buyer, ds).json
    h = bearer(vendor.keys["owner"])
    assert client.post(f"/api/v1/access-requests/{req['id']}/reject", json={"reason": ""}, headers=h).status_code == 400
    assert client.post(f"/api/v1/access-requests/{req['id']}/reject", json={"reason": "x" * 201}, headers=h).status_code == 400
    r = client.post(f"/api/v1/access-requests/{req['id']}/reject", json={"reason": "Only for hospitals in the EU."}, headers=h)
    assert r.status_code == 200 and r.json["status"] == "rejected"
    mine = client.get(f"/api/v1/orgs/{buyer.org.id}/access-requests?role=buyer", headers=bearer(buyer.keys["member"])).json
    assert mine[0]["reason"] == "Only for hospitals in the EU." and mine[0]["vendor_name"] == vendor.org.name
    again = ask(client, buyer, ds)
    assert again.status_code == 201
    assert client.post(f"/api/v1/access-requests/{again.json['id']}/withdraw", headers=bearer(buyer.keys["member"])).json["status"] == "withdrawn"
    assert client.post(f"/api/v1/access-requests/{again.json['id']}/withdraw", headers=bearer(buyer.keys["member"])).status_code == 409


def test_overdue_requests_are_flagged_to_both_sides_and_the_vendor_told_once(app, client):
    vendor, buyer, ds, _ = gated(client)
    req = ask(client, buyer, ds).json
    with unit_of_work():
        get_session().get_one(AccessRequest, uuid.UUID(req["id"])).due_at = utcnow() - timedelta(hours=1)
    assert client.get(f"/api/v1/orgs/{vendor.org.id}/access-requests", headers=bearer(vendor.keys["owner"])).json[0]["overdue"] is True
    assert client.get(f"/api/v1/access-requests/{req['id']}", headers=bearer(buyer.keys["member"])).json["overdue"] is True
    assert access.warn_overdue() == 1
    assert access.warn_overdue() == 0
    assert get_session().scalar(select(func.count()).select_from(NotificationEvent).where(NotificationEvent.org_id == vendor.org.id,
                                                                                           NotificationEvent.topic == "access_request.overdue")) == 1


def test_other_tenants_see_no_request_and_cannot_act_on_one(app, client):
    vendor, buyer, ds, _ = gated(client)
    req = ask(client, buyer, ds).json
    stranger = make_tenant(vendor=True)
    h = bearer(stranger.keys["owner"])
    assert client.get(f"/api/v1/access-requests/{req['id']}", headers=h).status_code == 404
    for action, body in (("approve", {}), ("reject", {"reason": "no"}), ("withdraw", None)):
        assert client.post(f"/api/v1/access-requests/{req['id']}/{action}", json=body, headers=h).status_code == 404
    assert client.get(f"/api/v1/orgs/{vendor.org.id}/access-requests", headers=h).status_code == 404
    assert client.get(f"/api/v1/orgs/{vendor.org.id}/access-report", headers=h).status_code == 404
    # asking on behalf of an organisation one is not in
    r = client.post(f"/api/v1/datasets/{ds['id']}/access-requests", json={"org_id": str(buyer.org.id), "answers": GOOD}, headers=h)
    assert r.status_code == 400 and "org_id" in r.json["errors"]  # the same answer for an organisation that does not exist
    r2 = client.post(f"/api/v1/datasets/{ds['id']}/access-requests", json={"org_id": str(uuid.uuid4()), "answers": GOOD}, headers=h)
    assert (r2.status_code, r2.json["errors"]) == (r.status_code, r.json["errors"])
    # a vendor cannot gate another vendor's dataset; an ungated dataset takes no requests
    assert client.put(f"/api/v1/datasets/{ds['id']}/access-gate", json={"samples": False, "private_offers": False}, headers=h).status_code == 404
    plain, _ = published_dataset(client, stranger.keys["owner"], {"a.jsonl": b'{"a": 1}\n'})
    assert client.get(f"/api/v1/datasets/{plain['id']}/access-gate").status_code == 404
    assert ask(client, buyer, plain).status_code == 409


def test_bad_gates_are_refused_with_each_question_named(app, client):
    vendor = make_tenant(vendor=True)
    ds, _ = published_dataset(client, vendor.keys["owner"], {"a.jsonl": b'{"a": 1}\n'})
    fields = [{"name": "Bad Name", "type": "text"}, {"name": "s", "type": "select", "options": ["only one"]}, {"name": "c", "type": "checkbox"},
              {"name": "s2", "type": "nope"}]
    r = client.put(f"/api/v1/datasets/{ds['id']}/access-gate", json={"samples": True, "private_offers": False, "questions": fields}, headers=bearer(vendor.keys["owner"]))
    assert r.status_code == 400, r.json
    fields = [{"name": "s", "type": "select", "options": ["only one"]}, {"name": "c", "type": "checkbox"}, {"name": "s", "type": "text"}]
    r = client.put(f"/api/v1/datasets/{ds['id']}/access-gate", json={"samples": True, "private_offers": False, "questions": fields}, headers=bearer(vendor.keys["owner"]))
    assert r.status_code == 400 and set(r.json["errors"]["questions"]) == {"0", "1", "2"}, r.json
    assert client.get(f"/api/v1/datasets/{ds['id']}/access-gate").status_code == 404


def test_outside_round_findings_on_access_requests(app, client):
    """Found from outside: an approval's offer took units and limits the offers API refuses; gated
    samples leaked through column statistics; answers took terminal escapes and text-direction
    overrides; a select took the same option twice."""
    vendor, buyer, ds, file_id = gated(client)
    req = ask(client, buyer, ds).json
    h = bearer(vendor.keys["owner"])
    base = {"title": "P", "license": "CC-BY-4.0", "unit_price_minor": 5, "currency": "EUR"}
    for bad in ({"pricing_unit": "bytes"}, {"pricing_unit": "records", "included_quota": 10**15}, {"pricing_unit": "records", "unit_price_minor": 10**12},
                {"pricing_unit": "records", "extra": 1}, {"pricing_unit": "records", "title": "   "}):
        r = client.post(f"/api/v1/access-requests/{req['id']}/approve", json={"offer": dict(base, **bad)}, headers=h)
        assert r.status_code == 400 and "offer" in r.json.get("errors", {}), (bad, r.status_code, r.json)
    assert client.get(f"/api/v1/access-requests/{req['id']}", headers=h).json["status"] == "pending"
    r = client.post(f"/api/v1/access-requests/{req['id']}/approve", json={"offer": dict(base, pricing_unit="gib")}, headers=h)
    assert r.status_code == 200 and r.json["offer_id"]
    # statistics of gated samples: not for strangers; redacted fields' statistics go with them
    versions = client.get(f"/api/v1/datasets/{ds['id']}/versions", headers=h).json
    listing = client.get(f"/api/v1/versions/{versions[0]['id']}/files").json
    assert listing[0]["stats"] is None
    assert client.get(f"/api/v1/versions/{versions[0]['id']}/files", headers=h).json[0]["stats"]
    client.put(f"/api/v1/files/{file_id}/preview", json={"drop_fields": ["note"]}, headers=h)
    assert "note" not in (client.get(f"/api/v1/versions/{versions[0]['id']}/files", headers=h).json[0]["stats"] or {})
    # hostile text in answers and questions
    other = make_tenant()
    for evil in ("\x1b[31mRED\x1b[0m", "right\u202eleft", "zero\u200bwidth"):
        r = ask(client, other, ds, dict(GOOD, purpose=evil))
        assert r.status_code == 400 and "purpose" in r.json["errors"]["answers"], evil
    assert ask(client, other, ds, dict(GOOD, purpose="line one\nline two\tand a tab")).status_code == 201
    r = client.put(f"/api/v1/datasets/{ds['id']}/access-gate", json={"samples": True, "private_offers": False,
                   "questions": [{"name": "s", "type": "select", "options": ["x", "x"]}]}, headers=h)
    assert r.status_code == 400
    r = client.put(f"/api/v1/datasets/{ds['id']}/access-gate", json={"samples": True, "private_offers": False,
                   "questions": [{"name": "s", "type": "text", "label": "Purpose\u202e"}]}, headers=h)
    assert r.status_code == 400
    # the vendor withdrawing the buyer's request is told who may
    pending = ask(client, make_tenant(), ds).json
    r = client.post(f"/api/v1/access-requests/{pending['id']}/withdraw", headers=h)
    assert r.status_code == 403 and "buyer organisation" in r.json["detail"]
