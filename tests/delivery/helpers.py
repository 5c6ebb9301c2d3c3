"""Helpers for delivery tests: a bought grant (rows), download authorisation, fetching presigned URLs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import requests

from tests.factories import OfferFactory, Published, Tenant, bearer, paid_grant, published_version

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


def buy(vendor: Tenant, buyer: Tenant, *, files: dict[str, bytes] = FILES, unit: str = "records", quantity: int = 100, **offer_over: Any) -> tuple[Published, str]:
    """A published version of `files` (bytes in the store) sold by `vendor` (an approved vendor)
    and bought by `buyer`, paid by invoice: what publishing, an offer, an order and mark-paid
    leave behind, made from rows (those steps have their own tests). Returns the published
    version and the grant's id."""
    pub = published_version(files, organization=vendor.org)
    offer = OfferFactory(dataset=pub.dataset, **dict({"title": "t", "pricing_unit": unit, "unit_price_minor": 1, "currency": "EUR"}, **offer_over))
    return pub, str(paid_grant(offer, buyer.org, quantity=quantity).id)


def authorize(client, key, gid, paths=None):
    return client.post(f"/api/v1/grants/{gid}/downloads", json={} if paths is None else {"paths": paths}, headers=bearer(key))


def balance(client, key, gid):
    return client.get(f"/api/v1/grants/{gid}", headers=bearer(key)).json["balance"]
