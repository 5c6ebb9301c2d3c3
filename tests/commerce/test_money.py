"""Money and quantities: one type, bounded everywhere, and the quota ledger's invariant, checked
by property-based tests (hypothesis) and through the API and the pages on both backends."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.formats.money import MAX_QUANTITY, MAX_TOTAL_MINOR, MAX_UNIT_PRICE_MINOR, Money, MoneyError, check_total, exponent, format_money, parse_major
from tests.commerce.helpers import market, offer_for, order
from tests.factories import bearer
from tests.web.helpers import csrf_from, sign_in

CURRENCIES = st.sampled_from(["EUR", "USD", "JPY", "KWD", "GBP", "CNY", "SEK"])


@given(st.integers(min_value=-(10**15), max_value=10**15), CURRENCIES)
def test_formatting_round_trips_through_major_units(minor, currency):
    m = Money(minor, currency)
    text = m.format()
    digits = exponent(currency)
    number = "".join(ch for ch in text if ch.isdigit() or ch == ".")
    assert Decimal(number) == abs(m.major) and m.major == Decimal(minor).scaleb(-digits)
    assert text.startswith("-") == (minor < 0)


@given(st.integers(min_value=0, max_value=MAX_UNIT_PRICE_MINOR), CURRENCIES)
def test_parse_major_inverts_format(minor, currency):
    m = Money(minor, currency)
    typed = f"{m.major:.{exponent(currency)}f}"
    assert parse_major(typed, currency) == m


@given(st.text(max_size=30), CURRENCIES)
def test_parse_major_never_raises_anything_but_money_error(text, currency):
    try:
        m = parse_major(text, currency)
    except MoneyError:
        return
    assert 0 <= m.minor <= MAX_UNIT_PRICE_MINOR


@given(st.integers(min_value=0, max_value=MAX_UNIT_PRICE_MINOR), st.integers(min_value=1, max_value=MAX_QUANTITY), CURRENCIES)
def test_totals_are_exact_and_bounded(unit, quantity, currency):
    total = Money(unit, currency).times(quantity)
    assert total.minor == unit * quantity  # integers: no float rounding anywhere
    if total.minor > MAX_TOTAL_MINOR:
        with pytest.raises(MoneyError, match="at most"):
            check_total(total)
    else:
        check_total(total)


def test_money_refuses_mixing_currencies_and_non_integers():
    with pytest.raises(MoneyError):
        Money(1, "EUR") + Money(1, "USD")
    for bad in (1.5, True, "5", None):
        with pytest.raises(MoneyError):
            Money(bad, "EUR")  # type: ignore[arg-type]
    assert format_money(500, "EUR") == "€5.00" and format_money(500, "JPY") == "¥500" and format_money(1234, "KWD") == "1.234 KWD"


@pytest.mark.parametrize("quantity", [10**12, 10**30, MAX_QUANTITY + 1, 0, -1])
def test_api_bounds_quantities_naming_the_limit(app, client, quantity):
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"], unit_price_minor=500)
    r = order(client, buyer.keys["owner"], offer, quantity=quantity)
    assert r.status_code == 400 and ("64-bit" in r.json["errors"]["quantity"][0] or f"{MAX_QUANTITY:,}" in r.json["errors"]["quantity"][0])


def test_api_bounds_the_total_naming_it(app, client):
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"], unit_price_minor=MAX_UNIT_PRICE_MINOR)
    r = order(client, buyer.keys["owner"], offer, quantity=1000)
    assert r.status_code == 400 and "at most €1,000,000,000.00" in r.json["errors"]["quantity"][0]
    r = client.post(f"/api/v1/datasets/{offer['dataset_id']}/offers", json={"title": "t", "license": "CC-BY-4.0", "pricing_unit": "records",
                                                                            "unit_price_minor": 10**30, "currency": "EUR"}, headers=bearer(vendor.keys["owner"]))
    assert r.status_code == 400 and "unit_price_minor" in r.json["errors"]


@pytest.mark.parametrize("typed", ["1e30", "1000000000000000000000000000000", "1000000000000", "-5", "2.5"])
def test_web_checkout_refuses_huge_or_broken_quantities_without_a_500(app, client, typed):
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"], unit_price_minor=500)
    sign_in(client, buyer.owner)
    page = client.get(f"/offers/{offer['id']}/checkout").get_data(as_text=True)
    r = client.post(f"/offers/{offer['id']}/checkout", data={"csrf_token": csrf_from(page), "quantity": typed, "payment_method": "invoice",
                                                              "accept": "yes", "license_sha256": offer["license_sha256"],
                                                              "idempotency_key": "k-" + typed})
    assert r.status_code == 400, r.status_code
    assert "quantity" in r.get_data(as_text=True).lower()


OPS = st.lists(st.tuples(st.sampled_from(["credit", "debit", "withdraw", "replay"]), st.integers(min_value=1, max_value=10**6)), min_size=1, max_size=25)


def test_ledger_invariant_balance_is_the_sum_of_the_ledger_and_never_negative(app, client):
    """Any sequence of credits, debits, refund withdrawals and replayed request ids: the stored
    balance equals the ledger's sum after every step and never goes below zero, and a replayed
    debit is reported, not charged again."""
    import uuid as _uuid

    from marketplace.commerce import metering
    from marketplace.commerce.models import Grant
    from marketplace.kernel.db import get_session, unit_of_work
    from marketplace.kernel.errors import PaymentRequired
    from marketplace.kernel.principal import Principal

    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"])
    o = order(client, buyer.keys["owner"], offer, quantity=1).json
    gid = _uuid.UUID(client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vendor.keys["owner"])).json["grant_id"])
    p = Principal(request_id="property")

    def balance() -> int:
        get_session().expire_all()
        b = get_session().get(Grant, gid).balance
        assert b == metering.ledger_balance(gid) and b >= 0
        return b

    @settings(max_examples=40, deadline=None)
    @given(ops=OPS)
    def run(ops):
        run_id = _uuid.uuid4().hex[:8]
        charged: list[tuple[str, int]] = []
        for i, (op, amount) in enumerate(ops):
            before = balance()
            if op == "replay" and charged:
                rid, amt = charged[-1]
                assert metering.debit(p, gid, "records", amt, rid).duplicate
                assert balance() == before
            elif op in ("debit", "replay"):
                rid = f"{run_id}-d{i}"
                try:
                    metering.debit(p, gid, "records", amount, rid)
                    charged.append((rid, amount))
                    assert balance() == before - amount
                except PaymentRequired:
                    assert amount > before and balance() == before
            else:
                with unit_of_work():
                    grant = get_session().get(Grant, gid)
                    if op == "credit":
                        metering.credit(p, grant, amount, reason="top-up", request_id=f"{run_id}-c{i}")
                    else:
                        metering.withdraw_credit(p, grant, amount, reason="refund", request_id=f"{run_id}-w{i}")
                balance()

    run()


def test_unpaid_orders_count_towards_the_grant_limits(app, client):
    """Several unpaid orders cannot together push a grant past 100 years (or its quota past its
    ceiling) once they are all paid: the check counts the orders still awaiting payment."""
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"], pricing_unit="term", term_days=3660, unit_price_minor=1)
    placed = [order(client, buyer.keys["owner"], offer, quantity=5) for _ in range(2)]
    assert all(r.status_code == 201 for r in placed)  # 2 x 50 years
    r = order(client, buyer.keys["owner"], offer, quantity=1)
    assert r.status_code == 400 and "100 years" in r.json["errors"]["quantity"][0]
    for o in placed:
        assert client.post(f"/api/v1/orders/{o.json['id']}/mark-paid", headers=bearer(vendor.keys["owner"])).status_code == 200
