"""Writes by role, generated from the permission tables.

Every write endpoint of the API declares the permission its service asks (`@requires`); this
test walks the route table, finds that rule in the domain's policy table, and calls the endpoint
as each role of a tenant (owner, admin, member, auditor, each with a key carrying every scope,
and an owner whose key is read-only). The answer it expects is computed from the same table the
service asks, so the table and the code cannot drift apart:

- the policy allows: the call is not refused (no 401, 403 or 404);
- the caller has no part in the object: 404;
- the key lacks the scope, or the role may not: 403.

Tenants: V (an approved vendor, with a draft and a published dataset, an offer, a custom licence)
and B (a buyer with an unpaid invoice order for V's offer). Each route is called from V's side,
and from B's side where B has a part or should be told the object does not exist.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from catalog.policy import POLICY as CATALOG
from licensing.policy import POLICY as LICENSING
from marketplace.auditlog.policy import POLICY as AUDITLOG
from marketplace.commerce.policy import POLICY as COMMERCE
from marketplace.compliance.policy import POLICY as COMPLIANCE
from marketplace.delivery.policy import POLICY as DELIVERY
from marketplace.identity.policy import POLICY as IDENTITY
from marketplace.kernel.policy import Outcome, Policy
from marketplace.kernel.principal import SCOPES, OrgRole, Principal
from marketplace.notifications.policy import POLICY as NOTIFICATIONS
from marketplace.sharing.policy import POLICY as SHARING
from tests.catalog.helpers import create_dataset, create_version, declare, published_dataset
from tests.commerce.helpers import offer_for, order
from tests.factories import VENDOR_APPLICATION, add_member, bearer, make_key, make_tenant, make_user

POLICIES: list[Policy[Any]] = [IDENTITY, CATALOG, LICENSING, COMMERCE, DELIVERY, AUDITLOG, COMPLIANCE, NOTIFICATIONS, SHARING]
ROLES = (OrgRole.auditor, OrgRole.member, OrgRole.admin, OrgRole.owner)  # least powerful first: refusals change nothing
READ_ONLY = ["audit:read", "catalog:read", "commerce:read"]

# Write endpoints that no organisation role governs, and why.
UNGOVERNED = {
    ("POST", "/api/v1/auth/register"): "anyone may register",
    ("POST", "/api/v1/auth/login"): "anyone may sign in",
    ("POST", "/api/v1/auth/logout"): "ends the caller's own session",
    ("POST", "/api/v1/orgs"): "any signed-in person, from a browser session; API keys are refused (tests/identity)",
    ("POST", "/api/v1/me/password"): "the caller's own password, from a browser session (tests/identity)",
    ("POST", "/api/v1/me/sessions/revoke-all"): "the caller's own sessions, from a browser session (tests/identity)",
    ("POST", "/api/v1/licenses/normalise"): "a pure function of the text, open to anyone",
    ("POST", "/api/v1/payments/stripe/webhook"): "authenticated by Stripe's signature (tests/commerce/test_stripe.py)",
    ("POST", "/api/v1/grants/<uuid:grant_id>/downloads"): "the entitlement decision (tests/delivery/test_entitlement_matrix.py)",
    ("POST", "/api/v1/invitations/accept"): "the invited person's own acceptance: the link's secret and their address decide (tests/identity/test_invitations.py)",
}
# Endpoints whose object a more powerful role may already have removed or changed (an earlier,
# allowed call succeeded), so a 404 or 409 for a later allowed role is the object's state.
CONSUMED = {"DELETE"}


@dataclass
class World:
    v: Any
    b: Any
    ids: dict[str, str]
    orgs: dict[str, uuid.UUID]  # who each id belongs to: the parties the services name
    extra: dict[str, Any] = field(default_factory=dict)


def build_world(client) -> World:
    v, b, s = make_tenant(vendor=True), make_tenant(), make_tenant(vendor=True)
    for t in (v, b):  # (an auditor's keys are read-only: the service allows no other kind)
        t.keys["owner-readonly"] = make_key(t.owner, t.org, scopes=READ_ONLY)
    target = add_member(v.org, v.owner, OrgRole.member)
    demoted = add_member(v.org, v.owner, OrgRole.member)
    target_key_id = _key_id(client, make_key(target, v.org))
    newcomer = make_user()
    k = v.keys["owner"]
    draft = create_dataset(client, k, visibility="draft")
    dv = create_version(client, k, draft["id"])
    f = declare(client, k, dv["id"], "a.jsonl", b'{"a": 1}\n').json
    doomed = declare(client, k, dv["id"], "b.jsonl", b'{"b": 1}\n').json
    _, retired = published_dataset(client, k, {"r.jsonl": b'{"r": 1}\n'})
    offer = offer_for(client, k)
    pub_version = offer["version"]
    seller_offer = offer_for(client, s.keys["owner"])
    o = order(client, b.keys["owner"], offer, quantity=5).json
    terms = {"commercial_use": "allowed", "ai_training": "allowed", "redistribution": "allowed"}
    lic = client.post("/api/v1/licenses", json={"slug": "house", "name": "House licence", "text": "Use it for anything lawful, credit the vendor.", "terms": terms},
                      headers=bearer(k)).json
    held = order(client, b.keys["owner"], offer, quantity=5).json
    grant_id = client.post(f"/api/v1/orders/{held['id']}/mark-paid", headers=bearer(v.keys["owner"])).json["grant_id"]
    share_token = client.post(f"/api/v1/grants/{grant_id}/share-tokens", json={}, headers=bearer(b.keys["owner"]))
    assert share_token.status_code == 201, share_token.json
    model = client.post(f"/api/v1/orgs/{v.org.id}/models", json={"name": "Matrix model", "version": "1", "provider": "Matrix AG"}, headers=bearer(k)).json
    run = client.post(f"/api/v1/models/{model['id']}/runs", json={"name": "matrix run"}, headers=bearer(k)).json
    declared = client.post(f"/api/v1/training-runs/{run['id']}/inputs", json={"kind": "other", "name": "notes", "modality": "text"}, headers=bearer(k)).json
    gate = client.put(f"/api/v1/datasets/{offer['dataset_id']}/access-gate", json={"samples": True, "private_offers": True}, headers=bearer(k))
    assert gate.status_code == 200, gate.json
    asked = client.post(f"/api/v1/datasets/{offer['dataset_id']}/access-requests", json={"org_id": str(b.org.id), "answers": {}}, headers=bearer(b.keys["owner"]))
    assert asked.status_code == 201, asked.json
    endpoint = client.post(f"/api/v1/orgs/{v.org.id}/webhooks", json={"url": "https://hooks.invalid/matrix"}, headers=bearer(k)).json
    invitation = client.post(f"/api/v1/orgs/{v.org.id}/invitations", json={"email": "matrix-invitee@example.test", "role": "member"}, headers=bearer(k))
    assert invitation.status_code == 201, invitation.json
    delivery = client.post(f"/api/v1/webhooks/{endpoint['id']}/test", headers=bearer(k))
    assert delivery.status_code == 200, delivery.json
    delivery_id = client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=bearer(k)).json[0]["id"]
    ids = {"request_id": asked.json["id"], "endpoint_id": endpoint["id"], "delivery_id": delivery_id, "org_id": str(v.org.id), "user_id": str(target.id), "key_id": target_key_id, "dataset_id": draft["id"], "version_id": dv["id"],
           "model_id": model["id"], "run_id": run["id"], "input_id": declared["id"], "grant_id": grant_id, "token_id": share_token.json["id"],
           "file_id": f["id"], "offer_id": offer["id"], "order_id": o["id"], "identifier": lic["identifier"], "published_version_id": pub_version["id"],
           "published_dataset_id": offer["dataset_id"],
           "doomed_file_id": doomed["id"], "retired_version_id": retired["id"], "demoted_user_id": str(demoted.id),
           "invitation_id": invitation.json["id"]}
    return World(v, b, ids, {"v": v.org.id, "b": b.org.id}, {"newcomer": newcomer, "seller_offer": seller_offer, "offer": offer, "terms": terms})


def _key_id(client, secret: str) -> str:
    return client.get("/api/v1/me", headers=bearer(secret)).json["api_key"]["id"]


# For each write endpoint: which tenants call it, the parties its service names (from the
# caller's side), and a valid body, so that only the permission decides the answer.
Body = Callable[[World, str], Any]


@dataclass
class Case:
    parties: Callable[[World, str], dict[str, uuid.UUID]]
    body: Body | None = None
    sides: tuple[str, ...] = ("v", "b")
    raw: bytes | None = None
    path_ids: Callable[[World, str], dict[str, str]] | None = None


def own(w: World, side: str) -> dict[str, uuid.UUID]:
    return {"org": w.orgs[side]}


def vendor_org(w: World, side: str) -> dict[str, uuid.UUID]:
    return {"org": w.orgs["v"], "vendor": w.orgs["v"]}


def the_order(w: World, side: str) -> dict[str, uuid.UUID]:
    return {"buyer": w.orgs["b"], "vendor": w.orgs["v"]}


def the_request(w: World, side: str) -> dict[str, uuid.UUID]:
    return {"vendor": w.orgs["v"], "buyer": w.orgs["b"]}


def platform(w: World, side: str) -> dict[str, uuid.UUID]:
    return {}


def _slug(side: str) -> str:
    return f"m-{side}-{uuid.uuid4().hex[:8]}"


CASES: dict[tuple[str, str], Case] = {
    ("PATCH", "/api/v1/orgs/<uuid:org_id>"): Case(vendor_org, lambda w, s: {"name": "Renamed by the matrix"}),
    ("POST", "/api/v1/orgs/<uuid:org_id>/members"): Case(vendor_org, lambda w, s: {"email": w.extra["newcomer"].email, "role": "member"}),
    ("DELETE", "/api/v1/orgs/<uuid:org_id>/members/<uuid:user_id>"): Case(vendor_org),
    ("PATCH", "/api/v1/orgs/<uuid:org_id>/members/<uuid:user_id>"): Case(vendor_org, lambda w, s: {"role": "auditor"},
                                                                          path_ids=lambda w, s: {"user_id": w.ids["demoted_user_id"]}),
    ("POST", "/api/v1/orgs/<uuid:org_id>/api-keys"): Case(vendor_org, lambda w, s: {"name": "matrix", "scopes": ["catalog:read"]}),
    ("DELETE", "/api/v1/orgs/<uuid:org_id>/api-keys/<uuid:key_id>"): Case(vendor_org),
    ("POST", "/api/v1/orgs/<uuid:org_id>/invitations"): Case(vendor_org, lambda w, s: {"email": f"invitee-{uuid.uuid4().hex[:6]}@example.test", "role": "member"}),
    ("DELETE", "/api/v1/orgs/<uuid:org_id>/invitations/<uuid:invitation_id>"): Case(vendor_org),
    ("POST", "/api/v1/orgs/<uuid:org_id>/vendor-application"): Case(vendor_org, lambda w, s: dict(VENDOR_APPLICATION)),
    ("POST", "/api/v1/admin/orgs/<uuid:org_id>/vendor-decision"): Case(platform, lambda w, s: {"approve": True, "reason": "matrix"}),
    ("POST", "/api/v1/admin/users/<uuid:user_id>/sessions/revoke-all"): Case(platform),
    ("POST", "/api/v1/admin/domains"): Case(platform, lambda w, s: {"slug": "matrix", "label": "Matrix"}),
    ("POST", "/api/v1/datasets"): Case(own, lambda w, s: {"slug": _slug(s), "title": "Matrix corpus", "domain": "healthcare", "visibility": "draft"}, sides=("v",)),
    ("PATCH", "/api/v1/datasets/<uuid:dataset_id>"): Case(vendor_org, lambda w, s: {"summary": "Changed by the matrix"}),
    ("POST", "/api/v1/datasets/<uuid:dataset_id>/versions"): Case(vendor_org, lambda w, s: {"version": f"2.0.{uuid.uuid4().int % 1000}"}),
    ("PATCH", "/api/v1/versions/<uuid:version_id>"): Case(vendor_org, lambda w, s: {"changelog": "Edited by the matrix"}),
    ("POST", "/api/v1/versions/<uuid:version_id>/files"): Case(vendor_org, lambda w, s: {"path": f"{_slug(s)}.jsonl", "size": 9,
                                                                                         "sha256": hashlib.sha256(uuid.uuid4().bytes).hexdigest()}),
    ("DELETE", "/api/v1/versions/<uuid:version_id>/files/<uuid:file_id>"): Case(vendor_org, path_ids=lambda w, s: {"file_id": w.ids["doomed_file_id"]}),
    ("PUT", "/api/v1/files/<uuid:file_id>/content"): Case(vendor_org, raw=b'{"a": 1}\n'),
    ("DELETE", "/api/v1/files/<uuid:file_id>/multipart"): Case(vendor_org),
    ("POST", "/api/v1/files/<uuid:file_id>/multipart"): Case(vendor_org, lambda w, s: {"part_size": 5 * 1024 * 1024}),
    ("POST", "/api/v1/files/<uuid:file_id>/multipart/complete"): Case(vendor_org, lambda w, s: {"parts": [{"part_number": 1, "etag": "x"}]}),
    ("POST", "/api/v1/versions/<uuid:version_id>/publish"): Case(vendor_org),
    ("PUT", "/api/v1/versions/<uuid:version_id>/overlap/text-fields"): Case(vendor_org, lambda w, s: {"fields": ["text"]}),
    ("POST", "/api/v1/versions/<uuid:version_id>/overlap/appeal"): Case(vendor_org, lambda w, s: {"reason": "We hold the rights."}),  # allowed: 409, nothing is held
    ("POST", "/api/v1/versions/<uuid:version_id>/overlap/decision"): Case(platform, lambda w, s: {"allow": True, "note": "matrix"}),
    ("POST", "/api/v1/versions/<uuid:version_id>/deprecate"): Case(vendor_org, lambda w, s: {"reason": "superseded"},
                                                                    path_ids=lambda w, s: {"version_id": w.ids["retired_version_id"]}),
    ("POST", "/api/v1/versions/<uuid:version_id>/withdraw"): Case(vendor_org, lambda w, s: {"reason": "consent revoked"},
                                                                   path_ids=lambda w, s: {"version_id": w.ids["retired_version_id"]}),
    ("PUT", "/api/v1/files/<uuid:file_id>/preview"): Case(vendor_org, lambda w, s: {"drop_fields": ["a"]}),
    ("POST", "/api/v1/licenses"): Case(own, lambda w, s: {"slug": _slug(s), "name": "Matrix licence", "text": "Use it for anything lawful, credit the vendor.",
                                                          "terms": w.extra["terms"]}, sides=("v",)),
    ("POST", "/api/v1/licenses/<string:identifier>/versions"): Case(vendor_org, lambda w, s: {"text": "Use it for anything lawful; credit the vendor, always.",
                                                                                               "terms": w.extra["terms"]}),
    ("PUT", "/api/v1/versions/<uuid:version_id>/license"): Case(vendor_org, lambda w, s: {"identifier": "CC-BY-4.0"}),
    ("PUT", "/api/v1/versions/<uuid:version_id>/provenance"): Case(vendor_org, lambda w, s: {"sources": [{"kind": "first_hand", "name": "Collected by the vendor"}],
                                                                                             "personal_data": {"status": "none"}, "attest": True}),
    ("POST", "/api/v1/datasets/<uuid:dataset_id>/offers"): Case(vendor_org, lambda w, s: {"title": "Matrix deal", "license": "CC-BY-4.0", "pricing_unit": "records",
                                                                                          "unit_price_minor": 3, "currency": "EUR"},
                                                                 path_ids=lambda w, s: {"dataset_id": w.ids["published_dataset_id"]}),
    ("PATCH", "/api/v1/offers/<uuid:offer_id>"): Case(vendor_org, lambda w, s: {"active": True}),
    ("POST", "/api/v1/orders"): Case(lambda w, s: {"buyer": w.orgs[s]}, lambda w, s: _order_body(w.extra["seller_offer"] if s == "v" else w.extra["offer"])),
    ("POST", "/api/v1/orders/<uuid:order_id>/mark-paid"): Case(the_order),
    ("POST", "/api/v1/orders/<uuid:order_id>/cancel"): Case(the_order, lambda w, s: {"reason": "matrix"}),
    ("POST", "/api/v1/orders/<uuid:order_id>/reject"): Case(the_order, lambda w, s: {"reason": "matrix"}),
    ("PUT", "/api/v1/orgs/<uuid:org_id>/payout-account"): Case(vendor_org, lambda w, s: {"stripe_account_id": "acct_1MatrixVendor"}),
    ("POST", "/api/v1/grants/<uuid:grant_id>/follow-latest"): Case(the_order, lambda w, s: {}),
    ("POST", "/api/v1/grants/<uuid:grant_id>/share-tokens"): Case(the_order, lambda w, s: {"name": "matrix"}),
    ("DELETE", "/api/v1/grants/<uuid:grant_id>/share-tokens/<uuid:token_id>"): Case(the_order),
    ("POST", "/api/v1/orgs/<uuid:org_id>/models"): Case(vendor_org, lambda w, s: {"name": _slug(s), "version": "1", "provider": "Matrix AG"}),
    ("PATCH", "/api/v1/models/<uuid:model_id>"): Case(vendor_org, lambda w, s: {"description": "Changed by the matrix"}),
    ("POST", "/api/v1/models/<uuid:model_id>/runs"): Case(vendor_org, lambda w, s: {"name": _slug(s)}),
    ("POST", "/api/v1/training-runs/<uuid:run_id>/inputs"): Case(vendor_org, lambda w, s: {"kind": "other", "name": "more notes", "modality": "text"}),
    ("DELETE", "/api/v1/training-runs/<uuid:run_id>/inputs/<uuid:input_id>"): Case(vendor_org),
    ("DELETE", "/api/v1/training-runs/<uuid:run_id>"): Case(vendor_org),
    ("PUT", "/api/v1/datasets/<uuid:dataset_id>/access-gate"): Case(vendor_org, lambda w, s: {"samples": True, "private_offers": True, "questions": []},
                                                                     path_ids=lambda w, s: {"dataset_id": w.ids["published_dataset_id"]}),
    ("POST", "/api/v1/datasets/<uuid:dataset_id>/access-requests"): Case(lambda w, s: {"buyer": w.orgs[s]}, lambda w, s: {"org_id": str(w.orgs[s]), "answers": {}},
                                                                          path_ids=lambda w, s: {"dataset_id": w.ids["published_dataset_id"]}),
    ("POST", "/api/v1/access-requests/<uuid:request_id>/approve"): Case(the_request, lambda w, s: {}),
    ("POST", "/api/v1/access-requests/<uuid:request_id>/reject"): Case(the_request, lambda w, s: {"reason": "matrix"}),
    ("POST", "/api/v1/access-requests/<uuid:request_id>/withdraw"): Case(the_request),
    ("POST", "/api/v1/orgs/<uuid:org_id>/webhooks"): Case(vendor_org, lambda w, s: {"url": "https://hooks.invalid/matrix"}),
    ("PATCH", "/api/v1/webhooks/<uuid:endpoint_id>"): Case(vendor_org, lambda w, s: {"description": "Changed by the matrix"}),
    ("DELETE", "/api/v1/webhooks/<uuid:endpoint_id>"): Case(vendor_org),
    ("POST", "/api/v1/webhooks/<uuid:endpoint_id>/rotate-secret"): Case(vendor_org),
    ("POST", "/api/v1/webhooks/<uuid:endpoint_id>/test"): Case(vendor_org),
    ("POST", "/api/v1/webhooks/<uuid:endpoint_id>/deliveries/<uuid:delivery_id>/redeliver"): Case(vendor_org),
    ("POST", "/api/v1/notifications/read"): Case(own, lambda w, s: {"all": True}),
    ("PUT", "/api/v1/notifications/preferences"): Case(own, lambda w, s: {"preferences": {"order.paid": "digest"}}),
}


def _order_body(offer: dict[str, Any]) -> dict[str, Any]:
    return {"offer_id": offer["id"], "quantity": 5, "currency": offer["currency"], "license_sha256": offer["license_sha256"], "payment_method": "invoice"}


# Calls that end an object's life run last, so the others still find theirs.
LAST = ("DELETE", "/publish", "/deprecate", "/withdraw", "/reject", "/cancel", "/mark-paid")


def write_routes(app):
    routes = [(method, rule.rule, app.view_functions[rule.endpoint]) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
              for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS", "GET"})]
    return sorted(routes, key=lambda r: (any(r[0] == x or r[1].endswith(x) for x in LAST), r[1], r[0]))


def declared(view, method: str):
    handler = getattr(getattr(view, "view_class", None), method.lower(), None)
    return getattr(handler, "__permission__", None)


def policy_of(action) -> Policy[Any]:
    return next(p for p in POLICIES if isinstance(action, p.actions))


def caller(tenant, who: str) -> Principal:
    """The principal the table is asked about: the same memberships and scopes as the key."""
    role = OrgRole(who.split("-")[0])
    return Principal(user_id=uuid.uuid4(), memberships={tenant.org.id: role}, key_org_id=tenant.org.id,
                     scopes=frozenset(READ_ONLY if who.endswith("readonly") or role is OrgRole.auditor else SCOPES))


def expected_statuses(outcome: Outcome) -> set[int] | None:
    """None: any answer but a refusal."""
    return {Outcome.hidden: {404}, Outcome.forbidden: {403}, Outcome.missing_scope: {403}, Outcome.unauthenticated: {401}}.get(outcome)


def fill(rule: str, ids: dict[str, str]) -> str:
    out = rule
    for name, value in ids.items():
        for conv in ("uuid", "string", "int"):
            out = out.replace(f"<{conv}:{name}>", value)
    return out


def test_every_write_endpoint_declares_its_permission_or_says_why_not(app):
    problems = []
    for method, rule, view in write_routes(app):
        action = declared(view, method)
        if action is None and (method, rule) not in UNGOVERNED:
            problems.append(f"{method} {rule}: no @requires and not listed as ungoverned")
        if action is not None and (method, rule) not in CASES and (method, rule) not in UNGOVERNED:
            problems.append(f"{method} {rule}: declares {action!r} but the matrix has no case for it")
        if action is not None:
            policy_of(action)  # the action belongs to a table
    assert problems == [], "\n".join(problems)
    assert set(CASES) | set(UNGOVERNED) == {(m, r) for m, r, _ in write_routes(app)}, "a case names an endpoint that no longer exists"


def test_writes_by_role_follow_the_policy_tables(app, client):
    w = build_world(client)
    problems, checked, allowed_seen = [], 0, 0
    for method, rule, view in write_routes(app):
        action = declared(view, method)
        if action is None or (method, rule) in UNGOVERNED:
            continue
        case = CASES[(method, rule)]
        policy = policy_of(action)
        for side in case.sides:
            tenant = w.v if side == "v" else w.b
            ids = dict(w.ids, **(case.path_ids(w, side) if case.path_ids else {}))
            url = fill(rule, ids)
            parties = case.parties(w, side)
            succeeded = False
            for who in ["owner-readonly"] + [r.value for r in ROLES]:
                decision = policy.decide(caller(tenant, who), action, **parties)
                headers = bearer(tenant.keys[who])
                if case.raw is not None:
                    r = client.open(url, method=method, data=case.raw, headers=dict(headers, **{"Content-Type": "application/octet-stream"}))
                else:
                    r = client.open(url, method=method, json=case.body(w, side) if case.body else None, headers=headers)
                checked += 1
                want = expected_statuses(decision.outcome)
                if want is None:
                    allowed_seen += 1
                    gone = method in CONSUMED and succeeded and r.status_code in (404, 409)
                    if r.status_code in (401, 403, 404) and not gone:
                        problems.append(f"{side}/{who} {method} {url}: {r.status_code} {r.json and r.json.get('detail')!r}, but {policy.domain} allows {action.value}")
                    succeeded = succeeded or 200 <= r.status_code < 300
                elif r.status_code not in want:
                    problems.append(f"{side}/{who} {method} {url}: {r.status_code}, but {policy.domain} says {decision.outcome.value} for {action.value} (expected {sorted(want)})")
                assert r.status_code < 500, (side, who, method, url, r.get_data(as_text=True)[:300])
    assert checked > 200 and allowed_seen > 40
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.domain)
def test_every_action_of_a_table_is_used_by_a_service(policy):
    """A rule nothing asks is a rule that protects nothing: each action appears in a service."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = "\n".join(p.read_text() for pkg in ("marketplace", "catalog", "licensing") for p in (root / pkg).rglob("*.py") if not p.name == "policy.py")
    unused = [a for a in policy.actions if f".{a.name}" not in sources]
    assert unused == [], f"{policy.domain}: no service asks {unused}"
