"""Vendor pages: listing a dataset, the new-version wizard's forms, offers, sales and the access log."""

from __future__ import annotations

import hashlib
import re
import uuid

import pytest
from sqlalchemy import select

from marketplace.commerce.analytics import sales_analytics
from marketplace.identity.models import OrgRole
from marketplace.kernel.errors import NotFound
from tests.catalog.helpers import create_dataset, create_version, declare
from tests.commerce.helpers import market, offer_for, order
from tests.factories import add_member, bearer, make_tenant, principal
from tests.web.helpers import sign_in


def test_list_a_dataset_with_form_errors_named_by_the_api_rules(app, client):
    vendor = make_tenant(vendor=True)
    token = sign_in(client, vendor.owner)
    r = client.post("/vendor/", data={"csrf_token": token, "title": "", "slug": "x", "domain": "legal", "languages": "en, xx-notalanguage-123"})
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "title" in page and 'aria-invalid="true"' in page
    r = client.post("/vendor/", data={"csrf_token": token, "title": "Contracts", "slug": "contracts-web", "domain": "legal", "languages": "en",
                                      "modalities": "text", "card_markdown": "# Hi <img src=x onerror=alert(1)>", "visibility": "listed"})
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Contracts" in page and "Start the new-version wizard" in page
    public = client.get("/vendor/").get_data(as_text=True)
    assert "Contracts" in public
    # without a CSRF token nothing is created
    assert client.post("/vendor/", data={"title": "No token", "slug": "no-token", "domain": "legal"}).status_code == 400


def test_wizard_provenance_form_builds_the_declaration_the_api_takes(app, client):
    vendor = make_tenant(vendor=True)
    ds = create_dataset(client, vendor.keys["owner"])
    v = create_version(client, vendor.keys["owner"], ds["id"])
    token = sign_in(client, vendor.owner)
    page = client.get(f"/vendor/versions/{v['id']}").get_data(as_text=True)
    assert "1. Metadata" in page and "5. Publish" in page and 'id="uploader"' in page
    base = {"csrf_token": token, "source_count": "4", "s0_kind": "web_crawl", "s0_name": "Forum crawl", "s0_url": "https://forum.example/",
            "s0_license": "CC-BY-4.0", "s0_crawl_start": "2026-01-01", "s0_crawl_end": "2025-01-01", "pd_status": "none", "pd_categories": ["health"],
            "attest": "yes"}
    r = client.post(f"/vendor/versions/{v['id']}/provenance", data=base)
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "sources.0.crawl_start" in page or "sources.0.crawl_end" in page or "sources.0.opt_outs_respected" in page
    assert "personal_data.sensitive_categories" in page and 'value="Forum crawl"' in page  # values kept
    good = dict(base, s0_crawl_start="2025-01-01", s0_crawl_end="2026-01-01", s0_opt_outs_respected="yes", pd_status="pseudonymised",
                s3_kind="first_hand", s3_name="Our own annotations", geography="de, fr", lawful_basis="consent", limitations="English only")
    r = client.post(f"/vendor/versions/{v['id']}/provenance", data=dict(good, attest=""))
    assert r.status_code == 400 and "attest" in r.get_data(as_text=True)
    r = client.post(f"/vendor/versions/{v['id']}/provenance", data=good)
    assert r.status_code == 302
    decl = client.get(f"/api/v1/versions/{v['id']}/provenance", headers=bearer(vendor.keys["owner"])).json
    body = decl[0]["body"]
    assert [s["name"] for s in body["sources"]] == ["Forum crawl", "Our own annotations"]
    assert body["sources"][0]["opt_outs_respected"] is True and body["sources"][0]["url"] == "https://forum.example/"
    assert body["collection"]["geography"] == ["DE", "FR"] and body["personal_data"]["sensitive_categories"] == ["health"]
    # the form opens on the current declaration for the next revision
    page = client.get(f"/vendor/versions/{v['id']}").get_data(as_text=True)
    assert 'value="Our own annotations"' in page and "revision 1" in page


def test_publish_from_the_wizard_reports_what_is_missing_then_the_ingest_result(app, client):
    vendor = make_tenant(vendor=True)
    ds = create_dataset(client, vendor.keys["owner"])
    v = create_version(client, vendor.keys["owner"], ds["id"])
    token = sign_in(client, vendor.owner)
    r = client.post(f"/vendor/versions/{v['id']}/publish", data={"csrf_token": token}, follow_redirects=True)
    assert "A version needs at least one file" in r.get_data(as_text=True)
    data = b'{"q": "hello"}\n' * 50
    f = declare(client, vendor.keys["owner"], v["id"], "a.jsonl", data).json
    r = client.post(f"/api/v1/files/{f['id']}/multipart", json={}, headers=bearer(vendor.keys["owner"]))
    assert r.status_code == 201
    r = client.post(f"/vendor/versions/{v['id']}/publish", data={"csrf_token": token}, follow_redirects=True)
    assert "Not uploaded: a.jsonl" in r.get_data(as_text=True) or "no uploaded bytes" in r.get_data(as_text=True)
    client.delete(f"/api/v1/files/{f['id']}/multipart", headers=bearer(vendor.keys["owner"]))
    client.put(f"/api/v1/files/{f['id']}/content", data=data, headers=dict(bearer(vendor.keys["owner"]), **{"Content-Type": "application/octet-stream"}))
    r = client.post(f"/vendor/versions/{v['id']}/publish", data={"csrf_token": token}, follow_redirects=True)
    assert "licence" in r.get_data(as_text=True).lower()  # licensing refuses: no licence, no provenance
    client.post(f"/vendor/versions/{v['id']}/license", data={"csrf_token": token, "license": "CC-BY-4.0"})
    client.post(f"/vendor/versions/{v['id']}/provenance", data={"csrf_token": token, "s0_kind": "first_hand", "s0_name": "Us", "pd_status": "none", "attest": "yes"})
    r = client.post(f"/vendor/versions/{v['id']}/publish", data={"csrf_token": token}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "is published: every file was verified" in page and "Manifest root digest" in page
    assert hashlib.sha256(data).hexdigest()[:16] in page


def test_offers_sales_mark_paid_and_who_accessed_my_data(app, client):
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"], pricing_unit="downloads", unit_price_minor=100)
    o = order(client, buyer.keys["owner"], offer, quantity=2).json
    member = add_member(vendor.org, vendor.owner, OrgRole.member)
    token = sign_in(client, member)
    sales = client.get("/vendor/sales").get_data(as_text=True)
    assert buyer.org.name in sales and "Mark invoice paid" not in sales and "needs the owner, admin or auditor role" in sales
    client.post("/logout", data={"csrf_token": token})
    token = sign_in(client, vendor.owner)
    number = "ORD-" + o["id"].replace("-", "")[:10].upper()
    assert number in client.get("/vendor/sales").get_data(as_text=True)  # the number the buyer was told to quote
    # Marking paid asks first: without the confirmation nothing happens.
    r = client.post(f"/vendor/orders/{o['id']}/paid", data={"csrf_token": token}, follow_redirects=True)
    assert "Confirm that the money arrived" in r.get_data(as_text=True) and number in r.get_data(as_text=True)
    assert client.get(f"/api/v1/orders/{o['id']}", headers=bearer(buyer.keys["owner"])).json["status"] == "pending_payment"
    r = client.post(f"/vendor/orders/{o['id']}/paid", data={"csrf_token": token, "confirm": "yes"}, follow_redirects=True)
    assert f"Order {number} is paid" in r.get_data(as_text=True)
    grant_id = client.get(f"/api/v1/orders/{o['id']}", headers=bearer(buyer.keys["owner"])).json["grant_id"]
    assert client.post(f"/api/v1/grants/{grant_id}/downloads", json={}, headers=bearer(buyer.keys["owner"])).status_code == 200
    sales = client.get("/vendor/sales").get_data(as_text=True)
    access = sales[sales.index("Who accessed my data"):]
    assert buyer.org.name in access and "download" in access and "part-0.jsonl" in access
    # offers: a bad price is named, a good one goes on sale, and it can be closed
    ds_id = offer["dataset_id"]
    r = client.post(f"/vendor/datasets/{ds_id}/offers", data={"csrf_token": token, "title": "Bulk", "license": "CC-BY-4.0", "pricing_unit": "gib",
                                                             "unit_price": "1.005", "currency": "EUR"})
    assert r.status_code == 400 and "EUR has 2 decimal places" in r.get_data(as_text=True)
    r = client.post(f"/vendor/datasets/{ds_id}/offers", data={"csrf_token": token, "title": "Bulk", "license": "CC-BY-4.0", "pricing_unit": "gib",
                                                             "unit_price": "12.50", "currency": "eur"})
    assert r.status_code == 302
    page = client.get(f"/vendor/datasets/{ds_id}").get_data(as_text=True)
    assert "€12.50 / gib" in page
    off_id = re.findall(r'/vendor/offers/([0-9a-f-]{36})/active', page)[0]
    assert client.post(f"/vendor/offers/{off_id}/active", data={"csrf_token": token, "active": "no"}).status_code == 302


def test_vendor_pages_of_another_tenant_answer_404(app, client):
    vendor, buyer = market()
    ds = create_dataset(client, vendor.keys["owner"], visibility="listed")
    v = create_version(client, vendor.keys["owner"], ds["id"])
    token = sign_in(client, buyer.owner)
    assert client.get(f"/vendor/datasets/{ds['id']}").status_code == 404
    assert client.get(f"/vendor/versions/{v['id']}").status_code == 404
    assert client.post(f"/vendor/versions/{v['id']}/publish", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/vendor/versions/{v['id']}/provenance", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/vendor/versions/{v['id']}/withdraw", data={"csrf_token": token, "reason": "x", "confirm": "yes"}).status_code == 404
    assert client.post(f"/vendor/versions/{v['id']}/deprecate", data={"csrf_token": token}).status_code == 404
    assert client.get(f"/vendor/versions/{uuid.uuid4()}").status_code == 404


def test_provenance_text_is_escaped_everywhere_it_is_shown(app, client):
    vendor = make_tenant(vendor=True)
    key = vendor.keys["owner"]
    ds = create_dataset(client, key, visibility="listed")
    v = create_version(client, key, ds["id"])
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    r = client.put(f"/api/v1/versions/{v['id']}/provenance", headers=bearer(key), json={
        "sources": [{"kind": "first_hand", "name": hostile, "description": hostile}], "personal_data": {"status": "none"},
        "limitations": hostile, "biases": hostile, "attest": True})
    assert r.status_code == 201
    sign_in(client, vendor.owner)
    pages = [client.get(f"/datasets/{ds['id']}?version={v['id']}"), client.get(f"/vendor/versions/{v['id']}"),
             client.get(f"/api/v1/versions/{v['id']}/report?format=html", headers=bearer(key)), client.get(f"/compliance/reports/{v['id']}")]
    for page in pages:
        html = page.get_data(as_text=True)
        assert page.status_code == 200, html[:300]
        assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in pages[1].get_data(as_text=True)


def test_vendor_rejects_and_buyer_cancels_unpaid_orders_from_the_pages(app, client):
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"])
    o1 = order(client, buyer.keys["owner"], offer, quantity=2).json
    o2 = order(client, buyer.keys["owner"], offer, quantity=3).json
    token = sign_in(client, vendor.owner)
    r = client.post(f"/vendor/orders/{o1['id']}/reject", data={"csrf_token": token, "reason": "No export licence for your territory"}, follow_redirects=True)
    assert "is rejected" in r.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": token})
    token = sign_in(client, buyer.owner)
    page = client.get(f"/orders/{o1['id']}").get_data(as_text=True)
    assert "No export licence for your territory" in page and "cancelled" in page
    r = client.post(f"/orders/{o2['id']}/cancel", data={"csrf_token": token}, follow_redirects=True)
    assert "The order is cancelled" in r.get_data(as_text=True)
    assert client.get(f"/api/v1/orders/{o2['id']}", headers=bearer(buyer.keys["owner"])).json["status"] == "cancelled"
    # A vendor cannot cancel as the buyer, nor a buyer reject as the vendor.
    o3 = order(client, buyer.keys["owner"], offer, quantity=4).json
    assert client.post(f"/api/v1/orders/{o3['id']}/cancel", json={}, headers=bearer(vendor.keys["owner"])).status_code == 403
    assert client.post(f"/api/v1/orders/{o3['id']}/reject", json={"reason": "x"}, headers=bearer(buyer.keys["owner"])).status_code == 403
    stranger = make_tenant()
    assert client.post(f"/api/v1/orders/{o3['id']}/cancel", json={}, headers=bearer(stranger.keys["owner"])).status_code == 404


def test_a_new_version_proposes_the_last_licence_and_declaration_and_versions_are_retired_from_the_page(app, client):
    from tests.factories import published_version

    vendor = make_tenant(vendor=True)
    pub = published_version({"a.jsonl": b'{"q": 1}\n' * 3}, organization=vendor.org, license="CC-BY-4.0",
                            provenance={"sources": [{"kind": "first_hand", "name": "Our own ward notes"}], "personal_data": {"status": "none"}},
                            attested_by=vendor.owner)
    token = sign_in(client, vendor.owner)
    r = client.post(f"/vendor/datasets/{pub.dataset.id}", data={"csrf_token": token, "version": "2.0.0", "changelog": "more notes"})
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    # proposals from 1.0.0, to confirm: the licence chosen in the list, the declaration filled in, nothing attested
    assert re.search(r'<option value="CC-BY-4.0" selected>', page) and "Proposed from version 1.0.0" in page
    assert "Our own ward notes" in page and "Filled in from version 1.0.0" in page
    assert f"on behalf of {vendor.org.name}" in page  # the attestation names the organisation
    # the published version: deprecate, then withdraw (which needs a reason and a confirmation)
    vpage = f"/vendor/versions/{pub.version.id}"
    assert "Deprecate version 1.0.0" in client.get(vpage).get_data(as_text=True)
    r = client.post(f"{vpage}/deprecate", data={"csrf_token": token, "reason": "Superseded by 2.0.0"}, follow_redirects=True)
    assert "is deprecated" in r.get_data(as_text=True)
    assert client.get(f"/api/v1/versions/{pub.version.id}", headers=bearer(vendor.keys["owner"])).json["status"] == "deprecated"
    r = client.post(f"{vpage}/withdraw", data={"csrf_token": token, "reason": "Consent withdrawn"}, follow_redirects=True)
    assert "Tick the box" in r.get_data(as_text=True)
    assert client.get(f"/api/v1/versions/{pub.version.id}", headers=bearer(vendor.keys["owner"])).json["status"] == "deprecated"
    r = client.post(f"{vpage}/withdraw", data={"csrf_token": token, "reason": "  ", "confirm": "yes"}, follow_redirects=True)
    assert "Withdrawal needs a reason" in r.get_data(as_text=True)
    r = client.post(f"{vpage}/withdraw", data={"csrf_token": token, "reason": "Consent withdrawn", "confirm": "yes"}, follow_redirects=True)
    assert "is withdrawn" in r.get_data(as_text=True)
    got = client.get(f"/api/v1/versions/{pub.version.id}", headers=bearer(vendor.keys["owner"])).json
    assert got["status"] == "withdrawn" and got["status_reason"] == "Consent withdrawn"
    assert "Deprecate or withdraw" not in client.get(vpage).get_data(as_text=True)


def test_no_domain_or_licence_is_chosen_for_the_vendor(app, client):
    vendor = make_tenant(vendor=True)
    token = sign_in(client, vendor.owner)
    page = client.get("/vendor/").get_data(as_text=True)
    assert re.search(r'<option value="" selected disabled>Choose a domain', page)
    ds = create_dataset(client, vendor.keys["owner"])
    v = create_version(client, vendor.keys["owner"], ds["id"])
    wizard = client.get(f"/vendor/versions/{v['id']}").get_data(as_text=True)
    assert re.search(r'<option value="" selected disabled>Choose a licence', wizard) and "Proposed from" not in wizard
    assert "1 of 5 steps done; next: <a href=\"#step-2\">Files (0)</a>" in wizard and 'aria-current="step"' in wizard  # progress
    r = client.post(f"/vendor/versions/{v['id']}/license", data={"csrf_token": token, "license": ""}, follow_redirects=True)
    assert r.status_code in (200, 400) and client.get(f"/api/v1/versions/{v['id']}/license", headers=bearer(vendor.keys["owner"])).status_code == 404


def test_sales_analytics_count_views_requests_orders_revenue_and_deliveries(app, client):
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"])  # 10 records at €0.02 each
    ds = offer["dataset_id"]
    for _ in range(3):
        assert client.get(f"/datasets/{ds}").status_code == 200  # anonymous visitors
    token = sign_in(client, vendor.owner)
    client.get(f"/datasets/{ds}")  # the vendor's own look is not interest
    o = order(client, buyer.keys["owner"], offer, quantity=50).json
    assert client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vendor.keys["owner"])).status_code == 200
    grant = client.get(f"/api/v1/orgs/{buyer.org.id}/grants", headers=bearer(buyer.keys["owner"])).json[0]
    assert client.post(f"/api/v1/grants/{grant['id']}/downloads", json={}, headers=bearer(buyer.keys["member"])).status_code == 200
    stats = sales_analytics(principal(vendor.owner), vendor.org.id, days=30)
    row = next(r for r in stats["listings"] if str(r["dataset_id"]) == ds)
    assert (row["views"], row["orders"], row["revenue"], row["records"]) == (3, 1, {"EUR": 100}, 10)
    assert stats["totals"]["views"] == 3 and stats["totals"]["revenue"] == {"EUR": 100} and sum(d["orders"] for d in stats["daily"]) == 1
    assert len(stats["daily"]) == 30
    page = client.get("/vendor/sales").get_data(as_text=True)
    assert "The last 30 days" in page and "€1.00" in page and "Page views per day" in page and '<svg' in page
    assert client.get("/vendor/sales?days=9999").status_code == 200  # an odd window falls back to 30 days
    # the buyer's organisation sees its own (empty) figures, never the vendor's
    with pytest.raises(NotFound):
        sales_analytics(principal(buyer.owner), vendor.org.id)  # another organisation's figures do not exist for it
    assert token


@pytest.mark.postgres_only
def test_twenty_views_at_once_count_twenty(session_app):
    from catalog.models import DatasetViewDay
    from marketplace.kernel.db import get_session
    from tests.concurrency import race
    from tests.factories import published_version

    with session_app.app_context():
        try:
            pub = published_version({"a.jsonl": b'{"t": 1}\n'})
            ds = pub.dataset.id
        finally:
            session_app.extensions["db"].remove()
    res = race(session_app, 20, lambda c, i: c.get(f"/datasets/{ds}"))
    assert [r.status_code for r in res] == [200] * 20
    with session_app.app_context():
        try:
            assert sum(v for (v,) in get_session().execute(select(DatasetViewDay.views).where(DatasetViewDay.dataset_id == ds))) == 20
        finally:
            session_app.extensions["db"].remove()
