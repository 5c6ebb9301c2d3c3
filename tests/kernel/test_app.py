"""Application-wide behaviour: probes, OpenAPI document, logs, security headers, configuration."""

from __future__ import annotations

import json
import logging

import pytest
from openapi_spec_validator import validate

from marketplace.app import create_app
from marketplace.kernel.config import Settings


def test_healthz_touches_nothing(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json == {"status": "ok"}


def test_readyz_reports_database_and_store(client, backend):
    r = client.get("/readyz")
    assert r.status_code == 200, r.json
    assert r.json["checks"]["database"]["status"] == "ok"
    assert r.json["checks"]["object_store"]["status"] == "ok"


def test_readyz_fails_when_the_object_store_is_down(make_settings, backend):
    app = create_app(make_settings(backend, storage_url="s3://nope?endpoint_url=http://127.0.0.1:9"))
    r = app.test_client().get("/readyz")
    assert r.status_code == 503
    assert r.json["checks"]["object_store"]["status"] == "fail"
    assert r.json["checks"]["database"]["status"] == "ok"


def test_readyz_fails_when_the_database_is_down(make_settings, backend):
    app = create_app(make_settings(backend, database_url="postgresql+psycopg://nobody@127.0.0.1:9/x"))
    r = app.test_client().get("/readyz")
    assert r.status_code == 503 and r.json["checks"]["database"]["status"] == "fail"
    # no driver message leaks
    assert "psycopg" not in r.get_data(as_text=True).lower()


def test_openapi_document_is_valid_and_complete(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    spec = r.json
    validate(spec)
    assert spec["openapi"].startswith("3.")
    checked = 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            codes = set(op["responses"])
            assert any(c.startswith("2") for c in codes), (method, path)
            assert "default" in codes or any(c.startswith("4") for c in codes), f"{method} {path} declares no error responses"
            if method in {"post", "put", "patch"} and "requestBody" in op:
                assert "400" in codes, f"{method} {path} does not declare its validation error"
            for code, resp in op["responses"].items():
                if code.startswith(("4", "5")):
                    # shared error responses are $refs to components.responses: resolve them
                    if "$ref" in resp:
                        resp = spec["components"]["responses"][resp["$ref"].rsplit("/", 1)[1]]
                    assert "application/problem+json" in resp["content"], (method, path, code)
                    checked += 1
    assert checked > 100  # the check above ran on every declared error, not on none


def test_docs_page_lists_operations(client):
    r = client.get("/api/v1/docs/reference")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "/api/v1/orgs/{org_id}/api-keys" in html and "ApiKeyCreate" in html
    assert "<h2>Authentication quick start</h2>" in html or "Authentication quick start</h" in html  # the intro, as Markdown rendered
    assert "Not found: no such resource, or one another organisation owns" in html  # what an error status means here


def test_swagger_ui_is_served_from_the_package_under_the_strict_policy(client):
    page = client.get("/api/v1/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-spec="/api/v1/openapi.json"' in html
    assert "script-src 'self';" in page.headers["Content-Security-Policy"] and "<script>" not in html  # no inline script, no CDN
    assert "https://" not in html.split("<body>")[0]
    js = client.get("/api/v1/docs/ui/swagger-ui-bundle.js")
    assert js.status_code == 200 and b"SwaggerUIBundle" in js.data[:200000]
    assert client.get("/api/v1/docs/ui/swagger-ui.css").status_code == 200
    for bad in ("index.html", "..%2Fpyproject.toml", "swagger-ui-bundle.js.map", "oauth2-redirect.html"):
        assert client.get(f"/api/v1/docs/ui/{bad}").status_code == 404
    spec = client.get("/api/v1/openapi.json").json
    assert "Authentication quick start" in spec["info"]["description"]
    assert spec["components"]["responses"]["PAYMENT_REQUIRED"]["description"].startswith("Payment required: the grant's quota")


def test_json_logs_carry_the_request_id(client, capsys):
    from marketplace.kernel.http import configure_logging

    configure_logging("INFO", True)
    try:
        client.get("/healthz", headers={"X-Request-ID": "trace-me-42"})
    finally:
        configure_logging("WARNING", True)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    req = [entry for entry in lines if entry.get("msg") == "request" and entry.get("path") == "/healthz"]
    assert req and req[-1]["request_id"] == "trace-me-42" and req[-1]["status"] == 200


def test_api_keys_never_reach_the_logs(app, client, capsys):
    from marketplace.kernel.http import configure_logging
    from tests.factories import bearer, make_tenant

    t = make_tenant()
    configure_logging("DEBUG", True)
    try:
        client.get("/api/v1/me", headers=bearer(t.keys["owner"]))
        client.get("/api/v1/me", headers=bearer(t.keys["owner"] + "tampered"))
    finally:
        configure_logging("WARNING", True)
        logging.getLogger().setLevel("WARNING")
    secret = t.keys["owner"].split(".", 1)[1]
    err = capsys.readouterr().err
    # the logs were captured (else the next assert would pass on nothing) and name the requests
    logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert sum(1 for e in logged if e.get("msg") == "request" and e.get("path") == "/api/v1/me") == 2, err[-2000:]
    assert secret not in err


def test_security_headers_and_cookie_flags(app, client):
    from tests.factories import PASSWORD, make_user

    u = make_user()
    r = client.post("/api/v1/auth/login", json={"email": u.email, "password": PASSWORD})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"


def test_settings_from_environment(tmp_path):
    env = {
        "MARKETPLACE_INSTANCE_PATH": str(tmp_path),
        "MARKETPLACE_PRESIGN_TTL": "120",
        "MARKETPLACE_MAX_JSON_BYTES": "2048",
        "MARKETPLACE_LOG_JSON": "0",
    }
    s = Settings.from_env(env)
    assert s.presign_ttl_seconds == 120 and s.max_json_bytes == 2048 and s.log_json is False
    assert s.database_url == f"sqlite:///{tmp_path}/marketplace.db"
    assert s.storage_url == f"file://{tmp_path}/objects"
    # the generated secret is kept outside the repo, private, and stable across restarts
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert Settings.from_env(env).secret_key == s.secret_key
    with pytest.raises(ValueError):
        Settings.from_env(dict(env, MARKETPLACE_PRESIGN_TTL="99999"))
    with pytest.raises(ValueError):
        Settings.from_env(dict(env, MARKETPLACE_PAYMENTS="barter"))


def test_storage_url_schemes(tmp_path):
    from catalog.storage import store_from_url
    from catalog.storage.filesystem import FilesystemObjectStore
    from catalog.storage.s3 import S3ObjectStore

    assert isinstance(store_from_url(f"file://{tmp_path}", secret_key="k", public_url="http://x"), FilesystemObjectStore)
    s3 = store_from_url("s3://bucket/some/prefix?endpoint_url=http://127.0.0.1:9000&region=eu-west-1", secret_key="k", public_url="http://x")
    assert isinstance(s3, S3ObjectStore) and s3.bucket == "bucket" and s3.prefix == "some/prefix/"
    with pytest.raises(ValueError):
        store_from_url("ftp://x", secret_key="k", public_url="http://x")
