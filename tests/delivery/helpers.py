"""Helpers for delivery tests: a bought grant, download authorisation, fetching presigned URLs."""

from __future__ import annotations

from urllib.parse import urlparse
import requests
from tests.catalog.helpers import published_dataset
from tests.factories import bearer
from tests.commerce.helpers import order


FILES = {"train/a.jsonl": b'{"t": 1}\n' * 30, "train/b.jsonl": b'{"t": 2}\n' * 20, "readme.csv": b"k,v\n1,2\n"}


def fetch(app, client, url: str) -> bytes:
    public = app.config["SETTINGS"].public_url
    if url.startswith(public):
        r = client.get(urlparse(url).path)
        assert r.status_code == 200
        return r.get_data()
    r = requests.get(url, timeout=30)
    assert r.status_code == 200
    return r.content


def buy(client, vendor, buyer, *, unit="records", quantity=100, **offer_over):
    ds, v = published_dataset(client, vendor.keys["owner"], FILES)
    body = dict({"title": "t", "license": "CC-BY-4.0", "pricing_unit": unit, "unit_price_minor": 1, "currency": "EUR"}, **offer_over)
    offer = client.post(f"/api/v1/datasets/{ds['id']}/offers", json=body, headers=bearer(vendor.keys["owner"])).json
    o = order(client, buyer.keys["owner"], offer, quantity=quantity).json
    gid = client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vendor.keys["owner"])).json["grant_id"]
    return ds, v, gid


def authorize(client, key, gid, paths=None):
    return client.post(f"/api/v1/grants/{gid}/downloads", json={} if paths is None else {"paths": paths}, headers=bearer(key))


def balance(client, key, gid):
    return client.get(f"/api/v1/grants/{gid}", headers=bearer(key)).json["balance"]
