"""Metering rules on both backends: debit, refusal with the balance, idempotency, thresholds,
expiry; every refusal audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.commerce import metering
from marketplace.commerce.models import Grant
from marketplace.kernel.audit import AuditEvent
from marketplace.kernel.db import get_session, unit_of_work, utcnow
from marketplace.kernel.errors import Gone, PaymentRequired, ValidationFailed
from marketplace.kernel.principal import Principal
from tests.factories import OfferFactory, OrganizationFactory, paid_grant, published_version

P = Principal(request_id="metering-test")


@pytest.fixture
def grant(app):
    """A paid grant of 100 records (rows: the metering rules are the subject here, not buying)."""
    vendor, buyer = OrganizationFactory(vendor=True), OrganizationFactory()
    offer = OfferFactory(dataset=published_version(organization=vendor).dataset, title="Research licence, 1M records", unit_price_minor=2)
    return paid_grant(offer, buyer, quantity=100).id


def events(action):
    # This test's own events: tests on committed data (the concurrency ones) leave theirs behind.
    return get_session().scalars(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.request_id == P.request_id)).all()


def test_debit_and_refusal_with_balance(grant):
    r = metering.debit(P, grant, "records", 70, "a")
    assert (r.balance, r.duplicate) == (30, False)
    with pytest.raises(PaymentRequired) as exc:
        metering.debit(P, grant, "records", 31, "b")
    assert exc.value.extra["balance"] == 30 and exc.value.status == 402
    assert get_session().get(Grant, grant).balance == 30 == metering.ledger_balance(grant)
    denied = [e for e in events("quota.debit") if e.outcome == "denied"]
    assert denied and denied[-1].quantities["balance"] == 30
    # the refused request id can be used again once there is quota
    assert metering.debit(P, grant, "records", 30, "b").balance == 0


def test_same_request_id_is_charged_once(grant):
    first = metering.debit(P, grant, "records", 10, "req-1")
    again = metering.debit(P, grant, "records", 10, "req-1")
    assert again.duplicate and again.entry_id == first.entry_id and get_session().get(Grant, grant).balance == 90


def test_thresholds_are_announced_once_each(grant):
    metering.debit(P, grant, "records", 79, "t1")
    assert events("quota.threshold") == []
    metering.debit(P, grant, "records", 1, "t2")
    metering.debit(P, grant, "records", 1, "t3")
    metering.debit(P, grant, "records", 14, "t4")
    assert [e.details["threshold_bp"] for e in events("quota.threshold")] == [8000, 9500]


@pytest.mark.parametrize("unit,amount,rid,field", [("gib", 1, "x", "unit"), ("records", 0, "x", "amount"), ("records", 1, "", "request_id")])
def test_bad_debits(grant, unit, amount, rid, field):
    with pytest.raises(ValidationFailed) as exc:
        metering.debit(P, grant, unit, amount, rid)
    assert field in exc.value.errors


def test_expired_or_suspended_grants_refuse(grant):
    with unit_of_work():
        get_session().get(Grant, grant).expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(Gone):
        metering.debit(P, grant, "records", 1, "late")
    with unit_of_work():
        g = get_session().get(Grant, grant)
        g.expires_at, g.status = None, "suspended"
    with pytest.raises(Gone):
        metering.debit(P, grant, "records", 1, "disputed")
    assert get_session().get(Grant, grant).balance == 100
