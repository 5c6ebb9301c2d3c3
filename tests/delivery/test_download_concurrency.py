"""Download authorisation under real concurrency on PostgreSQL (24 callers at once, each with
its own connection, on committed data), and the hot path's cost in statements.

The debit is one statement (balance, ledger and events together) and the resume window is
decided up front; these tests hold it to exactly one charge per file and window, no overspend,
one event per authorisation, and the statement budget the README quotes."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event, func, select

from marketplace.commerce import metering
from marketplace.commerce.models import Grant, QuotaEntry
from marketplace.delivery import services
from marketplace.kernel.audit import AuditEvent
from marketplace.kernel.db import get_session
from tests.catalog.helpers import published_dataset
from tests.commerce.helpers import market, order
from tests.concurrency import race
from tests.factories import bearer, make_key

N = 24


def _committed_grant(app, *, files: int, quantity: int):
    with app.app_context():
        client = app.test_client()
        vendor, buyer = market()
        ds, _ = published_dataset(client, vendor.keys["owner"], {f"shard-{i:02d}.jsonl": b'{"i": %d}\n' % i for i in range(files)}, visibility="unlisted")
        body = {"title": "t", "license": "CC-BY-4.0", "pricing_unit": "downloads", "unit_price_minor": 1, "currency": "EUR"}
        offer = client.post(f"/api/v1/datasets/{ds['id']}/offers", json=body, headers=bearer(vendor.keys["owner"])).json
        o = order(client, buyer.keys["owner"], offer, quantity=quantity).json
        gid = client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vendor.keys["owner"])).json["grant_id"]
        app.extensions["db"].remove()
        return gid, buyer


def _count(*where) -> int:
    return get_session().scalar(select(func.count()).select_from(AuditEvent).where(*where)) or 0


@pytest.mark.postgres_only
def test_the_same_file_at_once_is_charged_once(session_app):
    """A client retrying while its first call is in flight: one debit wins, the others lose the
    race on the ledger's unique key, decide again, and see the first charge."""
    gid, buyer = _committed_grant(session_app, files=1, quantity=50)
    started = time.time()
    res = race(session_app, N, lambda c, i: c.post(f"/api/v1/grants/{gid}/downloads", json={"paths": ["shard-00.jsonl"]}, headers=bearer(buyer.keys["member"])))
    assert [r.status_code for r in res] == [200] * N, [r.json for r in res if r.status_code != 200]
    assert sum(r.json["charged"] for r in res) == 1 and sum(r.json["files"][0]["charged"] for r in res) == 1
    with session_app.app_context():
        s = get_session()
        assert s.get(Grant, gid).balance == 49 == metering.ledger_balance(gid)
        assert s.scalar(select(func.count()).select_from(QuotaEntry).where(QuotaEntry.grant_id == gid, QuotaEntry.kind == "debit")) == 1
        assert _count(AuditEvent.action == "quota.debit", AuditEvent.subject_id == str(gid)) == 1
        mine = [AuditEvent.action == "delivery.authorize", AuditEvent.outcome == "success", AuditEvent.actor_org_id == buyer.org.id]
        assert _count(*mine) == N  # every authorisation is on the record, once
        events = s.scalars(select(AuditEvent).where(*mine)).all()
        assert sorted(e.quantities["downloads"] for e in events) == [0] * (N - 1) + [1]
        assert all(e.occurred_at.timestamp() >= started - 1 for e in events)
        session_app.extensions["db"].remove()


@pytest.mark.postgres_only
def test_distinct_files_at_once_never_overspend(session_app):
    """24 different files against 10 units left: exactly 10 authorisations, 14 refusals (402
    with the balance), a balance of 0 that the ledger agrees with."""
    gid, buyer = _committed_grant(session_app, files=N, quantity=10)
    res = race(session_app, N, lambda c, i: c.post(f"/api/v1/grants/{gid}/downloads", json={"paths": [f"shard-{i:02d}.jsonl"]},
                                                   headers=bearer(buyer.keys["member"])))
    codes = sorted(r.status_code for r in res)
    assert codes.count(200) == 10 and codes.count(402) == N - 10, codes
    assert all("balance" in r.json for r in res if r.status_code == 402)
    with session_app.app_context():
        s = get_session()
        assert s.get(Grant, gid).balance == 0 == metering.ledger_balance(gid)
        debits = s.scalars(select(QuotaEntry).where(QuotaEntry.grant_id == gid, QuotaEntry.kind == "debit")).all()
        assert sorted(d.balance_after for d in debits) == list(range(10))
        assert _count(AuditEvent.action == "delivery.authorize", AuditEvent.outcome == "success", AuditEvent.actor_org_id == buyer.org.id) == 10
        assert _count(AuditEvent.action == "quota.debit", AuditEvent.subject_id == str(gid), AuditEvent.outcome == "success") == 10
        session_app.extensions["db"].remove()


@pytest.mark.postgres_only
def test_the_hot_path_is_two_statements_and_one_commit(session_app):
    """With the key resolved once: the entitlement decision with the files, their resume state
    and the auth epoch that confirms the cached key; then the debit with both events; one
    transaction. The README quotes these counts; this keeps them true."""
    gid, buyer = _committed_grant(session_app, files=3, quantity=50)
    engine = session_app.extensions["db"].engine
    statements: list[str] = []
    commits: list[int] = []

    def note(conn, cursor, statement, *args):
        statements.append(statement)

    def committed(conn):
        commits.append(1)

    event.listen(engine, "before_cursor_execute", note)
    event.listen(engine, "commit", committed)
    try:
        client = session_app.test_client()
        key = bearer(buyer.keys["member"])
        assert client.get("/api/v1/me", headers=key).status_code == 200  # the key is now resolved
        statements.clear()
        commits.clear()
        r = client.post(f"/api/v1/grants/{gid}/downloads", json={"paths": ["shard-01.jsonl"]}, headers=key)
        assert r.status_code == 200 and r.json["charged"] == 1
        assert len(statements) == 2 and len(commits) == 1, statements
        assert "auth_epoch" in statements[0] and "FROM grants" in statements[0] and "version_files" in statements[0]
        assert statements[1].lstrip().startswith("WITH debited") and "audit_events" in statements[1]
        # resumed within the window: no debit, the event alone
        statements.clear()
        r = client.post(f"/api/v1/grants/{gid}/downloads", json={"paths": ["shard-01.jsonl"]}, headers=key)
        assert r.status_code == 200 and r.json["charged"] == 0
        assert len(statements) == 2 and "INSERT INTO audit_events" in statements[1], statements
    finally:
        event.remove(engine, "before_cursor_execute", note)
        event.remove(engine, "commit", committed)
        session_app.extensions["db"].remove()


def _another_tenant(app):
    """A buyer organisation of its own, with a fresh key of its member's."""
    with app.app_context():
        other = market()[1]
        key = make_key(other.member, other.org)
        app.extensions["db"].remove()
        return other, key


def _balance(app, gid) -> int:
    with app.app_context():
        try:
            return get_session().get(Grant, gid).balance
        finally:
            app.extensions["db"].remove()


@pytest.mark.postgres_only
def test_a_key_revoked_after_it_was_cached_takes_nothing(session_app):
    """The decision's statement confirms the cached key's epoch: revoked in between, the key
    gets its 401 (from the full check that follows), and nothing is charged or delivered."""
    gid, buyer = _committed_grant(session_app, files=2, quantity=50)
    client = session_app.test_client()
    with session_app.app_context():
        key = make_key(buyer.member, buyer.org)
        session_app.extensions["db"].remove()
    me = client.get("/api/v1/me", headers=bearer(key)).json  # cached
    r = client.delete(f"/api/v1/orgs/{buyer.org.id}/api-keys/{me['api_key']['id']}", headers=bearer(buyer.keys["owner"]))
    assert r.status_code == 200
    r = client.post(f"/api/v1/grants/{gid}/downloads", json={"paths": ["shard-00.jsonl"]}, headers=bearer(key))
    assert r.status_code == 401 and "revoked" in r.json["detail"] and "files" not in r.json
    # the record stream confirms the epoch the same way (a live key would get 409 here: the grant is metered in downloads)
    r = client.get(f"/api/v1/grants/{gid}/records", query_string={"path": "shard-00.jsonl"}, headers=bearer(key))
    assert r.status_code == 401 and "revoked" in r.json["detail"]
    assert _balance(session_app, gid) == 50


@pytest.mark.postgres_only
def test_a_member_made_auditor_after_the_key_was_cached_is_refused(session_app):
    gid, buyer = _committed_grant(session_app, files=2, quantity=50)
    client = session_app.test_client()
    key = bearer(buyer.keys["member"])
    assert client.get("/api/v1/me", headers=key).status_code == 200
    r = client.patch(f"/api/v1/orgs/{buyer.org.id}/members/{buyer.member.id}", json={"role": "auditor"}, headers=bearer(buyer.keys["owner"]))
    assert r.status_code == 200, r.json
    r = client.post(f"/api/v1/grants/{gid}/downloads", json={"paths": ["shard-00.jsonl"]}, headers=key)
    assert r.status_code == 403 and _balance(session_app, gid) == 50


@pytest.mark.postgres_only
def test_another_tenants_change_costs_a_full_check_not_an_error(session_app):
    """The epoch is global: a change anywhere makes the cached key unconfirmed, the decision
    is discarded before anything is written, and the request runs again with the key checked
    in full. One charge, one event."""
    gid, buyer = _committed_grant(session_app, files=2, quantity=50)
    other, stranger = _another_tenant(session_app)
    client = session_app.test_client()
    key = bearer(buyer.keys["member"])
    assert client.get("/api/v1/me", headers=key).status_code == 200
    me = client.get("/api/v1/me", headers=bearer(stranger)).json
    assert client.delete(f"/api/v1/orgs/{other.org.id}/api-keys/{me['api_key']['id']}", headers=bearer(other.keys["owner"])).status_code == 200
    engine = session_app.extensions["db"].engine
    statements: list[str] = []

    def note(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        r = client.post(f"/api/v1/grants/{gid}/downloads", json={"paths": ["shard-00.jsonl"]}, headers=key)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert r.status_code == 200 and r.json["charged"] == 1
    assert any("FROM api_keys" in st for st in statements), statements  # the full check ran
    assert _balance(session_app, gid) == 49
    with session_app.app_context():
        assert _count(AuditEvent.action == "delivery.authorize", AuditEvent.actor_org_id == buyer.org.id) == 1
        session_app.extensions["db"].remove()


@pytest.mark.postgres_only
def test_downloads_racing_an_epoch_change_are_charged_exactly_once(session_app):
    """24 callers on a cached key, each a different file, while another tenant's keys are
    revoked one after another: every caller gets its file, each file is charged once."""
    gid, buyer = _committed_grant(session_app, files=N, quantity=100)
    client = session_app.test_client()
    key = bearer(buyer.keys["member"])
    assert client.get("/api/v1/me", headers=key).status_code == 200
    victims = []
    for _ in range(6):
        other, k = _another_tenant(session_app)
        victims.append((other, client.get("/api/v1/me", headers=bearer(k)).json["api_key"]["id"]))

    def call(c, i):
        if i % 4 == 0:
            other, victim = victims[i // 4]
            c.delete(f"/api/v1/orgs/{other.org.id}/api-keys/{victim}", headers=bearer(other.keys["owner"]))
        return c.post(f"/api/v1/grants/{gid}/downloads", json={"paths": [f"shard-{i:02d}.jsonl"]}, headers=key)

    res = race(session_app, N, call)
    assert [r.status_code for r in res] == [200] * N, [r.json for r in res if r.status_code != 200]
    assert sum(r.json["charged"] for r in res) == N
    assert _balance(session_app, gid) == 100 - N
    with session_app.app_context():
        assert metering.ledger_balance(gid) == 100 - N
        assert _count(AuditEvent.action == "quota.debit", AuditEvent.subject_id == str(gid)) == N
        session_app.extensions["db"].remove()


@pytest.mark.postgres_only
def test_a_coordinator_that_loses_every_race_still_gets_its_answer(session_app, monkeypatch):
    """A coordinator asks for two shards while a worker takes each of them just before the
    coordinator's debit: it loses the ledger race twice, decides again each time, and answers
    200 with nothing charged to it (the workers were charged)."""
    gid, buyer = _committed_grant(session_app, files=2, quantity=50)
    real, main, taken = metering.debit, threading.get_ident(), set()

    def worker_takes(path: str) -> None:
        def run():
            with session_app.app_context():
                r = session_app.test_client().post(f"/api/v1/grants/{gid}/downloads", json={"paths": [path]}, headers=bearer(buyer.keys["member"]))
                assert r.status_code == 200 and r.json["charged"] == 1
                session_app.extensions["db"].remove()
        t = threading.Thread(target=run)
        t.start()
        t.join()

    def debit(principal, grant_id, unit, amount, request_id, **kw):
        path = kw["details"]["file"]
        if threading.get_ident() == main and path not in taken:
            taken.add(path)
            worker_takes(path)
        return real(principal, grant_id, unit, amount, request_id, **kw)

    monkeypatch.setattr(services.metering, "debit", debit)
    with session_app.app_context():
        r = session_app.test_client().post(f"/api/v1/grants/{gid}/downloads", json={"paths": ["shard-00.jsonl", "shard-01.jsonl"]},
                                           headers=bearer(buyer.keys["member"]))
        assert r.status_code == 200 and r.json["charged"] == 0, r.json
        assert get_session().get(Grant, gid).balance == 48 == metering.ledger_balance(gid)
        session_app.extensions["db"].remove()
