"""Download authorisation over HTTP on both backends (PostgreSQL + S3 server, SQLite + files)."""

from __future__ import annotations

import hashlib
import uuid
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from marketplace.kernel.audit import AuditEvent
from marketplace.kernel.db import get_session
from tests.delivery.helpers import FILES, authorize, balance, buy, fetch
from tests.factories import LicenseFactory, OfferFactory, bearer, make_key, make_tenant_rows, paid_grant, published_version


@pytest.fixture
def parties(app):
    return make_tenant_rows(vendor=True), make_tenant_rows()


def test_whole_version_download_debits_records_and_urls_deliver_verified_bytes(app, client, parties):
    vendor, buyer = parties
    pub, gid = buy(vendor, buyer)
    r = authorize(client, buyer.keys["member"], gid)
    assert r.status_code == 200, r.json
    files = {f["path"]: f for f in r.json["files"]}
    assert set(files) == set(FILES) and r.json["manifest_digest"] == pub.version.manifest_digest
    for path, f in files.items():
        body = fetch(app, client, f["url"])
        assert hashlib.sha256(body).hexdigest() == f["sha256"] == hashlib.sha256(FILES[path]).hexdigest() and len(body) == f["size"]
        assert f["expires_in"] <= 300
    assert balance(client, buyer.keys["owner"], gid) == 100 - (30 + 20 + 1)
    url = files["train/a.jsonl"]["url"]
    if "X-Amz-Expires" in url:
        assert parse_qs(urlparse(url).query)["X-Amz-Expires"] == ["300"]
    # This test's own events (tests on committed data, the concurrency ones, leave theirs behind).
    ev = get_session().scalars(select(AuditEvent).where(AuditEvent.action == "delivery.authorize", AuditEvent.outcome == "success",
                                                        AuditEvent.actor_org_id == buyer.org.id).order_by(AuditEvent.id)).all()
    assert ev and ev[-1].quantities["records"] == 51 and ev[-1].actor_org_id == buyer.org.id and ev[-1].subject_org_id == vendor.org.id


def test_reissue_within_resume_window_is_free(app, client, parties):
    vendor, buyer = parties
    _, gid = buy(vendor, buyer)
    first = authorize(client, buyer.keys["owner"], gid, ["train/a.jsonl"]).json["files"][0]
    again = authorize(client, buyer.keys["owner"], gid, ["train/a.jsonl"]).json["files"][0]
    assert first["charged"] is True and again["charged"] is False
    assert balance(client, buyer.keys["owner"], gid) == 70


def test_quota_exhausted_is_402_with_balance_and_charges_nothing(app, client, parties):
    vendor, buyer = parties
    _, gid = buy(vendor, buyer, quantity=40)
    r = authorize(client, buyer.keys["owner"], gid)  # 51 records needed
    assert r.status_code == 402 and r.json["balance"] == 40 and r.headers["Content-Type"] == "application/problem+json"
    assert balance(client, buyer.keys["owner"], gid) == 40  # all or nothing
    denied = get_session().scalars(select(AuditEvent).where(AuditEvent.action == "quota.debit", AuditEvent.outcome == "denied", AuditEvent.subject_id == gid)).all()
    assert denied


def test_denials_are_explicit_and_audited(app, client, parties):
    vendor, buyer = parties
    _, gid = buy(vendor, buyer)
    no_scope = make_key(buyer.owner, buyer.org, scopes=["catalog:read", "commerce:read"])
    assert authorize(client, no_scope, gid).status_code == 403
    assert authorize(client, buyer.keys["auditor"], gid).status_code == 403  # read-only key
    from tests.factories import PASSWORD

    csrf = client.post("/api/v1/auth/login", json={"email": buyer.auditor.email, "password": PASSWORD}).json["csrf_token"]
    assert client.post(f"/api/v1/grants/{gid}/downloads", json={}, headers={"X-CSRF-Token": csrf}).status_code == 403  # auditor at a browser
    client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert authorize(client, vendor.keys["owner"], gid).status_code == 403  # the vendor is not the buyer
    stranger = make_tenant_rows()
    assert authorize(client, stranger.keys["owner"], gid).status_code == 404
    assert client.post(f"/api/v1/grants/{gid}/downloads", json={}).status_code == 401
    reasons = [e.details["reason"] for e in get_session().scalars(select(AuditEvent).where(AuditEvent.action == "delivery.authorize", AuditEvent.outcome == "denied",
                                                                                             AuditEvent.subject_id == gid))]
    assert {"missing delivery scope", "auditor", "not the buyer"} <= set(reasons)


def test_file_not_in_version_is_400(app, client, parties):
    vendor, buyer = parties
    _, gid = buy(vendor, buyer)
    r = authorize(client, buyer.keys["owner"], gid, ["train/a.jsonl", "../secrets.txt"])
    assert r.status_code == 400 and "paths" in r.json["errors"]
    assert balance(client, buyer.keys["owner"], gid) == 100


def test_withdrawn_version_is_410(app, client, parties):
    vendor, buyer = parties
    pub, gid = buy(vendor, buyer, version_id=None)
    client.post(f"/api/v1/versions/{pub.version.id}/withdraw", json={"reason": "a contributor withdrew consent"}, headers=bearer(vendor.keys["owner"]))
    r = authorize(client, buyer.keys["owner"], gid)
    assert r.status_code == 410 and "consent" in r.json["detail"]


@pytest.mark.parametrize("unit,expected", [("gib", 2**30 - sum(len(b) for b in FILES.values())), ("downloads", 97), ("term", None)])
def test_units(app, client, parties, unit, expected):
    vendor, buyer = parties
    over = {"term_days": 30} if unit == "term" else {}
    _, gid = buy(vendor, buyer, unit=unit, quantity=1 if unit in ("gib", "term") else 100, **over)
    assert authorize(client, buyer.keys["owner"], gid).status_code == 200
    b = balance(client, buyer.keys["owner"], gid)
    assert b == (0 if expected is None else expected)


def test_withdrawal_notifies_holders_and_vendor_sees_them(app, client, parties):
    vendor, buyer = parties
    pub, gid = buy(vendor, buyer)
    vid = pub.version.id
    client.post(f"/api/v1/versions/{vid}/withdraw", json={"reason": "licence dispute upstream"}, headers=bearer(vendor.keys["owner"]))
    notes = get_session().scalars(select(AuditEvent).where(AuditEvent.action == "grant.version_withdrawn")).all()
    assert [n.subject_id for n in notes] == [gid] and notes[0].actor_org_id == buyer.org.id and "dispute" in notes[0].details["reason"]
    holders = client.get(f"/api/v1/versions/{vid}/holders", headers=bearer(vendor.keys["member"]))
    assert holders.status_code == 200 and [h["buyer_org_id"] for h in holders.json] == [str(buyer.org.id)]
    assert client.get(f"/api/v1/versions/{vid}/holders", headers=bearer(buyer.keys["owner"])).status_code == 404


def test_licence_term_ends_downloads(app, client, parties):
    from datetime import timedelta

    from marketplace.commerce.models import Grant
    from marketplace.kernel.db import unit_of_work

    vendor, buyer = parties
    terms = {"commercial_use": "allowed", "ai_training": "allowed", "redistribution": "allowed", "term_months": 12}
    lic = LicenseFactory(owner=vendor.org, slug="one-year", name="One-year licence", text="Use for twelve months from the date of purchase, then stop.", terms=terms)
    pub = published_version({"a.jsonl": b'{"a": 1}\n'}, organization=vendor.org, license=lic)
    offer = OfferFactory(dataset=pub.dataset, license=lic, title="t", pricing_unit="downloads", unit_price_minor=1, currency="EUR")
    gid = str(paid_grant(offer, buyer.org, quantity=5).id)
    assert authorize(client, buyer.keys["owner"], gid).status_code == 200
    import uuid

    with unit_of_work():
        g = get_session().get(Grant, uuid.UUID(gid))
        g.starts_at = g.starts_at - timedelta(days=400)
    r = authorize(client, buyer.keys["owner"], gid)
    assert r.status_code == 403 and "twelve" not in r.json["detail"] and "12 months" in r.json["detail"]


@pytest.mark.parametrize("unit", ["downloads", "records"])
def test_the_same_content_under_two_paths_is_charged_once_per_request(app, client, parties, unit):
    """Charges are keyed by the content's digest: two paths holding the same bytes (copies,
    empty files) in one request are one charge, not a failed request."""
    vendor, buyer = parties
    same = b'{"x": 1}\n'
    _, gid = buy(vendor, buyer, files={"a.jsonl": same, "copy/a.jsonl": same, "b.jsonl": b'{"x": 2}\n'}, unit=unit, quantity=100)
    r = authorize(client, buyer.keys["owner"], gid)
    assert r.status_code == 200, r.json
    assert r.json["charged"] == 2 and sorted(f["charged"] for f in r.json["files"]) == [False, True, True]
    assert balance(client, buyer.keys["owner"], gid) == 98
    r = authorize(client, buyer.keys["owner"], gid, ["a.jsonl", "copy/a.jsonl"])
    assert r.status_code == 200 and r.json["charged"] == 0


def test_listing_a_grants_files_says_what_a_download_would_charge_and_charges_nothing(app, client, parties):
    vendor, buyer = parties
    _, gid = buy(vendor, buyer)
    key = buyer.keys["member"]
    r = client.get(f"/api/v1/grants/{gid}/files", headers=bearer(key))
    assert r.status_code == 200, r.json
    files = {f["path"]: f for f in r.json["files"]}
    assert {p: f["would_charge"] for p, f in files.items()} == {"train/a.jsonl": 30, "train/b.jsonl": 20, "readme.csv": 1}
    assert files["readme.csv"]["format"] == "csv" and r.json["would_charge"] == 51 and r.json["balance"] == 100 and r.json["unit"] == "records"
    assert "url" not in files["readme.csv"]  # nothing presigned
    assert balance(client, buyer.keys["owner"], gid) == 100  # asking charged nothing
    assert authorize(client, key, gid, ["train/a.jsonl"]).json["charged"] == 30  # what it said
    after = client.get(f"/api/v1/grants/{gid}/files", headers=bearer(key)).json
    assert {f["path"]: f["would_charge"] for f in after["files"]} == {"train/a.jsonl": 0, "train/b.jsonl": 20, "readme.csv": 1} and after["balance"] == 70
    # the same decision as a download: another tenant, and the vendor's own key, are refused
    assert client.get(f"/api/v1/grants/{gid}/files", headers=bearer(make_tenant_rows().keys["owner"])).status_code == 404
    assert client.get(f"/api/v1/grants/{gid}/files").status_code == 401
    assert client.get(f"/api/v1/grants/{uuid.uuid4()}/files", headers=bearer(key)).status_code == 404
