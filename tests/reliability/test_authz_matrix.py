"""The authorisation matrix, generated from the route table: every API endpoint, every method,
called by an anonymous caller, by each role of another tenant, and by the owner's own auditor.
Another tenant's private objects are never disclosed: no 2xx, 404 rather than 403 where an id is
involved, and no body carries the tenant's private markers."""

from __future__ import annotations

import re

from catalog.models import AccessGate
from marketplace.kernel.db import get_session, utcnow
from tests.catalog.helpers import create_dataset, create_version, declare
from tests.factories import OfferFactory, OrganizationFactory, bearer, make_key, make_org, make_tenant, make_user, paid_order, published_version

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
    # What A bought: a private offer of another vendor's published dataset, ordered and paid
    # (rows: no tenant marker is in them, and buying has its own tests).
    seller = OrganizationFactory(vendor=True)
    pub = published_version({"p.jsonl": b'{"p": 1}\n'}, organization=seller)
    offer = OfferFactory(dataset=pub.dataset, title="private deal", license="CC-BY-4.0", pricing_unit="records", unit_price_minor=1, currency="EUR",
                         private_buyer_org_id=a.org.id)
    o = paid_order(offer, a.org, quantity=5, accepted_by=a.owner.id)
    key_id = client.get("/api/v1/me", headers=bearer(k)).json["api_key"]["id"]
    model = client.post(f"/api/v1/orgs/{a.org.id}/models", json={"name": SECRET_TITLE, "version": "1", "provider": "Secret AG"}, headers=bearer(k)).json
    run = client.post(f"/api/v1/models/{model['id']}/runs", json={"name": "secret run"}, headers=bearer(k)).json
    declared = client.post(f"/api/v1/training-runs/{run['id']}/inputs", json={"kind": "other", "name": "secret notes", "modality": "text"}, headers=bearer(k)).json
    # A asks for access to the seller's gated dataset (the gate is a row: gating has its own tests).
    get_session().add(AccessGate(dataset_id=pub.dataset.id, samples=True, private_offers=False, fields=[], response_days=5, instructions="", updated_at=utcnow()))
    get_session().flush()
    access_request = client.post(f"/api/v1/datasets/{pub.dataset.id}/access-requests", json={"org_id": str(a.org.id), "answers": {}}, headers=bearer(k)).json
    endpoint = client.post(f"/api/v1/orgs/{a.org.id}/webhooks", json={"url": "https://hooks.invalid/secret", "description": SECRET_TITLE}, headers=bearer(k)).json
    ids = {"request_id": access_request["id"], "endpoint_id": endpoint["id"], "model_id": model["id"], "run_id": run["id"], "input_id": declared["id"], "org_id": str(a.org.id), "user_id": str(a.member.id), "key_id": key_id, "dataset_id": draft["id"], "version_id": dv["id"],
           "file_id": f["id"], "offer_id": str(offer.id), "order_id": str(o.id), "grant_id": str(o.grant_id), "event_id": "1", "identifier": "CC-BY-4.0"}
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


# The tenant's own roles on every read endpoint: the expected status, written out. Anything not
# listed answers 200 to every role. (A new GET route is covered by the loop the day it lands.)
ROLES = ("owner", "admin", "member", "auditor")
OWN_EXPECTED = {
    "/api/v1/orgs/<uuid:org_id>/api-keys": (200, 200, 403, 403),  # keys are for admins to manage
    "/api/v1/orgs/<uuid:org_id>/webhooks": (200, 200, 403, 403),  # webhook endpoints too
    "/api/v1/orgs/<uuid:org_id>/invitations": (200, 200, 403, 403),  # invitations are for those who manage members
    "/api/v1/datasets/<uuid:dataset_id>/access-gate": (404, 404, 404, 404),  # the draft takes no access requests
    "/api/v1/webhooks/<uuid:endpoint_id>": (200, 200, 403, 403),
    "/api/v1/webhooks/<uuid:endpoint_id>/deliveries": (200, 200, 403, 403),
    "/api/v1/notifications": (200, 200, 200, 403),  # one's own; an auditor's read-only key lacks the notifications scope
    "/api/v1/notifications/preferences": (200, 200, 200, 403),
    "/api/v1/admin/orgs": (403, 403, 403, 403),  # platform admins only
    "/api/v1/audit/verify": (403, 403, 403, 403),  # the whole log: platform compliance only
    "/api/v1/audit/events": (200, 200, 403, 200),  # members do not read the audit log
    "/api/v1/audit/export": (200, 200, 403, 200),
    "/api/v1/audit/consistency": (200, 200, 403, 200),  # proofs are for auditors, owners and admins
    "/api/v1/me/sessions": (403, 403, 403, 403),  # browser sessions are managed from a browser, not with a key
    "/api/v1/audit/events/<int:event_id>/proof": (200, 200, 404, 200),  # an event a member may not read does not exist for them
    "/api/v1/grants/<uuid:grant_id>/records": (200, 200, 200, 403),  # auditors never read the data itself
    "/api/v1/grants/<uuid:grant_id>/files": (200, 200, 200, 403),  # the download's own decision: auditors take no data
    "/api/v1/vendors/<string:slug>": (404, 404, 404, 404),  # filled with an id: no approved vendor has that name
    "/api/v1/docs/ui/<name>": (404, 404, 404, 404),  # only the Swagger UI files the page uses are served
    "/api/v1/files/<uuid:file_id>/multipart": (409, 409, 409, 403),  # writers: no upload open yet; auditors may not write
    "/api/v1/versions/<uuid:version_id>/license": (404, 404, 404, 404),  # the draft has none yet
    "/api/v1/versions/<uuid:version_id>/provenance": (404, 404, 404, 404),
    "/api/v1/versions/<uuid:version_id>/manifest": (409, 409, 409, 409),  # drafts have no manifest
    "/api/v1/versions/<uuid:version_id>/croissant": (409, 409, 409, 409),
    "/api/v1/versions/<uuid:version_id>/prov": (409, 409, 409, 409),
    "/api/v1/versions/<uuid:version_id>/spdx": (409, 409, 409, 409),
}
QUERY = {"/api/v1/grants/<uuid:grant_id>/records": "?path=p.jsonl", "/api/v1/licenses/normalise": "?text=MIT", "/api/v1/audit/consistency": "?first=1", "/api/v1/audit/events": "?org_id={org_id}", "/api/v1/audit/export": "?org_id={org_id}"}


def test_own_tenant_roles_get_the_expected_status_on_every_read(app, client):
    from sqlalchemy import select

    from marketplace.auditlog.services import seal
    from marketplace.kernel.audit import AuditEvent
    from marketplace.kernel.db import get_session

    a, ids, markers = world(client)
    seal(grace_seconds=0)
    ids["event_id"] = str(get_session().scalar(select(AuditEvent.id).where(AuditEvent.actor_org_id == a.org.id).order_by(AuditEvent.id)))
    seen, problems = set(), []
    for rule, method in routes(app):
        if method != "GET":
            continue
        seen.add(rule)
        url = fill(rule, ids) + QUERY.get(rule, "").format(**ids)
        expected = OWN_EXPECTED.get(rule, (200,) * len(ROLES))
        for role, want in zip(ROLES, expected, strict=True):
            got = client.get(url, headers=bearer(a.keys[role])).status_code
            if got != want:
                problems.append(f"{role} GET {url}: {got}, expected {want}")
    assert set(OWN_EXPECTED) <= seen, "the table names a route that no longer exists"
    assert len(seen) > 35
    assert problems == [], "\n".join(problems)
