"""Helpers for commerce tests: a published, licensed dataset with an offer, and a buyer."""

from __future__ import annotations

from tests.catalog.helpers import published_dataset
from tests.factories import bearer, make_tenant


def offer_for(client, vendor_key: str, *, license: str = "CC-BY-4.0", **over) -> dict:
    ds, v = published_dataset(client, vendor_key, {"part-0.jsonl": b'{"x": 1}\n' * 10})
    body = {"title": "Research licence, 1M records", "license": license, "pricing_unit": "records", "unit_price_minor": 2, "currency": "EUR",
            "included_quota": 0, "min_quantity": 1}
    body.update(over)
    r = client.post(f"/api/v1/datasets/{ds['id']}/offers", json=body, headers=bearer(vendor_key))
    assert r.status_code == 201, r.json
    return dict(r.json, version=v)


def order(client, buyer_key: str, offer: dict, *, quantity: int = 100, method: str = "invoice", key: str | None = None, **over):
    body = {"offer_id": offer["id"], "quantity": quantity, "currency": offer["currency"], "license_sha256": offer["license_sha256"], "payment_method": method}
    body.update(over)
    headers = bearer(buyer_key)
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/orders", json=body, headers=headers)


def market():
    return make_tenant(vendor=True), make_tenant()
