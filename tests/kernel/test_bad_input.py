"""Hostile and malformed bodies sent to every API operation: always a clear 4xx problem+json.

The operations are taken from the live route table and OpenAPI document, so a new endpoint is
covered the day it is added.
"""

from __future__ import annotations

import io
import json
import re

import pytest

from tests.factories import bearer, make_tenant

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def api_operations(app):
    spec = app.extensions["api"].spec.to_dict()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("api-docs"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) & WRITE_METHODS):
            op = spec["paths"].get(path, {}).get(method.lower())
            yield rule.rule, method, op, spec


def fill(rule: str, t, ids: dict | None = None) -> str:
    ids = dict({"org_id": t.org.id, "user_id": t.member.id, "key_id": t.org.id}, **(ids or {}))
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids.get(m.group(1), "00000000-0000-0000-0000-000000000000")), rule)


def is_raw(op) -> bool:
    """Raw-body operations (uploads, webhooks): no marshmallow schema behind the body."""
    if not (op and "requestBody" in op):
        return False
    content = op["requestBody"]["content"]
    return "application/json" not in content or "$ref" not in content["application/json"]["schema"]


def body_schema(op, spec):
    if not op or "requestBody" not in op or is_raw(op):
        return None
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]


def assert_problem(r, *statuses):
    assert r.status_code in statuses, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.headers["Content-Type"] == "application/problem+json"
    body = r.json
    assert body["status"] == r.status_code and body["title"] and body["type"]
    return body


WRONG = {"string": 12345, "integer": "twelve", "boolean": "perhaps", "array": "not-a-list", "object": [1, 2], None: {"nested": {"deep": True}}}


def own_objects(client, t) -> dict:
    """A draft dataset, version and declared file of the caller, so requests reach validation."""
    from tests.catalog.helpers import create_dataset, create_version, declare

    ds = create_dataset(client, t.keys["owner"])
    v = create_version(client, t.keys["owner"], ds["id"])
    f = declare(client, t.keys["owner"], v["id"], "a.jsonl", b"{}\n").json
    return {"dataset_id": ds["id"], "version_id": v["id"], "file_id": f["id"]}


def test_every_write_operation_rejects_bad_bodies(app, client):
    t = make_tenant(vendor=True)
    h = bearer(t.keys["owner"])
    ids = own_objects(client, t)
    seen = 0
    for rule, method, op, spec in api_operations(app):
        url = fill(rule, t, ids)
        schema = body_schema(op, spec)
        seen += 1
        if is_raw(op):
            # raw bodies (uploads, signed webhooks): garbage is refused
            for ctype in ("application/octet-stream", "application/json"):
                r = client.open(url, method=method, data=b"not the declared bytes", headers=dict(h, **{"Content-Type": ctype}))
                assert_problem(r, 400, 409, 413)
            continue
        # malformed JSON
        r = client.open(url, method=method, data="{not json", headers=dict(h, **{"Content-Type": "application/json"}))
        assert_problem(r, 400, 401, 403, 404)
        # JSON that is not an object
        r = client.open(url, method=method, data="[1, 2, 3]", headers=dict(h, **{"Content-Type": "application/json"}))
        assert_problem(r, 400, 401, 403, 404)
        # wrong media type
        r = client.open(url, method=method, data="a=b", headers=dict(h, **{"Content-Type": "application/x-www-form-urlencoded"}))
        assert_problem(r, 400, 415, 401, 403, 404)
        # oversized body
        big = json.dumps({"name": "x" * (app.config["SETTINGS"].max_json_bytes + 10)})
        r = client.open(url, method=method, data=big, headers=dict(h, **{"Content-Type": "application/json"}))
        assert_problem(r, 413)
        if schema is None:
            # operations without a body refuse one instead of ignoring it
            r = client.open(url, method=method, json={"surprise": 1}, headers=h)
            assert_problem(r, 400, 401, 403, 404)
            continue
        # unknown field, named
        r = client.open(url, method=method, json={"definitely_not_a_field": 1}, headers=h)
        body = assert_problem(r, 400)
        assert "definitely_not_a_field" in body["errors"], body
        # each declared field with a wrong type, named
        for name, prop in schema.get("properties", {}).items():
            if prop.get("readOnly"):
                continue
            r = client.open(url, method=method, json={name: WRONG.get(prop.get("type"), WRONG[None])}, headers=h)
            body = assert_problem(r, 400)
            assert name in body["errors"], (rule, method, name, body)
    assert seen >= 10


def test_anonymous_writes_get_401_or_validation(app, client):
    t = make_tenant()
    for rule, method, _op, _spec in api_operations(app):
        if rule.startswith("/api/v1/auth/"):
            continue
        r = client.open(fill(rule, t), method=method, json={})
        assert_problem(r, 400, 401, 404)  # 404: anonymous callers cannot see private objects


def test_chunked_body_over_limit_is_413(app, client):
    limit = app.config["SETTINGS"].max_json_bytes

    body = b'{"email": "' + b"a" * (limit + 2048) + b'", "password": "x"}'
    r = client.post(
        "/api/v1/auth/login",
        input_stream=io.BytesIO(body),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_problem(r, 413)


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"email": "not-an-email", "password": "long enough pw", "name": "x"}, "email"),
        ({"email": "a@b.test", "password": "short", "name": "x"}, "password"),
        ({"email": "a@b.test", "password": "long enough pw", "name": ""}, "name"),
        ({"email": "a@b.test", "password": "long enough pw", "name": "x" * 201}, "name"),
        ({"password": "long enough pw", "name": "x"}, "email"),
        ({"email": "a@b.test", "password": "long enough pw", "name": "x", "is_platform_admin": True}, "is_platform_admin"),
    ],
)
def test_register_validation_names_the_field(client, payload, field):
    body = assert_problem(client.post("/api/v1/auth/register", json=payload), 400)
    assert field in body["errors"]


def test_api_key_validation(app, client):
    t = make_tenant()
    url = f"/api/v1/orgs/{t.org.id}/api-keys"
    h = bearer(t.keys["owner"])
    assert "scopes" in assert_problem(client.post(url, json={"name": "x", "scopes": ["root"]}, headers=h), 400)["errors"]
    assert "scopes" in assert_problem(client.post(url, json={"name": "x", "scopes": []}, headers=h), 400)["errors"]
    assert "expires_at" in assert_problem(client.post(url, json={"name": "x", "scopes": ["catalog:read"], "expires_at": "2001-01-01T00:00:00+00:00"}, headers=h), 400)["errors"]
    assert "expires_at" in assert_problem(client.post(url, json={"name": "x", "scopes": ["catalog:read"], "expires_at": "2031-01-01T00:00:00"}, headers=h), 400)["errors"]


def test_unknown_routes_and_methods_are_problems(client):
    assert_problem(client.get("/api/v1/nothing-here"), 404)
    assert_problem(client.put("/api/v1/auth/login", json={}), 405)
    assert_problem(client.get("/api/v1/orgs/not-a-uuid"), 404)


# --------------------------------------------------------------------------- hostile input (R2 1/11)

DEEP = "[" * 1000 + "]" * 1000
HOSTILE_BODIES = {
    "nested 1,000 deep": '{"email": "a@b.test", "password": ' + DEEP + "}",
    "nested 100,000 deep": '{"email": "a@b.test", "password": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "lone surrogate in the e-mail": '{"email": "\\ud800@x.io", "password": "x"}',
    "lone surrogate in a key": '{"email": "a@b.test", "password": "x", "\\udfff": 1}',
    "5,000-digit password": '{"email": "a@b.test", "password": ' + "9" * 5000 + "}",
    "huge integer": '{"email": "a@b.test", "password": ' + "9" * 30 + "}",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_hostile_json_to_login_is_a_400_naming_it(client, name):
    r = client.post("/api/v1/auth/login", data=HOSTILE_BODIES[name], headers={"Content-Type": "application/json"})
    body = assert_problem(r, 400)
    assert body["errors"], body


def test_hostile_json_everywhere_is_never_a_500(app, client):
    """Every JSON operation, as an owner, with each hostile body: a 4xx problem, never a 500."""
    t = make_tenant(vendor=True)
    h = bearer(t.keys["owner"])
    ids = own_objects(client, t)
    for rule, method, op, spec in api_operations(app):
        if is_raw(op) or body_schema(op, spec) is None:
            continue
        url = fill(rule, t, ids)
        for name in ("nested 1,000 deep", "lone surrogate in the e-mail", "5,000-digit password"):
            r = client.open(url, method=method, data=HOSTILE_BODIES[name].replace('"email"', '"title"'), headers=dict(h, **{"Content-Type": "application/json"}))
            assert_problem(r, 400, 401, 403, 404, 409)


@pytest.mark.parametrize("url", ["/api/v1/datasets?size_min=99999999999999999999", "/api/v1/datasets?price_max=-99999999999999999999",
                                 "/api/v1/licenses/CC-BY-4.0?version=99999999999999999999"])
def test_integers_beyond_64_bits_in_queries_are_400(client, url):
    assert_problem(client.get(url), 400)


def test_a_huge_event_id_is_not_found(app, client):
    from tests.factories import make_key, make_org, make_user

    officer = make_user(platform_compliance=True)
    key = make_key(officer, make_org(officer), scopes=["audit:read"])
    assert_problem(client.get("/api/v1/audit/events/99999999999999999999/proof", headers=bearer(key)), 404)


def test_a_term_licence_of_a_million_months_is_refused(app, client):
    t = make_tenant(vendor=True)
    terms = {"commercial_use": "allowed", "ai_training": "allowed", "redistribution": "allowed", "term_months": 1_000_000}
    r = client.post("/api/v1/licenses", json={"slug": "forever", "name": "F", "text": "Use it for as long as the term runs, then stop.", "terms": terms}, headers=bearer(t.keys["owner"]))
    body = assert_problem(r, 400)
    assert "1200" in json.dumps(body)


def test_term_orders_past_a_century_are_refused_before_payment(app, client):
    from tests.commerce.helpers import market, offer_for, order

    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"], pricing_unit="term", term_days=3660, unit_price_minor=1)
    body = assert_problem(order(client, buyer.keys["owner"], offer, quantity=1000), 400)
    assert "100 years" in body["errors"]["quantity"][0]
    ok = order(client, buyer.keys["owner"], offer, quantity=5)
    assert ok.status_code == 201
    assert client.post(f"/api/v1/orders/{ok.json['id']}/mark-paid", headers=bearer(vendor.keys["owner"])).status_code == 200


def test_hostile_login_bodies_do_not_reset_the_login_rate_limit(make_settings, backend):
    from marketplace.app import create_app
    from tests.conftest import isolated

    app = create_app(make_settings(backend, login_rate_limit="3/minute", auth_failure_rate_limit="1000/minute", ratelimit_storage_url="memory://"))
    with isolated(app):
        c = app.test_client()
        wrong = {"email": "nobody@example.test", "password": "wrong"}
        codes = [c.post("/api/v1/auth/login", json=wrong).status_code for _ in range(3)]
        assert codes == [401, 401, 401]
        assert c.post("/api/v1/auth/login", data=HOSTILE_BODIES["nested 1,000 deep"], headers={"Content-Type": "application/json"}).status_code in (400, 429)
        assert c.post("/api/v1/auth/login", json=wrong).status_code == 429


def test_required_bodies_are_required_and_optional_ones_are_documented(app, client):
    t = make_tenant(vendor=True)
    ids = own_objects(client, t)
    h = bearer(t.keys["owner"])
    r = client.patch(f"/api/v1/datasets/{ids['dataset_id']}", headers=h)
    assert assert_problem(r, 400)["errors"] == {"_body": ["Send a JSON object."]}
    spec = app.extensions["api"].spec.to_dict()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if isinstance(op, dict) and "requestBody" in op and op["requestBody"].get("required") is False:
                assert path.endswith(("/deprecate", "/cancel")), (method, path)


def test_a_method_the_path_does_not_take_is_405_even_with_a_body(app, client):
    t = make_tenant(vendor=True)
    ids = own_objects(client, t)
    r = client.post(f"/api/v1/files/{ids['file_id']}/content", data=b"bytes", headers=dict(bearer(t.keys["owner"]), **{"Content-Type": "application/octet-stream"}))
    assert_problem(r, 405)
    r = client.post("/api/v1/me", data="x", headers=dict(bearer(t.keys["owner"]), **{"Content-Type": "text/plain"}))
    assert_problem(r, 405)


def test_licence_normalise_answers_get_too(client):
    r = client.get("/api/v1/licenses/normalise?text=CC%20BY%204.0")
    assert r.status_code == 200 and r.json["identifier"] == "CC-BY-4.0"


@pytest.mark.parametrize("value", [0, 1, "true", "yes", None])
def test_json_booleans_are_strict(app, client, value):
    t = make_tenant(vendor=True)
    terms = {"commercial_use": "allowed", "ai_training": "allowed", "redistribution": "allowed", "no_competing_models": value}
    r = client.post("/api/v1/licenses", json={"slug": "strict-bools", "name": "S", "text": "Use it for as long as the term runs, then stop.", "terms": terms},
                    headers=bearer(t.keys["owner"]))
    assert "no_competing_models" in json.dumps(assert_problem(r, 400)["errors"])


@pytest.mark.parametrize("query", ["size_min=%D9%A1%D9%A2", "limit=%EF%BC%91%EF%BC%90", "limit=1_0", "limit=%2B5", "limit=%205"])
def test_query_integers_are_ascii_digits(client, query):
    assert_problem(client.get(f"/api/v1/datasets?{query}"), 400)


def test_path_integers_are_ascii_digits(app, client):
    from tests.factories import make_key, make_org, make_user

    officer = make_user(platform_compliance=True)
    key = make_key(officer, make_org(officer), scopes=["audit:read"])
    assert_problem(client.get("/api/v1/audit/events/%D9%A1/proof", headers=bearer(key)), 404)


def test_currencies_are_iso_4217(app, client):
    from tests.commerce.helpers import offer_for

    vendor = make_tenant(vendor=True)
    offer = offer_for(client, vendor.keys["owner"], currency="JPY")
    assert offer["currency"] == "JPY"
    for bad in ("QQQ", "XTS", "XXX", "ABC"):
        r = client.post(f"/api/v1/datasets/{offer['dataset_id']}/offers", json={"title": "t", "license": "CC-BY-4.0", "pricing_unit": "records",
                                                                                "unit_price_minor": 5, "currency": bad}, headers=bearer(vendor.keys["owner"]))
        assert "currency" in assert_problem(r, 400)["errors"]


def test_moments_past_the_calendar_edge_are_refused_not_overflowed(client):
    """A date whose UTC offset pushes it past year 9999 (or before year 1) is a 400 naming the
    field; it once overflowed in the database layer (500)."""
    t = make_tenant()
    r = client.post(f"/api/v1/orgs/{t.org.id}/api-keys", json={"name": "edge", "scopes": ["catalog:read"], "expires_at": "9999-12-31T23:59:59-14:00"},
                    headers=bearer(t.keys["owner"]))
    assert r.status_code == 400 and "expires_at" in r.json["errors"], r.json
    for field, value in (("since", "0001-01-01T00:00:00+14:00"), ("until", "9999-12-31T23:59:59-14:00")):
        r = client.get("/api/v1/audit/events", query_string={"org_id": str(t.org.id), field: value}, headers=bearer(t.keys["owner"]))
        assert r.status_code == 400 and f"query.{field}" in r.json["errors"], (field, r.json)
