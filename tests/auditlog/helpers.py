"""Helpers for audit tests: a purchase that writes events, a sealed log, a superuser who lifts the triggers."""

from __future__ import annotations

from sqlalchemy import text

from marketplace.auditlog import services as audit_svc
from marketplace.kernel import audit
from marketplace.kernel.db import get_session, unit_of_work
from marketplace.kernel.principal import Principal
from tests.commerce.helpers import market, offer_for, order
from tests.factories import TestAction, bearer, make_user


def purchase(client):
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"])
    o = order(client, buyer.keys["owner"], offer, quantity=50).json
    gid = client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vendor.keys["owner"])).json["grant_id"]
    client.post(f"/api/v1/grants/{gid}/downloads", json={}, headers=bearer(buyer.keys["member"]))
    return vendor, buyer, gid


COMPLIANCE_ACTIONS = 12


def principal_compliance():
    from tests.factories import principal

    return principal(make_user(platform_compliance=True))


def write_events(n: int) -> list[int]:
    ids = []
    with unit_of_work():
        for i in range(n):
            ev = audit.record(Principal(request_id=f"r{i}", ip="10.0.0.1"), TestAction.SEALED, subject_type="thing", subject_id=str(i), quantities={"n": i})
            get_session().flush()
            ids.append(ev.id)
    return ids


def sealed_log(n: int = COMPLIANCE_ACTIONS) -> list[int]:
    ids = write_events(n)
    audit_svc.seal(grace_seconds=0, batch_size=5)
    return ids


def unlock(backend: str) -> None:
    """Test-only: lift the append-only triggers inside this (rolled-back) transaction, to play
    an attacker with database access."""
    s = get_session()
    if backend == "postgresql":
        s.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
    else:
        s.execute(text("DROP TRIGGER audit_events_no_update"))
        s.execute(text("DROP TRIGGER audit_events_no_delete"))
