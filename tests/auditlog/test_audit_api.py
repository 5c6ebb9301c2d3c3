"""The audit API by role: who sees which events, exports and proofs; nothing leaks across tenants."""

from __future__ import annotations

import json

from marketplace.auditlog import services as audit_svc
from marketplace.formats.auditchain import verify_export_lines, verify_inclusion
from tests.auditlog.helpers import purchase
from tests.factories import bearer, make_key, make_org, make_tenant, make_user


def events(client, key, **params):
    q = "&".join(f"{k}={v}" for k, v in params.items())
    return client.get(f"/api/v1/audit/events?{q}", headers=bearer(key))


def test_vendor_sees_access_to_its_data_without_buyer_ips(app, client):
    vendor, buyer, gid = purchase(client)
    r = events(client, vendor.keys["auditor"], org_id=vendor.org.id, action="delivery.authorize")
    assert r.status_code == 200
    items = r.json["items"]
    assert items and all(i["subject_org_id"] == str(vendor.org.id) for i in items)
    assert items[0]["actor_org_id"] == str(buyer.org.id) and items[0]["ip"] is None
    mine = events(client, buyer.keys["auditor"], org_id=buyer.org.id, action="delivery.authorize").json["items"]
    assert mine and mine[0]["ip"] == "127.0.0.1"


def test_nothing_leaks_to_other_tenants(app, client):
    vendor, buyer, gid = purchase(client)
    stranger = make_tenant()
    for role in ("owner", "admin", "auditor"):
        for org in (vendor.org.id, buyer.org.id):
            assert events(client, stranger.keys[role], org_id=org).status_code == 404
            assert client.get(f"/api/v1/audit/export?org_id={org}", headers=bearer(stranger.keys[role])).status_code == 404
    own = events(client, stranger.keys["owner"], org_id=stranger.org.id).json["items"]
    assert all(str(vendor.org.id) not in json.dumps(i) and str(buyer.org.id) not in json.dumps(i) for i in own)
    assert events(client, stranger.keys["owner"]).status_code == 400  # org_id required
    assert events(client, buyer.keys["member"], org_id=buyer.org.id).status_code == 403  # members do not read the log
    audit_svc.seal(grace_seconds=0)
    some = events(client, vendor.keys["owner"], org_id=vendor.org.id).json["items"][0]["id"]
    assert client.get(f"/api/v1/audit/events/{some}/proof", headers=bearer(stranger.keys["owner"])).status_code == 404


def test_platform_compliance_sees_everything_and_verifies(app, client):
    vendor, buyer, gid = purchase(client)
    officer = make_user(platform_compliance=True)
    key = make_key(officer, make_org(officer), scopes=["audit:read"])
    all_events = events(client, key, limit=1000).json["items"]
    orgs = {i["actor_org_id"] for i in all_events} | {i["subject_org_id"] for i in all_events}
    assert {str(vendor.org.id), str(buyer.org.id)} <= orgs
    audit_svc.seal(grace_seconds=0)
    r = client.get("/api/v1/audit/verify", headers=bearer(key))
    assert r.status_code == 200 and r.json["ok"], r.json
    assert client.get("/api/v1/audit/verify", headers=bearer(vendor.keys["owner"])).status_code == 403
    lines = client.get("/api/v1/audit/export", headers=bearer(key)).get_data(as_text=True).splitlines()
    assert verify_export_lines(lines, audit_svc.public_key_b64()).ok


def test_organisation_export_carries_a_proof_per_event(app, client):
    vendor, buyer, gid = purchase(client)
    audit_svc.seal(grace_seconds=0)
    r = client.get(f"/api/v1/audit/export?org_id={buyer.org.id}", headers=bearer(buyer.keys["auditor"]))
    lines = r.get_data(as_text=True).splitlines()
    rep = verify_export_lines(lines, audit_svc.public_key_b64())
    assert rep.ok and rep.events >= 3
    evs = [json.loads(line) for line in lines if json.loads(line)["type"] == "event"]
    assert all(str(buyer.org.id) in (e["actor_org_id"], e["subject_org_id"]) for e in evs)
    csv_body = client.get(f"/api/v1/audit/export?org_id={buyer.org.id}&format=csv", headers=bearer(buyer.keys["auditor"])).get_data(as_text=True)
    assert verify_export_lines(list(audit_svc.csv_to_lines(csv_body)), audit_svc.public_key_b64()).ok
    p = client.get(f"/api/v1/audit/events/{evs[0]['id']}/proof", headers=bearer(buyer.keys["auditor"])).json
    assert verify_inclusion(p["event"], p, p["public_key"]) is None
    assert client.get("/api/v1/audit/key").json["algorithm"] == "Ed25519"


def test_cursor_pagination_and_tampering(app, client):
    vendor, buyer, gid = purchase(client)
    page = events(client, buyer.keys["owner"], org_id=buyer.org.id, limit=2).json
    assert len(page["items"]) == 2 and page["next_cursor"]
    nxt = events(client, buyer.keys["owner"], org_id=buyer.org.id, limit=2, cursor=page["next_cursor"]).json
    assert nxt["items"][0]["id"] < page["items"][-1]["id"]
    assert events(client, buyer.keys["owner"], org_id=buyer.org.id, cursor=page["next_cursor"][:-3] + "abc").status_code == 400
    assert events(client, vendor.keys["owner"], org_id=vendor.org.id, cursor=page["next_cursor"]).status_code == 400  # another org's cursor
