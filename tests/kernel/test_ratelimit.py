"""Brute force on logins and API keys is rate-limited (Flask-Limiter on the real Redis)."""

from __future__ import annotations

import os
import uuid

import pytest

from marketplace.app import create_app
from tests.conftest import isolated
from tests.factories import PASSWORD, bearer, make_tenant, make_user

REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def limited(backend, make_settings):
    app = create_app(make_settings(backend, ratelimit_storage_url=REDIS, login_rate_limit="5/minute", auth_failure_rate_limit="8/minute"))
    with isolated(app) as a:
        yield a


def test_login_brute_force_is_limited_per_email(limited):
    client = limited.test_client()
    victim = make_user()
    ip = f"10.{uuid.uuid4().int % 250}.0.1"  # a fresh address for each run on the shared Redis
    env = {"REMOTE_ADDR": ip}
    for _ in range(5):
        r = client.post("/api/v1/auth/login", json={"email": victim.email, "password": "guess"}, environ_base=env)
        assert r.status_code == 401
    r = client.post("/api/v1/auth/login", json={"email": victim.email, "password": PASSWORD}, environ_base=env)
    assert r.status_code == 429 and r.headers["Content-Type"] == "application/problem+json" and r.headers.get("Retry-After")
    # another account from the same address is not locked by this one's failures
    other = make_user()
    assert client.post("/api/v1/auth/login", json={"email": other.email, "password": PASSWORD}, environ_base=env).status_code == 200


def test_successful_logins_are_not_counted(limited):
    user = make_user()
    env = {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.1.1"}
    for _ in range(8):
        client = limited.test_client()  # a fresh browser each time (a signed-in one would need its CSRF token)
        assert client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}, environ_base=env).status_code == 200


def test_api_key_guessing_is_limited_per_address(limited):
    client = limited.test_client()
    t = make_tenant()
    env = {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.2.1"}
    for i in range(8):
        assert client.get("/api/v1/me", headers=bearer(f"mk_{i:012d}.guess"), environ_base=env).status_code == 401
    r = client.get("/api/v1/me", headers=bearer(t.keys["owner"]), environ_base=env)
    assert r.status_code == 429  # the address is blocked, valid key or not, until the window passes
    assert client.get("/api/v1/me", headers=bearer(t.keys["owner"]), environ_base={"REMOTE_ADDR": "10.250.250.250"}).status_code == 200


def test_retry_after_only_where_it_means_something(backend, make_settings):
    """The limiter adds Retry-After to every response; clients would read "0" on a success and
    the window's reset (a minute) on an outage. Only a 429 keeps the limiter's value, and a 503
    says when to come back."""
    from marketplace.kernel.errors import RETRY_AFTER_UNAVAILABLE, DependencyUnavailable

    app = create_app(make_settings(backend, ratelimit_storage_url=REDIS, auth_failure_rate_limit="2/minute"))

    def outage():
        raise DependencyUnavailable("The object store did not answer.")

    app.add_url_rule("/api/v1/test-outage", "test_outage", outage)
    with isolated(app):
        client = app.test_client()
        env = {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.3.1"}
        ok = client.get("/api/v1/domains", environ_base=env)
        assert ok.status_code == 200 and "Retry-After" not in ok.headers and ok.headers["X-RateLimit-Limit"] == "2"
        down = client.get("/api/v1/test-outage", environ_base=env)
        assert down.status_code == 503 and down.headers["Retry-After"] == str(RETRY_AFTER_UNAVAILABLE)
        for _ in range(2):
            r = client.get("/api/v1/me", headers=bearer("mk_000000000000.guess"), environ_base=env)
            assert r.status_code == 401 and "Retry-After" not in r.headers
        limited = client.get("/api/v1/domains", environ_base=env)
        assert limited.status_code == 429 and 0 < int(limited.headers["Retry-After"]) <= 60


def test_a_limited_address_gets_a_page_that_says_when_to_come_back(limited):
    client = limited.test_client()
    env = {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.1.1"}
    for _ in range(8):  # failed authentications from one address
        assert client.get("/api/v1/me", headers=bearer("mk_000000000000.wrong"), environ_base=env).status_code == 401
    r = client.get("/api/v1/me", environ_base=env)
    assert r.status_code == 429
    assert 0 < r.json["retry_after"] <= 60 and r.json["retry_at"].endswith("+00:00") and "wait" in r.json["detail"]
    page = client.get("/datasets", environ_base=env, headers={"Accept": "text/html"})
    assert page.status_code == 429 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Please wait a moment" in html and "try again at" in html and "UTC" in html and "per 1 minute" not in html
