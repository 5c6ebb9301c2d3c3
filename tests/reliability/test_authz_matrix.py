"""The authorisation matrix, generated from the route table: every API endpoint, every method,
called by an anonymous caller, by each role of another tenant, and by the owner's own auditor.
Another tenant's private objects are never disclosed: no 2xx, 404 rather than 403 where an id is
involved, and no body carries the tenant's private markers."""

from __future__ import annotations

import re

from tests.catalog.helpers import create_dataset, create_version, declare, published_dataset
from tests.commerce.helpers import order
from tests.factories import bearer, make_key, make_org, make_tenant, make_user

SECRET_TITLE = "Zebra-private-corpus-7731"
# Endpoints anyone may read (public catalogue, licence registry, docs, verification key).
PUBLIC_GET = re.compile(r"^/api/v1/(datasets(/<[^>]+>(/versions|/offers)?)?|domains|licenses.*|audit/key|auth/scopes|openapi\.json|docs)$")
NO_ID_WRITES = {"/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/logout", "/api/v1/orgs", "/api/v1/datasets", "/api/v1/licenses",
                "/api/v1/licenses/normalise", "/api/v1/orders", "/api/v1/payments/stripe/webhook"}


def world(client):
    """Tenant A (a vendor that also buys) with one private object of every kind."""
    a = make_tenant(vendor=True)
    k = a.keys["owner"]
    draft = create_dataset(client, k, title=SECRET_TITLE, visibility="draft")
    dv = create_version(client, k, draft["id"])
    f = declare(client, k, dv["id"], "secret.jsonl", b'{"s": 1}\n').json
    seller = make_tenant(vendor=True)
    ds, v = published_dataset(client, seller.keys["owner"], {"p.jsonl": b'{"p": 1}\n'})
    offer = client.post(f"/api/v1/datasets/{ds['id']}/offers", json={"title": "private deal", "license": "CC-BY-4.0", "pricing_unit": "records",
                                                                  "unit_price_minor": 1, "currency": "EUR", "private_buyer_org_id": str(a.org.id)},
                        headers=bearer(seller.keys["owner"])).json
    o = order(client, k, offer, quantity=5).json
    gid = client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(seller.keys["owner"])).json["grant_id"]
    key_id = client.get("/api/v1/me", headers=bearer(k)).json["api_key"]["id"]
    ids = {"org_id": str(a.org.id), "user_id": str(a.member.id), "key_id": key_id, "dataset_id": draft["id"], "version_id": dv["id"],
           "file_id": f["id"], "offer_id": offer["id"], "order_id": o["id"], "grant_id": gid, "event_id": "1", "identifier": "CC-BY-4.0"}
    markers = [SECRET_TITLE, a.owner.email, a.member.email, "secret.jsonl"]
    return a, ids, markers


def routes(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("api-docs"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.rule, method


def fill(rule: str, ids: dict) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: ids.get(m.group(1), "00000000-0000-0000-0000-000000000000"), rule)


def test_no_cross_tenant_disclosure(app, client):
    a, ids, markers = world(client)
    stranger = make_tenant(vendor=True)
    callers = {"anonymous": {}, **{f"other-{r}": bearer(stranger.keys[r]) for r in ("owner", "admin", "member", "auditor")}}
    checked = 0
    problems = []
    for rule, method in routes(app):
        url = fill(rule, ids)
        for who, headers in callers.items():
            r = client.open(url, method=method, json={} if method != "GET" else None, headers=headers)
            checked += 1
            body = r.get_data(as_text=True)
            leaked = [m for m in markers if m in body]
            if leaked:
                problems.append(f"{who} {method} {rule}: body carries {leaked}")
            public = method == "GET" and PUBLIC_GET.match(rule)
            if 200 <= r.status_code < 300 and not public and rule not in NO_ID_WRITES and "<" in rule:
                problems.append(f"{who} {method} {rule}: {r.status_code} on another tenant's object")
            if who != "anonymous" and r.status_code == 403 and "<" in rule and "org_id" in rule and method == "GET":
                problems.append(f"{who} {method} {rule}: 403 reveals that the organisation exists (expected 404)")
            assert r.status_code < 500, (who, method, rule, body[:300])
    assert checked > 300
    assert problems == [], "\n".join(problems)


def test_auditors_never_change_anything(app, client):
    a, ids, markers = world(client)
    officer_key = make_key(a.auditor, a.org, scopes=["catalog:read", "commerce:read", "audit:read"])
    refused = 0
    for rule, method in routes(app):
        if method == "GET" or rule in ("/api/v1/auth/login", "/api/v1/auth/register", "/api/v1/auth/logout", "/api/v1/licenses/normalise",
                                       "/api/v1/payments/stripe/webhook"):
            continue
        r = client.open(fill(rule, ids), method=method, json={}, headers=bearer(officer_key))
        assert not (200 <= r.status_code < 300), (method, rule, r.status_code)
        refused += 1
    assert refused > 20


def test_platform_admin_reaches_admin_endpoints_others_do_not(app, client):
    admin = make_user(platform_admin=True)
    key = make_key(admin, make_org(admin))
    t = make_tenant()
    assert client.get("/api/v1/admin/orgs", headers=bearer(key)).status_code == 200
    for role in ("owner", "admin", "member", "auditor"):
        assert client.get("/api/v1/admin/orgs", headers=bearer(t.keys[role])).status_code == 403
    assert client.get("/api/v1/admin/orgs").status_code == 401
