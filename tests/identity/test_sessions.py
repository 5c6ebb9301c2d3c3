"""Browser sessions are revocable on the server: a copied cookie stops working the moment the
session is ended, whichever way it is ended (logout, password change, removal from an
organisation, sign out everywhere, or a platform admin)."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.kernel.audit import AuditEvent
from marketplace.kernel.db import get_session
from tests.factories import PASSWORD, bearer, make_tenant, make_user


def _login(app, email: str, password: str = PASSWORD):
    c = app.test_client()
    r = c.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.json
    return c, r.json["csrf_token"]


def _copy(app, src):
    """A second browser holding a stolen copy of `src`'s cookies."""
    thief = app.test_client()
    name = app.config.get("SESSION_COOKIE_NAME", "session")
    cookie = src.get_cookie(name)
    assert cookie is not None
    thief.set_cookie(name, cookie.value)
    return thief


def test_logout_ends_the_session_for_a_copied_cookie_too(app):
    user = make_user()
    c, csrf = _login(app, user.email)
    thief = _copy(app, c)
    assert thief.get("/api/v1/me").status_code == 200
    assert c.post("/api/v1/auth/logout", headers={"X-CSRFToken": csrf}).status_code == 204
    assert thief.get("/api/v1/me").status_code == 401
    assert c.get("/api/v1/me").status_code == 401
    # Nor can the copy mint an API key, the classic way to outlive a logout.
    tenant = make_tenant()
    c2, csrf2 = _login(app, tenant.owner.email)
    thief2 = _copy(app, c2)
    assert c2.post("/api/v1/auth/logout", headers={"X-CSRFToken": csrf2}).status_code == 204
    r = thief2.post(f"/api/v1/orgs/{tenant.org.id}/api-keys", json={"name": "persist", "scopes": ["catalog:read"]}, headers={"X-CSRFToken": csrf2})
    assert r.status_code in (400, 401)  # no session: the CSRF check or authentication refuses
    ev = get_session().scalars(select(AuditEvent).where(AuditEvent.action == "auth.session.end", AuditEvent.actor_user_id == user.id)).all()
    assert len(ev) == 1


def test_web_logout_ends_the_server_session(app):
    user = make_user()
    c, csrf = _login(app, user.email)
    thief = _copy(app, c)
    assert c.post("/logout", data={"csrf_token": csrf}).status_code == 302
    assert thief.get("/api/v1/me").status_code == 401


def test_password_change_ends_every_session(app):
    user = make_user()
    a, csrf_a = _login(app, user.email)
    b, _ = _login(app, user.email)
    thief = _copy(app, b)
    r = a.post("/api/v1/me/password", json={"current_password": "wrong one", "new_password": "a brand new password"}, headers={"X-CSRFToken": csrf_a})
    assert r.status_code == 400 and "current_password" in r.json["errors"]
    assert thief.get("/api/v1/me").status_code == 200  # a refused change ends nothing
    r = a.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "a brand new password"}, headers={"X-CSRFToken": csrf_a})
    assert r.status_code == 204
    for c in (a, b, thief):
        assert c.get("/api/v1/me").status_code == 401
    _login(app, user.email, "a brand new password")
    assert app.test_client().post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}).status_code == 401


def test_password_cannot_be_changed_with_an_api_key(app, client):
    tenant = make_tenant()
    r = client.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "a brand new password"}, headers=bearer(tenant.keys["owner"]))
    assert r.status_code == 403


def test_removal_from_an_organisation_ends_the_members_sessions(app, client):
    tenant = make_tenant()
    c, _ = _login(app, tenant.member.email)
    thief = _copy(app, c)
    assert thief.get(f"/api/v1/orgs/{tenant.org.id}").status_code == 200
    assert client.delete(f"/api/v1/orgs/{tenant.org.id}/members/{tenant.member.id}", headers=bearer(tenant.keys["admin"])).status_code == 204
    assert thief.get("/api/v1/me").status_code == 401 and c.get("/api/v1/me").status_code == 401


def test_sign_out_everywhere_and_list_sessions(app):
    user = make_user()
    a, csrf_a = _login(app, user.email)
    b, _ = _login(app, user.email)
    listed = a.get("/api/v1/me/sessions").json
    assert len(listed) == 2 and sum(1 for s in listed if s["current"]) == 1
    assert not any("token" in k for s in listed for k in s)
    r = a.post("/api/v1/me/sessions/revoke-all", headers={"X-CSRFToken": csrf_a})
    assert r.status_code == 200 and r.json["ended"] == 2
    assert a.get("/api/v1/me").status_code == 401 and b.get("/api/v1/me").status_code == 401


def test_a_platform_admin_ends_another_users_sessions_and_nobody_else_can(app, client):
    from tests.factories import make_key, make_org

    user = make_user()
    victim, _ = _login(app, user.email)
    stranger = make_tenant()
    r = client.post(f"/api/v1/admin/users/{user.id}/sessions/revoke-all", headers=bearer(stranger.keys["owner"]))
    assert r.status_code == 403
    assert victim.get("/api/v1/me").status_code == 200
    admin = make_user(platform_admin=True)
    key = make_key(admin, make_org(admin))
    r = client.post(f"/api/v1/admin/users/{user.id}/sessions/revoke-all", headers=bearer(key))
    assert r.status_code == 200 and r.json["ended"] == 1
    assert victim.get("/api/v1/me").status_code == 401


def test_a_forged_cookie_without_a_server_session_is_anonymous(app):
    """A cookie signed with the app's key but naming no live session (the old format) is nobody."""
    user = make_user()
    c = app.test_client()
    with c.session_transaction() as s:
        s["user_id"] = str(user.id)
    assert c.get("/api/v1/me").status_code == 401
    with c.session_transaction() as s:
        s["user_id"] = str(user.id)
        s["sid"] = "guessed-token"
    assert c.get("/api/v1/me").status_code == 401


def test_a_login_ends_the_previous_session_of_that_browser(app):
    """A shared computer: A never logs out, B logs in on the same browser. A's session ends, so a
    copy of A's cookie is worth nothing."""
    a, b = make_user(), make_user()
    browser, csrf = _login(app, a.email)
    copy_of_a = _copy(app, browser)
    r = browser.post("/api/v1/auth/login", json={"email": b.email, "password": PASSWORD}, headers={"X-CSRFToken": csrf})
    assert r.status_code == 200
    assert browser.get("/api/v1/me").json["user"]["email"] == b.email
    assert copy_of_a.get("/api/v1/me").status_code == 401


def test_api_keys_neither_list_nor_end_browser_sessions(app, client):
    tenant = make_tenant()
    _login(app, tenant.owner.email)
    assert client.get("/api/v1/me/sessions", headers=bearer(tenant.keys["owner"])).status_code == 403
    assert client.post("/api/v1/me/sessions/revoke-all", headers=bearer(tenant.keys["owner"])).status_code == 403
