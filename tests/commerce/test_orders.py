"""Offers, orders and invoice payment over HTTP on both backends; bad input creates nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.commerce.metering import ledger_balance
from marketplace.commerce.models import Grant, Order, QuotaEntry
from marketplace.kernel.db import get_session
from tests.commerce.helpers import market, offer_for, order
from tests.factories import bearer, make_tenant
from tests.licensing.helpers import FIRST_HAND, released


def count(model) -> int:
    return get_session().scalar(select(func.count()).select_from(model))


def test_invoice_purchase_creates_a_grant_with_quota(app, client):
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"], tiers=[{"from": 1000, "unit_price_minor": 1}], term_days=365)
    r = order(client, buyer.keys["member"], offer, quantity=1500)
    assert r.status_code == 201, r.json
    o = r.json
    assert o["status"] == "pending_payment" and o["amount_minor"] == 1500 and o["accepted_text_sha256"] == offer["license_sha256"]
    # the buyer cannot mark its own order paid; the vendor's admin can
    assert client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(buyer.keys["owner"])).status_code == 403
    assert client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vendor.keys["member"])).status_code == 403
    r = client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vendor.keys["admin"]))
    assert r.status_code == 200 and r.json["status"] == "paid" and r.json["grant_id"]
    g = client.get(f"/api/v1/grants/{r.json['grant_id']}", headers=bearer(buyer.keys["auditor"])).json
    assert g["balance"] == 1500 and g["credited"] == 1500 and g["unit"] == "records" and g["status"] == "active"
    assert g["accepted_text_sha256"] == offer["license_sha256"] and g["expires_at"]
    assert [(e["kind"], e["amount"], e["reason"]) for e in g["ledger"]] == [("credit", 1500, "order")]
    assert client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vendor.keys["admin"])).status_code == 409
    # a second order (top-up) extends the same grant
    o2 = order(client, buyer.keys["member"], offer, quantity=200).json
    client.post(f"/api/v1/orders/{o2['id']}/mark-paid", headers=bearer(vendor.keys["owner"]))
    grants = client.get(f"/api/v1/orgs/{buyer.org.id}/grants", headers=bearer(buyer.keys["member"])).json
    assert len(grants) == 1 and grants[0]["balance"] == 1700 and grants[0]["expires_at"] > g["expires_at"]


def test_grant_balance_always_equals_ledger(app, client):
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"])
    for q in (10, 20, 30):
        o = order(client, buyer.keys["owner"], offer, quantity=q).json
        client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vendor.keys["owner"]))
    grant = get_session().scalars(select(Grant).where(Grant.buyer_org_id == buyer.org.id)).one()
    get_session().refresh(grant)
    assert grant.balance == ledger_balance(grant.id) == 60


@pytest.mark.parametrize("change,field,status", [
    ({"quantity": 0}, "quantity", 400),
    ({"quantity": -5}, "quantity", 400),
    ({"currency": "USD"}, "currency", 400),
    ({"license_sha256": "0" * 64}, "license_sha256", 400),
    ({"payment_method": "stripe"}, "payment_method", 400),  # invoice-only marketplace
    ({"payment_method": "barter"}, "payment_method", 400),
    ({"quantity": "lots"}, "quantity", 400),
])
def test_bad_orders_create_nothing(app, client, change, field, status):
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"])
    before = count(Order), count(Grant), count(QuotaEntry)
    r = order(client, buyer.keys["owner"], offer, **change)
    assert r.status_code == status and field in r.json["errors"], r.json
    assert (count(Order), count(Grant), count(QuotaEntry)) == before


def test_inactive_offer_own_dataset_and_private_offers(app, client):
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"])
    r = order(client, vendor.keys["owner"], offer)
    assert r.status_code == 400 and "own" in r.json["detail"]
    client.patch(f"/api/v1/offers/{offer['id']}", json={"active": False}, headers=bearer(vendor.keys["owner"]))
    assert order(client, buyer.keys["owner"], offer).status_code == 409
    other = make_tenant()
    private = offer_for(client, vendor.keys["owner"], private_buyer_org_id=str(buyer.org.id), title="Private deal")
    assert order(client, other.keys["owner"], private).status_code == 404
    assert client.get(f"/api/v1/offers/{private['id']}", headers=bearer(other.keys["owner"])).status_code == 404
    assert order(client, buyer.keys["owner"], private).status_code == 201
    listed = {o["id"] for o in client.get(f"/api/v1/datasets/{private['dataset_id']}/offers", headers=bearer(other.keys["owner"])).json}
    assert private["id"] not in listed


def test_auditor_cannot_buy(app, client):
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"])
    assert order(client, buyer.keys["auditor"], offer).status_code == 403


def test_idempotency_key(app, client):
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"])
    r1 = order(client, buyer.keys["owner"], offer, quantity=5, key="order-42")
    r2 = order(client, buyer.keys["owner"], offer, quantity=5, key="order-42")
    assert r1.status_code == 201 and r2.status_code == 200 and r1.json["id"] == r2.json["id"]
    r3 = order(client, buyer.keys["owner"], offer, quantity=6, key="order-42")
    assert r3.status_code == 409
    assert len(get_session().scalars(select(Order).where(Order.buyer_org_id == buyer.org.id)).all()) == 1


def test_offer_blocked_by_compatibility_is_refused(app, client):
    vendor = make_tenant(vendor=True)
    nc = released(client, vendor.keys["owner"], license="CC-BY-NC-4.0", sources=[FIRST_HAND])
    r = client.post(f"/api/v1/datasets/{nc['dataset_id']}/offers", json={"title": "Commercial", "license": "CC-BY-4.0", "pricing_unit": "records",
                                                                      "unit_price_minor": 1, "currency": "EUR"}, headers=bearer(vendor.keys["owner"]))
    assert r.status_code == 409 and r.json["findings"][0]["code"] == "use-class-exceeds-upstream"
    r = client.post(f"/api/v1/datasets/{nc['dataset_id']}/offers", json={"title": "NC", "license": "CC-BY-NC-4.0", "pricing_unit": "records",
                                                                      "unit_price_minor": 1, "currency": "EUR"}, headers=bearer(vendor.keys["owner"]))
    assert r.status_code == 201


def test_offer_validation(app, client):
    vendor = make_tenant(vendor=True)
    offer = offer_for(client, vendor.keys["owner"])
    ds = offer["dataset_id"]
    base = {"title": "x", "license": "CC-BY-4.0", "pricing_unit": "records", "unit_price_minor": 1, "currency": "EUR"}
    h = bearer(vendor.keys["owner"])
    for change, field in [({"license": "NOPE-1.0"}, "license"), ({"pricing_unit": "term"}, "term_days"), ({"currency": "EURO"}, "currency"),
                          ({"unit_price_minor": -1}, "unit_price_minor"), ({"tiers": [{"from": 10, "unit_price_minor": 1}, {"from": 5, "unit_price_minor": 1}]}, "tiers"),
                          ({"version_id": "00000000-0000-0000-0000-000000000000"}, "version_id"), ({"private_buyer_org_id": str(vendor.org.id)}, "private_buyer_org_id")]:
        r = client.post(f"/api/v1/datasets/{ds}/offers", json=dict(base, **change), headers=h)
        assert r.status_code == 400 and field in r.json["errors"], (change, r.json)
    other = make_tenant(vendor=True)
    assert client.post(f"/api/v1/datasets/{ds}/offers", json=base, headers=bearer(other.keys["owner"])).status_code == 404


def test_search_shows_lowest_public_price(app, client):
    vendor = make_tenant(vendor=True)
    offer = offer_for(client, vendor.keys["owner"], unit_price_minor=7)
    item = next(i for i in client.get("/api/v1/datasets?sort=price_asc").json["items"] if i["id"] == offer["dataset_id"])
    assert item["min_price_minor"] == 7 and item["price_currency"] == "EUR"
    assert offer["dataset_id"] in [i["id"] for i in client.get("/api/v1/datasets?price_max=7&currency=eur").json["items"]]


def test_other_tenants_see_no_orders_or_grants(app, client):
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"])
    o = order(client, buyer.keys["owner"], offer).json
    client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vendor.keys["owner"]))
    grant_id = client.get(f"/api/v1/orders/{o['id']}", headers=bearer(buyer.keys["owner"])).json["grant_id"]
    stranger = make_tenant()
    for url in (f"/api/v1/orders/{o['id']}", f"/api/v1/grants/{grant_id}", f"/api/v1/orgs/{buyer.org.id}/grants", f"/api/v1/orgs/{buyer.org.id}/orders",
                f"/api/v1/orgs/{vendor.org.id}/sales"):
        assert client.get(url, headers=bearer(stranger.keys["owner"])).status_code == 404, url
    # the vendor sees its sale and the grant
    assert client.get(f"/api/v1/grants/{grant_id}", headers=bearer(vendor.keys["member"])).status_code == 200
    assert [s["id"] for s in client.get(f"/api/v1/orgs/{vendor.org.id}/sales", headers=bearer(vendor.keys["member"])).json] == [o["id"]]


def test_a_private_offer_does_not_tell_whether_an_organisation_exists(app, client):
    """Naming an existing and a made-up buyer organisation answers alike; nobody sees the latter."""
    import uuid

    vendor, buyer = market()
    existing = offer_for(client, vendor.keys["owner"], private_buyer_org_id=str(buyer.org.id), title="Deal A")
    made_up = offer_for(client, vendor.keys["owner"], private_buyer_org_id=str(uuid.uuid4()), title="Deal B")
    assert set(existing) == set(made_up)
    assert existing["private_buyer_org_id"] == str(buyer.org.id)
    assert client.get(f"/api/v1/offers/{made_up['id']}", headers=bearer(buyer.keys["owner"])).status_code == 404
    # Only the vendor's own organisation is refused, which the vendor knows exists anyway.
    ds_id = existing["dataset_id"]
    r = client.post(f"/api/v1/datasets/{ds_id}/offers", json={"title": "t", "license": "CC-BY-4.0", "pricing_unit": "records", "unit_price_minor": 1,
                                                               "currency": "EUR", "private_buyer_org_id": str(vendor.org.id)}, headers=bearer(vendor.keys["owner"]))
    assert r.status_code == 400 and "private_buyer_org_id" in r.json["errors"]
