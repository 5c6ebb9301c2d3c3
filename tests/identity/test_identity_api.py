"""Identity over HTTP: registration, login, organisations, members, keys, tenancy and roles."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from marketplace.identity.models import ApiKey, User
from marketplace.kernel.audit import AuditEvent
from marketplace.kernel.db import get_session, unit_of_work
from tests.factories import PASSWORD, VENDOR_APPLICATION, bearer, make_key, make_org, make_tenant, make_user


def test_register_then_login_sets_session_and_me_works(client):
    r = client.post("/api/v1/auth/register", json={"email": "Mira@Example.TEST", "password": "long enough pw", "name": "Mira", "organization_name": "MedCorp"})
    assert r.status_code == 201, r.json
    assert r.json["email"] == "mira@example.test"
    assert "password" not in r.json and "password_hash" not in r.json
    r = client.post("/api/v1/auth/login", json={"email": "mira@example.test", "password": "long enough pw"})
    assert r.status_code == 200
    assert r.json["csrf_token"]
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert [o["name"] for o in me.json["organizations"]] == ["MedCorp"]
    assert me.json["organizations"][0]["role"] == "owner"


def test_password_is_stored_with_argon2id(app):
    user = make_user()
    stored = get_session().get(User, user.id).password_hash
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_duplicate_registration_conflicts(client):
    body = {"email": "dup@example.test", "password": "long enough pw", "name": "D"}
    assert client.post("/api/v1/auth/register", json=body).status_code == 201
    r = client.post("/api/v1/auth/register", json=body)
    assert r.status_code == 409
    assert r.headers["Content-Type"] == "application/problem+json"
    assert "email" in r.json["errors"]


def test_wrong_password_is_401_and_audited(app, client):
    user = make_user()
    r = client.post("/api/v1/auth/login", json={"email": user.email, "password": "wrong password"})
    assert r.status_code == 401
    assert r.json["title"] == "Authentication required"
    ev = get_session().scalars(select(AuditEvent).where(AuditEvent.action == "auth.login", AuditEvent.outcome == "denied")).all()
    assert any(e.subject_id == str(user.id) for e in ev)
    # unknown e-mail answers exactly the same
    r2 = client.post("/api/v1/auth/login", json={"email": "nobody@example.test", "password": "wrong password"})
    assert r2.status_code == 401 and r2.json["detail"] == r.json["detail"]


def test_api_key_secret_shown_once_and_stored_hashed(app, client):
    t = make_tenant()
    r = client.post(f"/api/v1/orgs/{t.org.id}/api-keys", json={"name": "ci", "scopes": ["catalog:read"]}, headers=bearer(t.keys["owner"]))
    assert r.status_code == 201
    secret = r.json["secret"]
    assert secret.startswith(r.json["prefix"] + ".")
    listed = client.get(f"/api/v1/orgs/{t.org.id}/api-keys", headers=bearer(t.keys["owner"])).json
    assert all("secret" not in k for k in listed)
    row = get_session().scalar(select(ApiKey).where(ApiKey.prefix == r.json["prefix"]))
    assert secret.split(".", 1)[1] not in row.secret_hash
    # the new key works and records last use
    me = client.get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200 and me.json["api_key"]["scopes"] == ["catalog:read"]
    get_session().expire_all()
    assert get_session().get(ApiKey, row.id).last_used_at is not None


def test_member_of_other_org_gets_404(app, client):
    a, b = make_tenant(), make_tenant()
    for role in ("owner", "admin", "member", "auditor"):
        h = bearer(a.keys[role])
        assert client.get(f"/api/v1/orgs/{b.org.id}", headers=h).status_code == 404
        assert client.get(f"/api/v1/orgs/{b.org.id}/members", headers=h).status_code == 404
        assert client.get(f"/api/v1/orgs/{b.org.id}/api-keys", headers=h).status_code == 404
        assert client.patch(f"/api/v1/orgs/{b.org.id}", json={"name": "pwned"}, headers=h).status_code == 404
        assert client.post(f"/api/v1/orgs/{b.org.id}/api-keys", json={"name": "x", "scopes": ["catalog:read"]}, headers=h).status_code == 404
        r = client.delete(f"/api/v1/orgs/{b.org.id}/members/{b.owner.id}", headers=h)
        assert r.status_code == 404
        assert str(b.org.id) not in r.get_data(as_text=True)


def test_key_of_one_org_cannot_reach_the_users_other_org(app, client):
    user = make_user()
    org1, org2 = make_org(user), make_org(user)
    key1 = make_key(user, org1)
    assert client.get(f"/api/v1/orgs/{org1.id}", headers=bearer(key1)).status_code == 200
    assert client.get(f"/api/v1/orgs/{org2.id}", headers=bearer(key1)).status_code == 404
    orgs = client.get("/api/v1/orgs", headers=bearer(key1)).json
    assert [o["id"] for o in orgs] == [str(org1.id)]


def test_key_without_scope_gets_403(app, client):
    t = make_tenant()
    readonly = make_key(t.owner, t.org, scopes=["catalog:read"])
    r = client.post(f"/api/v1/orgs/{t.org.id}/api-keys", json={"name": "x", "scopes": ["catalog:read"]}, headers=bearer(readonly))
    assert r.status_code == 403
    assert "org:admin" in r.json["detail"]
    assert client.patch(f"/api/v1/orgs/{t.org.id}", json={"name": "n"}, headers=bearer(readonly)).status_code == 403


def test_revoked_key_gets_401(app, client):
    t = make_tenant()
    key = make_key(t.member, t.org, scopes=["catalog:read", "org:admin"])
    key_id = client.get("/api/v1/me", headers=bearer(key)).json["api_key"]["id"]
    r = client.delete(f"/api/v1/orgs/{t.org.id}/api-keys/{key_id}", headers=bearer(t.keys["admin"]))
    assert r.status_code == 200 and r.json["revoked_at"]
    r = client.get("/api/v1/me", headers=bearer(key))
    assert r.status_code == 401
    assert "revoked" in r.json["detail"]


def test_expired_key_gets_401(app, client):
    t = make_tenant()
    key = make_key(t.member, t.org, expires_at=datetime.now(timezone.utc) + timedelta(hours=1))
    prefix = key.split(".")[0]
    with unit_of_work():
        get_session().scalar(select(ApiKey).where(ApiKey.prefix == prefix)).expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    r = client.get("/api/v1/me", headers=bearer(key))
    assert r.status_code == 401 and "expired" in r.json["detail"]


def test_garbage_and_tampered_keys_get_401(app, client):
    t = make_tenant()
    good = t.keys["member"]
    for bad in ("nonsense", good[:-2] + "xx", good.split(".")[0] + ".", "mk_000000000000.abc"):
        r = client.get("/api/v1/me", headers=bearer(bad))
        assert r.status_code == 401, bad
    assert client.get("/api/v1/me", headers={"Authorization": "Basic Zm9vOmJhcg=="}).status_code == 401
    assert client.get("/api/v1/me").status_code == 401


def test_key_scopes_cannot_exceed_creator_key(app, client):
    t = make_tenant()
    limited = make_key(t.owner, t.org, scopes=["org:admin", "catalog:read"])
    r = client.post(f"/api/v1/orgs/{t.org.id}/api-keys", json={"name": "x", "scopes": ["catalog:write"]}, headers=bearer(limited))
    assert r.status_code == 403


def login(client, user) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert r.status_code == 200
    return {"X-CSRF-Token": r.json["csrf_token"]}


def test_auditor_may_only_create_read_only_keys(app, client):
    t = make_tenant()
    csrf = login(client, t.auditor)
    r = client.post(f"/api/v1/orgs/{t.org.id}/api-keys", json={"name": "x", "scopes": ["catalog:write"]}, headers=csrf)
    assert r.status_code == 403
    r = client.post(f"/api/v1/orgs/{t.org.id}/api-keys", json={"name": "x", "scopes": ["audit:read"]}, headers=csrf)
    assert r.status_code == 201


def test_cookie_authenticated_writes_need_csrf_token(app, client):
    t = make_tenant()
    csrf = login(client, t.owner)
    r = client.patch(f"/api/v1/orgs/{t.org.id}", json={"name": "No token"})
    assert r.status_code == 400 and r.json["type"].endswith("csrf-failed")
    r = client.patch(f"/api/v1/orgs/{t.org.id}", json={"name": "Bad token"}, headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 400
    r = client.patch(f"/api/v1/orgs/{t.org.id}", json={"name": "With token"}, headers=csrf)
    assert r.status_code == 200 and r.json["name"] == "With token"


def test_member_role_rules(app, client):
    t = make_tenant()
    h_admin, h_member = bearer(t.keys["admin"]), bearer(t.keys["member"])
    # a member cannot change roles
    assert client.patch(f"/api/v1/orgs/{t.org.id}/members/{t.auditor.id}", json={"role": "admin"}, headers=h_member).status_code == 403
    # an admin can, but cannot make owners
    r = client.patch(f"/api/v1/orgs/{t.org.id}/members/{t.auditor.id}", json={"role": "member"}, headers=h_admin)
    assert r.status_code == 200 and r.json["role"] == "member"
    assert client.patch(f"/api/v1/orgs/{t.org.id}/members/{t.member.id}", json={"role": "owner"}, headers=h_admin).status_code == 403
    # the last owner cannot be demoted or removed
    h_owner = bearer(t.keys["owner"])
    r = client.patch(f"/api/v1/orgs/{t.org.id}/members/{t.owner.id}", json={"role": "member"}, headers=h_owner)
    assert r.status_code == 409
    assert client.delete(f"/api/v1/orgs/{t.org.id}/members/{t.owner.id}", headers=h_owner).status_code == 409
    # adding: unknown e-mail is a 400 naming the field; an existing member a 409
    r = client.post(f"/api/v1/orgs/{t.org.id}/members", json={"email": "ghost@example.test", "role": "member"}, headers=h_admin)
    assert r.status_code == 400 and "email" in r.json["errors"]
    r = client.post(f"/api/v1/orgs/{t.org.id}/members", json={"email": t.member.email, "role": "member"}, headers=h_admin)
    assert r.status_code == 409


def test_removed_members_keys_stop_working(app, client):
    t = make_tenant()
    assert client.get("/api/v1/me", headers=bearer(t.keys["member"])).status_code == 200
    assert client.delete(f"/api/v1/orgs/{t.org.id}/members/{t.member.id}", headers=bearer(t.keys["admin"])).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(t.keys["member"])).status_code == 401


def test_vendor_approval_by_platform_admin_only(app, client):
    t = make_tenant()
    r = client.post(f"/api/v1/orgs/{t.org.id}/vendor-application", json=VENDOR_APPLICATION, headers=bearer(t.keys["owner"]))
    assert r.status_code == 200 and r.json["vendor_status"] == "pending"
    # the org's own owner cannot approve itself
    r = client.post(f"/api/v1/admin/orgs/{t.org.id}/vendor-decision", json={"approve": True}, headers=bearer(t.keys["owner"]))
    assert r.status_code == 403
    admin = make_user(platform_admin=True)
    admin_org = make_org(admin)
    key = make_key(admin, admin_org)
    pending = client.get("/api/v1/admin/orgs?vendor_status=pending", headers=bearer(key)).json
    assert str(t.org.id) in [o["id"] for o in pending]
    r = client.post(f"/api/v1/admin/orgs/{t.org.id}/vendor-decision", json={"approve": True, "reason": "KYC done"}, headers=bearer(key))
    assert r.status_code == 200 and r.json["vendor_status"] == "approved"
    assert client.get(f"/api/v1/orgs/{t.org.id}", headers=bearer(t.keys["member"])).json["vendor_status"] == "approved"


def test_state_changes_write_audit_events(app, client):
    t = make_tenant()
    client.patch(f"/api/v1/orgs/{t.org.id}", json={"name": "Renamed"}, headers=bearer(t.keys["owner"]))
    ev = get_session().scalars(select(AuditEvent).where(AuditEvent.action == "org.update")).all()
    assert len(ev) == 1
    assert ev[0].subject_org_id == t.org.id and ev[0].actor_user_id == t.owner.id and ev[0].actor_api_key_id is not None
    assert ev[0].request_id and ev[0].ip == "127.0.0.1"
    keys = get_session().scalars(select(AuditEvent).where(AuditEvent.action == "api_key.create")).all()
    assert keys and all("secret" not in str(e.details) for e in keys)


def test_request_id_is_echoed_and_generated(client):
    r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["X-Request-ID"] == "abc-123"
    r = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["X-Request-ID"] != "bad id with spaces" and len(r.headers["X-Request-ID"]) == 32


def test_renaming_an_organisation_is_kept(client):
    """A rename is kept, and readable by the other members."""
    t = make_tenant()
    r = client.patch(f"/api/v1/orgs/{t.org.id}", json={"name": "Renamed Health Ltd"}, headers=bearer(t.keys["admin"]))
    assert r.status_code == 200 and r.json["name"] == "Renamed Health Ltd"
    assert client.get(f"/api/v1/orgs/{t.org.id}", headers=bearer(t.keys["member"])).json["name"] == "Renamed Health Ltd"


def test_a_removed_members_keys_stay_dead_when_they_are_added_again(client):
    t = make_tenant()
    assert client.get("/api/v1/me", headers=bearer(t.keys["member"])).status_code == 200
    r = client.delete(f"/api/v1/orgs/{t.org.id}/members/{t.member.id}", headers=bearer(t.keys["owner"]))
    assert r.status_code == 204
    assert client.get("/api/v1/me", headers=bearer(t.keys["member"])).status_code == 401
    again = client.post(f"/api/v1/orgs/{t.org.id}/members", json={"email": t.member.email, "role": "member"}, headers=bearer(t.keys["owner"]))
    assert again.status_code == 201
    assert client.get("/api/v1/me", headers=bearer(t.keys["member"])).status_code == 401  # the old key does not come back


def test_a_vendor_application_carries_a_profile_a_contact_and_payout_details(app, client):
    t = make_tenant()
    url = f"/api/v1/orgs/{t.org.id}/vendor-application"
    assert client.post(url, headers=bearer(t.keys["owner"])).status_code == 400  # nothing to review
    bad = dict(VENDOR_APPLICATION, payout_iban="DE89370400440532013001", country="XX", contact_email="nope", description="short")
    r = client.post(url, json=bad, headers=bearer(t.keys["owner"]))
    assert r.status_code == 400 and set(r.json["errors"]) == {"payout_iban", "country", "contact_email", "description"}
    assert "check digits" in r.json["errors"]["payout_iban"][0]
    assert client.get(f"/api/v1/orgs/{t.org.id}", headers=bearer(t.keys["owner"])).json["vendor_status"] == "none"  # nothing half-written
    assert client.post(url, json=VENDOR_APPLICATION, headers=bearer(t.keys["member"])).status_code == 403  # owners and admins apply
    assert client.post(url, json=VENDOR_APPLICATION, headers=bearer(make_tenant().keys["owner"])).status_code == 404  # another tenant
    spaced = dict(VENDOR_APPLICATION, payout_iban="de89 3704 0044 0532 0130 00", country="no")
    assert client.post(url, json=spaced, headers=bearer(t.keys["owner"])).json["vendor_status"] == "pending"
    admin = make_user(platform_admin=True)
    key = make_key(admin, make_org(admin))
    row = next(o for o in client.get("/api/v1/admin/orgs?vendor_status=pending", headers=bearer(key)).json if o["id"] == str(t.org.id))
    assert row["payout_iban"] == "DE89 **** 3000" and row["country"] == "NO" and row["contact_email"] == "contact@vendor.test"  # masked for review
    # the audit trail never holds the account number
    events = client.get(f"/api/v1/audit/events?org_id={t.org.id}&action=org.vendor.apply", headers=bearer(t.keys["owner"])).json
    assert "0532013000" not in str(events)
    # not public until approved; then only the profile
    slug = client.get(f"/api/v1/orgs/{t.org.id}", headers=bearer(t.keys["owner"])).json["slug"]
    assert client.get(f"/api/v1/vendors/{slug}").status_code == 404
    client.post(f"/api/v1/admin/orgs/{t.org.id}/vendor-decision", json={"approve": True, "reason": "KYC done"}, headers=bearer(key))
    profile = client.get(f"/api/v1/vendors/{slug}").json
    assert profile["description"] == VENDOR_APPLICATION["description"] and profile["country"] == "NO" and profile["vendor_since"]
    assert not {"payout_iban", "contact_email", "payout_account_holder", "contact_name"} & set(profile)
