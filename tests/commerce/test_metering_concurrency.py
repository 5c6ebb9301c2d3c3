"""Quota metering under real concurrency on PostgreSQL: committed data, many threads, each with
its own connection. Exactly the quota is spent, never more, and duplicates are charged once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from marketplace.commerce import metering
from marketplace.commerce.models import Grant, QuotaEntry
from marketplace.kernel.errors import PaymentRequired
from marketplace.kernel.principal import Principal
from tests.factories import OfferFactory, OrganizationFactory, paid_grant, published_version


@pytest.fixture
def committed_grant(session_app):
    """A real grant of 100 records, committed (not inside a rolled-back test transaction): the
    row factories commit in the app's own session here."""
    with session_app.app_context():
        vendor, buyer = OrganizationFactory(vendor=True), OrganizationFactory()
        pub = published_version({"a.jsonl": b'{"a": 1}\n'}, organization=vendor, visibility="unlisted")
        grant_id = paid_grant(OfferFactory(dataset=pub.dataset, title="t", pricing_unit="records", unit_price_minor=1, currency="EUR"), buyer, quantity=100).id
        session_app.extensions["db"].remove()
        return grant_id


@pytest.mark.postgres_only
def test_200_concurrent_debits_against_100_units(backend, session_app, committed_grant):
    principal = Principal(request_id="concurrency-test")
    barrier = threading.Barrier(16)
    ids = [f"req-{i}" for i in range(200)] + [f"req-{i}" for i in range(0, 200, 10)]  # 20 duplicates

    def one(request_id: str) -> tuple[str, bool, bool]:
        with session_app.app_context():
            try:
                try:
                    barrier.wait(timeout=5)
                except threading.BrokenBarrierError:
                    pass
                res = metering.debit(principal, committed_grant, "records", 1, request_id)
                return request_id, True, res.duplicate
            except PaymentRequired:
                return request_id, False, False
            finally:
                session_app.extensions["db"].remove()

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(one, ids))
    charged = {rid for rid, ok, dup in results if ok and not dup}
    assert len(charged) == 100
    with session_app.app_context():
        from marketplace.kernel.db import get_session

        s = get_session()
        grant = s.get(Grant, committed_grant)
        debits = s.scalars(select(QuotaEntry).where(QuotaEntry.grant_id == committed_grant, QuotaEntry.kind == "debit")).all()
        assert grant.balance == 0 == metering.ledger_balance(committed_grant)
        assert len(debits) == 100 and {d.request_id for d in debits} == charged
        assert min(d.balance_after for d in debits) == 0 and sorted(d.balance_after for d in debits) == list(range(100))
        assert s.scalar(select(func.count()).select_from(QuotaEntry).where(QuotaEntry.grant_id == committed_grant, QuotaEntry.request_id.like("req-%"))) == 100
        # a duplicate of a charged request reports the original, whatever the balance now
        again = metering.debit(principal, committed_grant, "records", 1, next(iter(charged)))
        assert again.duplicate
        session_app.extensions["db"].remove()
