"""Commerce rows: offers, orders, grants and their quota ledger; `paid_order` / `paid_grant`,
what an order marked paid leaves behind (the order, the buyer's grant, the ledger's credit)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import factory

from catalog.models import Dataset
from licensing.models import License
from marketplace.commerce import metering
from marketplace.commerce import services as commerce_services
from marketplace.commerce.models import Grant, GrantStatus, Offer, Order, OrderStatus, PricingUnit, QuotaEntry
from marketplace.identity.models import Organization
from marketplace.kernel.db import get_session, utcnow
from tests.factories.base import RowFactory, batch, commit
from tests.factories.catalog import published_version
from tests.factories.identity import OrganizationFactory, any_member, unique
from tests.factories.licensing import standard_license


def _license(value: License | str) -> License:
    return value if isinstance(value, License) else standard_license(value)


class OfferFactory(RowFactory):
    """An offer, as create_offer makes it (the dataset's lowest public price refreshed for search).
    By default: a new published dataset (`published_version`), its latest version with updates,
    under the standard CC-BY-4.0 (`license`: a License row or a standard identifier), one cent a
    record."""

    class Meta:
        model = Offer
        exclude = ("dataset", "license")

    dataset = factory.LazyFunction(lambda: published_version().dataset)
    license = "CC-BY-4.0"
    dataset_id = factory.SelfAttribute("dataset.id")
    organization_id = factory.SelfAttribute("dataset.organization_id")
    license_id = factory.LazyAttribute(lambda o: _license(o.license).id)
    version_id = None
    title = "Research licence"
    pricing_unit = PricingUnit.records.value
    unit_price_minor = 1
    currency = "EUR"
    included_quota = 0
    tiers = factory.LazyFunction(list)
    min_quantity = 1
    term_days = None
    free_sample = False
    active = True
    private_buyer_org_id = None

    @classmethod
    def _complete(cls, offer: Offer, **_: Any) -> None:
        commerce_services.refresh_min_price(get_session().get(Dataset, offer.dataset_id))
        commit()


class OrderFactory(RowFactory):
    """An order of `offer` by `buyer` (an organisation), as create_order makes it: priced by the
    offer (volume tiers included), in its currency, the exact licence text accepted by a member of
    the buyer. Awaiting payment; `paid=True` marks it paid (without a grant: see `paid_order`)."""

    class Meta:
        model = Order
        exclude = ("offer", "buyer")

    class Params:
        paid = factory.Trait(status=OrderStatus.paid.value, paid_at=factory.LazyFunction(utcnow))

    offer = factory.SubFactory(OfferFactory)
    buyer = factory.SubFactory(OrganizationFactory)
    offer_id = factory.SelfAttribute("offer.id")
    buyer_org_id = factory.SelfAttribute("buyer.id")
    vendor_org_id = factory.SelfAttribute("offer.organization_id")
    quantity = 100
    amount_minor = factory.LazyAttribute(lambda o: commerce_services.price(o.offer, o.quantity)[1])
    platform_fee_minor = 0
    currency = factory.SelfAttribute("offer.currency")
    license_id = factory.SelfAttribute("offer.license_id")
    accepted_text_sha256 = factory.LazyAttribute(lambda o: get_session().get(License, o.offer.license_id).text_sha256)
    accepted_by = factory.LazyAttribute(lambda o: any_member(o.buyer.id))
    accepted_at = factory.LazyFunction(utcnow)
    payment_method = "invoice"
    status = OrderStatus.pending_payment.value
    idempotency_key = None
    request_fingerprint = factory.LazyAttribute(lambda o: commerce_services.order_fingerprint(
        offer_id=o.offer.id, quantity=o.quantity, currency=o.offer.currency, license_sha256=o.accepted_text_sha256, payment_method=o.payment_method, buyer=o.buyer.id))


class QuotaEntryFactory(RowFactory):
    """One entry of a grant's ledger, applied to the grant as metering applies it (balance, and
    for a credit the amount credited, move with it), so the two keep agreeing. It does not check
    the grant's status or write audit events: metering.debit is the behaviour under test."""

    class Meta:
        model = QuotaEntry
        exclude = ("grant",)

    grant = factory.SubFactory("tests.factories.commerce.GrantFactory")
    grant_id = factory.SelfAttribute("grant.id")
    kind = "debit"
    amount = 1
    reason = factory.LazyAttribute(lambda o: "delivery" if o.kind == "debit" else "order")
    request_id = factory.LazyFunction(lambda: unique("req"))
    order_id = None
    balance_after = factory.LazyAttribute(lambda o: o.grant.balance + (o.amount if o.kind == "credit" else -o.amount))

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> QuotaEntry:
        if kwargs["kind"] not in ("credit", "debit") or kwargs["amount"] <= 0 or kwargs["balance_after"] < 0:
            raise ValueError("a ledger entry is a positive credit or a debit the balance covers")
        return super()._create(model_class, *args, **kwargs)

    @classmethod
    def _complete(cls, entry: QuotaEntry, **_: Any) -> None:
        grant = get_session().get(Grant, entry.grant_id)
        grant.balance = entry.balance_after
        if entry.kind == "credit":
            grant.credited += entry.amount
        commit()


class GrantFactory(RowFactory):
    """A buyer's grant under an offer, as fulfilment leaves it: active from now, for the offer's
    version (or the latest, with updates), its term from the offer; `credit` units (in the
    ledger's unit: bytes for a GiB offer) credited on the ledger, for `order` if given. One grant
    per buyer and offer."""

    class Meta:
        model = Grant
        exclude = ("offer", "buyer")

    _extras = ("order", "credit")

    offer = factory.SubFactory(OfferFactory)
    buyer = factory.SubFactory(OrganizationFactory)
    order = None
    credit = 100
    buyer_org_id = factory.SelfAttribute("buyer.id")
    vendor_org_id = factory.SelfAttribute("offer.organization_id")
    offer_id = factory.SelfAttribute("offer.id")
    dataset_id = factory.SelfAttribute("offer.dataset_id")
    version_id = factory.SelfAttribute("offer.version_id")
    license_id = factory.SelfAttribute("offer.license_id")
    accepted_text_sha256 = factory.LazyAttribute(lambda o: o.order.accepted_text_sha256 if o.order else get_session().get(License, o.offer.license_id).text_sha256)
    accepted_by = factory.LazyAttribute(lambda o: o.order.accepted_by if o.order else any_member(o.buyer.id))
    accepted_at = factory.LazyAttribute(lambda o: o.order.accepted_at if o.order else utcnow())
    unit = factory.SelfAttribute("offer.pricing_unit")
    status = GrantStatus.active.value
    starts_at = factory.LazyFunction(utcnow)
    expires_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(days=o.offer.term_days) if o.offer.term_days else None)
    balance = 0  # the ledger's credit below sets it
    credited = 0
    warned_at_bp = 0

    @classmethod
    def _complete(cls, grant: Grant, order: Order | None = None, credit: int = 0, **_: Any) -> None:
        if credit:
            QuotaEntryFactory(grant=grant, kind="credit", amount=credit, reason="order",
                              request_id=f"order:{order.id}" if order else f"grant:{uuid.uuid4()}", order_id=order.id if order else None)


def paid_order(offer: Offer, buyer: Organization, *, quantity: int = 100, **order_fields: Any) -> Order:
    """An order paid by invoice and fulfilled, as mark_paid leaves it: the order paid, the buyer's
    new grant with the order's quota credited (the offer's included quota too; a term offer's
    quantity is its number of terms), the order pointing at the grant."""
    with batch():
        order = OrderFactory(offer=offer, buyer=buyer, quantity=quantity, paid=True, **order_fields)
        term = offer.pricing_unit == PricingUnit.term.value
        units = ((0 if term else quantity) + offer.included_quota) * metering.UNIT_SCALE[offer.pricing_unit]
        starts = utcnow()
        expires = starts + timedelta(days=offer.term_days * (quantity if term else 1)) if offer.term_days else None
        grant = GrantFactory(offer=offer, buyer=buyer, order=order, credit=units, starts_at=starts, expires_at=expires)
        order.grant_id = grant.id
        commit()
    return order


def paid_grant(offer: Offer, buyer: Organization, *, quantity: int = 100, **order_fields: Any) -> Grant:
    """The grant of `paid_order`."""
    return get_session().get(Grant, paid_order(offer, buyer, quantity=quantity, **order_fields).grant_id)
