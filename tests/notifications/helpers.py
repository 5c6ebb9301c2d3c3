"""Helpers of notification tests: an endpoint registered over the API, and a paid order."""

from __future__ import annotations

from typing import Any

from tests.commerce.helpers import market, offer_for, order
from tests.factories import bearer


def register(client: Any, tenant: Any, url: str, *, topics: list[str] | None = None, role: str = "admin") -> dict[str, Any]:
    r = client.post(f"/api/v1/orgs/{tenant.org.id}/webhooks", json={"url": url, "description": "ops", "topics": topics or []}, headers=bearer(tenant.keys[role]))
    assert r.status_code == 201, r.json
    assert r.json["secret"].startswith("whsec_")
    return r.json


def bought(client: Any, *, quantity: int = 100, **offer_fields: Any) -> tuple[Any, Any, dict[str, Any], dict[str, Any]]:
    """A vendor, a buyer, an offer and an invoice order awaiting payment."""
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"], **offer_fields)
    r = order(client, buyer.keys["owner"], offer, quantity=quantity)
    assert r.status_code == 201, r.json
    return vendor, buyer, offer, r.json


def pay(client: Any, vendor: Any, order_json: dict[str, Any]) -> dict[str, Any]:
    r = client.post(f"/api/v1/orders/{order_json['id']}/mark-paid", headers=bearer(vendor.keys["owner"]))
    assert r.status_code == 200, r.json
    return r.json
