"""Invitations by e-mailed link: the address gets a link that works once, for 7 days, for
whoever signs in with that address; owners and admins invite and revoke; another tenant sees
nothing; a replayed or raced link makes one membership."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.identity.models import Invitation, Membership
from marketplace.kernel.db import get_session
from marketplace.notifications.models import EmailMessage
from tests.concurrency import race
from tests.factories import PASSWORD, bearer, make_key, make_tenant, make_user
from tests.web.helpers import csrf_from


def _link(address: str) -> str:
    msg = get_session().scalars(select(EmailMessage).where(EmailMessage.to_address == address).order_by(EmailMessage.created_at.desc())).first()
    assert msg is not None, "no e-mail went to the invited address"
    return re.search(r"/invitations/(inv_[A-Za-z0-9_-]+)", msg.text_body).group(1)


def test_invite_accept_once_as_the_invited_address(app, client):
    t = make_tenant()
    invitee = make_user()
    r = client.post(f"/api/v1/orgs/{t.org.id}/invitations", json={"email": invitee.email.upper(), "role": "auditor"}, headers=bearer(t.keys["admin"]))
    assert r.status_code == 201 and r.json["email"] == invitee.email and r.json["role"] == "auditor" and "token" not in r.json
    token = _link(invitee.email)
    assert get_session().scalar(select(Invitation.token_hash).where(Invitation.id == uuid.UUID(r.json["id"]))) != token  # only the hash is kept
    listed = client.get(f"/api/v1/orgs/{t.org.id}/invitations", headers=bearer(t.keys["owner"])).json
    assert [i["id"] for i in listed] == [r.json["id"]]
    # someone else signed in cannot take it; the invitee can, once
    assert client.post("/api/v1/invitations/accept", json={"token": token}, headers=bearer(make_tenant().keys["owner"])).status_code == 403
    key = _personal_key(invitee)
    ok = client.post("/api/v1/invitations/accept", json={"token": token}, headers=bearer(key))
    assert ok.status_code == 200 and ok.json["role"] == "auditor" and ok.json["organization_id"] == str(t.org.id)
    assert client.post("/api/v1/invitations/accept", json={"token": token}, headers=bearer(key)).status_code == 410  # replayed
    assert client.post("/api/v1/invitations/accept", json={"token": "inv_" + "x" * 40}, headers=bearer(key)).status_code == 404
    assert client.post("/api/v1/invitations/accept", json={"token": token}).status_code == 401
    assert client.get(f"/api/v1/orgs/{t.org.id}/invitations", headers=bearer(t.keys["owner"])).json == []


def _personal_key(user):
    from tests.factories import make_org

    return make_key(user, make_org(user))


def test_who_may_invite_and_revoke(app, client):
    t, other = make_tenant(), make_tenant()
    url = f"/api/v1/orgs/{t.org.id}/invitations"
    body = {"email": "new.person@example.test", "role": "member"}
    assert client.post(url, json=body, headers=bearer(t.keys["member"])).status_code == 403
    assert client.post(url, json=body, headers=bearer(t.keys["auditor"])).status_code == 403
    assert client.post(url, json=body, headers=bearer(other.keys["owner"])).status_code == 404  # another tenant
    assert client.get(url, headers=bearer(other.keys["owner"])).status_code == 404
    assert client.post(url, json=dict(body, role="owner"), headers=bearer(t.keys["admin"])).status_code == 403  # only owners invite owners
    assert client.post(url, json={"email": t.member.email, "role": "admin"}, headers=bearer(t.keys["owner"])).status_code == 409  # already a member
    first = client.post(url, json=body, headers=bearer(t.keys["admin"])).json
    old_token = _link("new.person@example.test")
    second = client.post(url, json=dict(body, role="auditor"), headers=bearer(t.keys["admin"])).json  # replaces the first
    new_token = _link("new.person@example.test")
    assert old_token != new_token and [i["id"] for i in client.get(url, headers=bearer(t.keys["admin"])).json] == [second["id"]]
    invitee_key = _personal_key(make_user(email="new.person@example.test"))
    assert client.post("/api/v1/invitations/accept", json={"token": old_token}, headers=bearer(invitee_key)).status_code == 404  # replaced
    assert client.delete(f"{url}/{second['id']}", headers=bearer(other.keys["owner"])).status_code == 404
    assert client.delete(f"{url}/{second['id']}", headers=bearer(t.keys["member"])).status_code == 403
    assert client.delete(f"{url}/{second['id']}", headers=bearer(t.keys["admin"])).status_code == 200
    assert client.post("/api/v1/invitations/accept", json={"token": new_token}, headers=bearer(invitee_key)).status_code == 404  # revoked
    assert first["id"] != second["id"]


def test_an_expired_link_is_gone(app, client):
    t = make_tenant()
    invitee = make_user()
    inv = client.post(f"/api/v1/orgs/{t.org.id}/invitations", json={"email": invitee.email, "role": "member"}, headers=bearer(t.keys["owner"])).json
    token = _link(invitee.email)
    row = get_session().get(Invitation, uuid.UUID(inv["id"]))
    row.expires_at = row.created_at - timedelta(seconds=1)
    get_session().flush()
    r = client.post("/api/v1/invitations/accept", json={"token": token}, headers=bearer(_personal_key(invitee)))
    assert r.status_code == 410 and "expired" in r.json["detail"]


def test_the_invitation_page_signs_in_and_joins(app, client):
    t = make_tenant()
    invitee = make_user()
    client.post(f"/api/v1/orgs/{t.org.id}/invitations", json={"email": invitee.email, "role": "member"}, headers=bearer(t.keys["owner"]))
    token = _link(invitee.email)
    page = client.get(f"/invitations/{token}").get_data(as_text=True)
    assert t.org.name in page and "Sign in" in page and invitee.email in page
    login = csrf_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"csrf_token": login, "email": invitee.email, "password": PASSWORD})
    page = client.get(f"/invitations/{token}").get_data(as_text=True)
    r = client.post(f"/invitations/{token}", data={"csrf_token": csrf_from(page)})
    assert r.status_code == 302
    assert get_session().scalar(select(Membership.role).where(Membership.organization_id == t.org.id, Membership.user_id == invitee.id)).value == "member"
    assert client.get(f"/invitations/{token}").status_code == 410


@pytest.mark.postgres_only
def test_twenty_acceptances_at_once_make_one_membership(session_app):
    with session_app.app_context():
        try:
            t = make_tenant()
            invitee = make_user()
            key = _personal_key(invitee)
            c = session_app.test_client()
            assert c.post(f"/api/v1/orgs/{t.org.id}/invitations", json={"email": invitee.email, "role": "member"}, headers=bearer(t.keys["owner"])).status_code == 201
            token = _link(invitee.email)
        finally:
            session_app.extensions["db"].remove()

    res = race(session_app, 20, lambda c, i: c.post("/api/v1/invitations/accept", json={"token": token}, headers=bearer(key)))
    codes = [r.status_code for r in res]
    assert codes.count(200) == 1 and set(codes) <= {200, 409, 410}, codes
    with session_app.app_context():
        try:
            rows = get_session().scalars(select(Membership.id).where(Membership.organization_id == t.org.id, Membership.user_id == invitee.id)).all()
            assert len(rows) == 1
        finally:
            session_app.extensions["db"].remove()


def test_the_people_page_invites_changes_roles_and_revokes(app, client):
    t = make_tenant()
    login = csrf_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"csrf_token": login, "email": t.admin.email, "password": PASSWORD})
    page = client.get("/org/members").get_data(as_text=True)
    assert t.member.email in page and "Send the invitation" in page
    token = csrf_from(page)
    r = client.post("/org/members/invite", data={"csrf_token": token, "email": "colleague@example.test", "role": "auditor"}, follow_redirects=True)
    assert "Invitation sent to colleague@example.test" in r.get_data(as_text=True) and _link("colleague@example.test")
    r = client.post(f"/org/members/{t.member.id}/role", data={"csrf_token": token, "role": "auditor"}, follow_redirects=True)
    assert "Role changed" in r.get_data(as_text=True)
    assert get_session().scalar(select(Membership.role).where(Membership.organization_id == t.org.id, Membership.user_id == t.member.id)).value == "auditor"
    r = client.post(f"/org/members/{t.owner.id}/role", data={"csrf_token": token, "role": "member"}, follow_redirects=True)
    assert "owners" in r.get_data(as_text=True).lower()  # an admin cannot demote an owner: the service's reason is shown
    inv = get_session().scalar(select(Invitation.id).where(Invitation.email == "colleague@example.test"))
    r = client.post(f"/org/invitations/{inv}/revoke", data={"csrf_token": token}, follow_redirects=True)
    assert "Invitation revoked" in r.get_data(as_text=True)
    # a member sees the people, not the controls
    client.post("/logout", data={"csrf_token": token})
    login = csrf_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"csrf_token": login, "email": t.auditor.email, "password": PASSWORD})
    seen = client.get("/org/members").get_data(as_text=True)
    assert t.admin.email in seen and "Send the invitation" not in seen and "Remove" not in seen
