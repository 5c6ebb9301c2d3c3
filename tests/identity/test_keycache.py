"""The per-process cache of resolved API keys: a cached key costs one small read, and every
change that narrows access ends it at once, on this worker and on every other one.

Each test first makes the key cached (one request), then changes something and expects the
very next request to see it, well inside the cache's lifetime."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select, text, update

from marketplace.app import create_app
from marketplace.identity.keycache import key_cache
from marketplace.identity.models import ApiKey, AuthEpoch, Membership, User
from marketplace.kernel.db import get_session, unit_of_work
from marketplace.kernel.principal import OrgRole
from tests.factories import bearer, make_key, make_tenant


def _epoch() -> int:
    return get_session().scalar(select(AuthEpoch.value)) or 0


@pytest.fixture
def counted(app):
    """The statements the app runs, as SQL text."""
    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        seen.append(statement)

    engine = app.extensions["db"].engine
    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


def test_a_cached_key_costs_one_read_of_the_epoch(app, client, counted):
    t = make_tenant()
    assert client.get("/api/v1/orgs", headers=bearer(t.keys["member"])).status_code == 200
    counted.clear()
    assert client.get("/api/v1/orgs", headers=bearer(t.keys["member"])).status_code == 200
    assert len([s for s in counted if "FROM auth_epoch" in s]) == 1, counted
    assert not [s for s in counted if "FROM api_keys" in s or "FROM memberships" in s], counted


def test_a_wrong_secret_never_hits_the_cache(app, client):
    t = make_tenant()
    key = t.keys["member"]
    assert client.get("/api/v1/me", headers=bearer(key)).status_code == 200
    prefix, _, secret = key.partition(".")
    wrong = f"{prefix}.{'A' * len(secret)}"
    r = client.get("/api/v1/me", headers=bearer(wrong))
    assert r.status_code == 401 and "unknown" in r.json["detail"]


def test_revocation_ends_a_cached_key_at_once(app, client):
    t = make_tenant()
    key = make_key(t.member, t.org)
    me = client.get("/api/v1/me", headers=bearer(key)).json
    r = client.delete(f"/api/v1/orgs/{t.org.id}/api-keys/{me['api_key']['id']}", headers=bearer(t.keys["owner"]))
    assert r.status_code == 200
    r = client.get("/api/v1/me", headers=bearer(key))
    assert r.status_code == 401 and "revoked" in r.json["detail"]


def test_a_role_change_applies_at_once(app, client):
    t = make_tenant()
    keys = f"/api/v1/orgs/{t.org.id}/api-keys"
    assert client.get(keys, headers=bearer(t.keys["admin"])).status_code == 200
    # the admin is cached as an admin; made a member, it can no longer list the keys
    r = client.patch(f"/api/v1/orgs/{t.org.id}/members/{t.admin.id}", json={"role": "member"}, headers=bearer(t.keys["owner"]))
    assert r.status_code == 200, r.json
    assert client.get(keys, headers=bearer(t.keys["admin"])).status_code == 403
    assert client.get(keys, headers=bearer(t.keys["owner"])).status_code == 200


def test_removal_from_the_organisation_ends_the_key_at_once(app, client):
    t = make_tenant()
    assert client.get("/api/v1/me", headers=bearer(t.keys["member"])).status_code == 200
    assert client.delete(f"/api/v1/orgs/{t.org.id}/members/{t.member.id}", headers=bearer(t.keys["owner"])).status_code in (200, 204)
    assert client.get("/api/v1/me", headers=bearer(t.keys["member"])).status_code == 401


def test_a_user_disabled_in_the_database_is_refused_at_once(app, client):
    """Not only services: any write to a user's access raises the epoch (the session hook)."""
    t = make_tenant()
    assert client.get("/api/v1/me", headers=bearer(t.keys["member"])).status_code == 200
    with unit_of_work():
        get_session().get(User, t.member.id).is_active = False
    r = client.get("/api/v1/me", headers=bearer(t.keys["member"]))
    assert r.status_code == 401 and "disabled" in r.json["detail"]


def test_bulk_statements_on_memberships_raise_the_epoch(app, client):
    t = make_tenant()
    keys = f"/api/v1/orgs/{t.org.id}/api-keys"
    assert client.get(keys, headers=bearer(t.keys["admin"])).status_code == 200
    before = _epoch()
    with unit_of_work():
        get_session().execute(update(Membership).where(Membership.user_id == t.admin.id).values(role=OrgRole.member))
    assert _epoch() == before + 1
    assert client.get(keys, headers=bearer(t.keys["admin"])).status_code == 403


@pytest.mark.parametrize("how", ["core_table", "session_connection", "raw_sql", "membership_core_delete"])
def test_writes_that_bypass_the_orm_end_cached_keys_too(app, client, how):
    """The epoch is raised by triggers on the tables, so Core statements, raw SQL and cascades
    count as much as a service's ORM writes."""
    t = make_tenant()
    key = make_key(t.member, t.org)
    assert client.get("/api/v1/me", headers=bearer(key)).status_code == 200
    prefix, now = key.partition(".")[0], datetime.now(timezone.utc)
    with unit_of_work():
        s = get_session()
        if how == "core_table":
            s.execute(ApiKey.__table__.update().where(ApiKey.__table__.c.prefix == prefix).values(revoked_at=now))
        elif how == "session_connection":
            s.connection().execute(update(ApiKey).where(ApiKey.prefix == prefix).values(revoked_at=now))
        elif how == "raw_sql":
            s.execute(text("UPDATE api_keys SET revoked_at = :now WHERE prefix = :p"), {"now": now, "p": prefix})
        else:
            s.execute(Membership.__table__.delete().where(Membership.__table__.c.user_id == t.member.id))
    assert client.get("/api/v1/me", headers=bearer(key)).status_code == 401


def test_last_use_bookkeeping_does_not_end_cached_keys(app, client):
    t = make_tenant()
    key = t.keys["member"]
    with unit_of_work():
        get_session().execute(update(ApiKey).values(last_used_at=None))  # a bulk statement: counts
    before = _epoch()
    with unit_of_work():
        k = get_session().scalar(select(ApiKey).where(ApiKey.prefix == key.partition(".")[0]))
        k.last_used_at = datetime.now(timezone.utc)
    assert _epoch() == before
    assert client.get("/api/v1/me", headers=bearer(key)).status_code == 200


def test_a_key_that_expires_while_cached_is_refused(app, client):
    t = make_tenant()
    key = make_key(t.member, t.org, expires_at=datetime.now(timezone.utc) + timedelta(seconds=1))
    assert client.get("/api/v1/me", headers=bearer(key)).status_code == 200
    assert key_cache().get(hashlib.sha256(key.encode()).hexdigest()) is not None
    time.sleep(1.2)
    r = client.get("/api/v1/me", headers=bearer(key))
    assert r.status_code == 401 and "expired" in r.json["detail"]


def test_the_cache_is_bounded_and_can_be_switched_off(app, make_settings, backend):
    cache = key_cache()
    assert cache.ttl == 5 and cache.max_entries == 10_000
    off = create_app(dataclasses.replace(make_settings(backend), auth_cache_seconds=0))
    with off.app_context():
        c = key_cache()
        c.put("d", object(), epoch=0, key_expires_at=None)  # type: ignore[arg-type]
        assert c.get("d") is None


@pytest.mark.postgres_only
def test_a_revocation_on_one_worker_ends_the_key_on_another(session_app, make_settings, backend):
    """Two applications on one database stand for two gunicorn workers: worker A has the key
    cached; worker B revokes it; A's very next request is refused."""
    worker_b = create_app(make_settings(backend))
    with session_app.app_context():
        t = make_tenant()
        key = make_key(t.member, t.org)
        session_app.extensions["db"].remove()
    a, b = session_app.test_client(), worker_b.test_client()
    me = a.get("/api/v1/me", headers=bearer(key))
    assert me.status_code == 200
    with session_app.app_context():
        assert key_cache().get(hashlib.sha256(key.encode()).hexdigest()) is not None
        session_app.extensions["db"].remove()
    r = b.delete(f"/api/v1/orgs/{t.org.id}/api-keys/{me.json['api_key']['id']}", headers=bearer(t.keys["owner"]))
    assert r.status_code == 200
    r = a.get("/api/v1/me", headers=bearer(key))
    assert r.status_code == 401 and "revoked" in r.json["detail"]
    worker_b.extensions["db"].engine.dispose()
