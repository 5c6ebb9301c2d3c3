"""Commerce services: offers, orders, payment (Stripe or invoice), fulfilment into licence grants,
refunds, disputes and expiry.

Money and licences meet here, so the rules are strict: the buyer accepts one exact licence text
(by its SHA-256); an offer the lineage forbids cannot exist; every payment event is applied once
and in order; a grant is created or extended only by a paid order.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from datetime import timedelta
from typing import Any

import marshmallow as ma
from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError

from catalog.models import Dataset, DatasetVersion, VersionStatus
from catalog.policy import require_dataset_visible, require_dataset_writer
from catalog.services.datasets import titles_of
from catalog.services.search import bump_generation
from licensing.models import License
from licensing.services import OfferVerdict, evaluate_offer, find_license, offer_verdict, offer_verdicts
from marketplace.commerce import metering
from marketplace.commerce.actions import CommerceAction
from marketplace.commerce.models import Grant, GrantStatus, Offer, Order, OrderStatus, PricingUnit, QuotaEntry, StripeEvent
from marketplace.commerce.payments import WebhookEvent, payment_gateway
from marketplace.commerce.policy import POLICY
from marketplace.commerce.policy import CommercePermission as Perm
from marketplace.commerce.schemas import OfferCreateSchema
from marketplace.formats.money import MAX_QUANTITY, Money, MoneyError, check_total, format_money, is_currency
from marketplace.identity.models import Organization
from marketplace.kernel import audit
from marketplace.kernel.config import current_settings as _settings
from marketplace.kernel.db import end_read, get_session, insert_ignore_returning, transactional, unit_of_work, utcnow
from marketplace.kernel.errors import Conflict, NotFound, ValidationFailed
from marketplace.kernel.notify import Topic, publish
from marketplace.kernel.principal import Principal

SYSTEM = Principal(request_id="payments", ip=None)
CATALOGUE_EVENTS = Principal(request_id="catalogue-events", ip=None)  # acts on the catalogue's events (a version published)
PUBLIC_STATUSES = (VersionStatus.published.value, VersionStatus.deprecated.value)




_gateway = payment_gateway


# --------------------------------------------------------------------------- offers


def _offer_version(ds: Dataset, version_id: uuid.UUID | None) -> DatasetVersion:
    session = get_session()
    if version_id is None:
        if ds.latest_version_id is None:
            raise Conflict("The dataset has no published version to sell yet.")
        return session.get_one(DatasetVersion, ds.latest_version_id)
    v = session.get(DatasetVersion, version_id)
    if v is None or v.dataset_id != ds.id or v.status not in PUBLIC_STATUSES:
        raise ValidationFailed("The offer must be for a published version of this dataset.", errors={"version_id": ["Not a published version of this dataset."]})
    return v


def _check_offer_allowed(version: DatasetVersion, lic: License, blocking: list[dict[str, Any]] | None = None) -> None:
    blocking = evaluate_offer(version.id, lic.identifier) if blocking is None else blocking
    if blocking:
        raise Conflict(f"The lineage of this version does not allow offering it under {lic.identifier}.",
                       errors={"license": [f["message"] for f in blocking]}, findings=blocking)


def refresh_min_price(ds: Dataset) -> None:
    """The lowest active public offer, for search and the catalogue card."""
    session = get_session()
    row = session.execute(select(Offer.unit_price_minor, Offer.currency, Offer.pricing_unit).where(Offer.dataset_id == ds.id, Offer.active.is_(True),
                                                                                                Offer.private_buyer_org_id.is_(None))
                          .order_by(Offer.unit_price_minor).limit(1)).first()
    ds.min_price_minor, ds.price_currency, ds.price_unit = (row[0], row[1], str(row[2])) if row else (None, None, None)
    bump_generation()


def _validate_tiers(tiers: list[dict[str, int]]) -> list[dict[str, int]]:
    froms = [t["from"] for t in tiers]
    if froms != sorted(set(froms)):
        raise ValidationFailed("Volume tiers must start at increasing quantities.", errors={"tiers": ["Strictly increasing 'from'."]})
    return tiers


@transactional
def create_offer(principal: Principal, dataset_id: uuid.UUID, *, title: str, license: str, version_id: uuid.UUID | None, pricing_unit: str,
                 unit_price_minor: int, currency: str, included_quota: int = 0, tiers: list[dict[str, int]] | None = None, min_quantity: int = 1,
                 term_days: int | None = None, free_sample: bool = False, private_buyer_org_id: uuid.UUID | None = None) -> Offer:
    """A vendor puts a dataset (a fixed version, or the latest with updates) on sale under one licence."""
    session = get_session()
    ds = require_dataset_visible(principal, session.get(Dataset, dataset_id))
    POLICY.require(principal, Perm.OFFER_CREATE, vendor=ds.organization_id, hidden_as="No such dataset.")
    require_dataset_writer(principal, ds, session.get_one(Organization, ds.organization_id))
    version = _offer_version(ds, version_id)
    lic = find_license(license)
    if lic is None or (lic.owner_org_id is not None and lic.owner_org_id != ds.organization_id):
        raise ValidationFailed("Unknown licence.", errors={"license": [f"No licence {license} in the registry that you may use."]})
    if private_buyer_org_id is not None:
        # Only the vendor's own id is refused: whether another id names an organisation is
        # nobody's business but that organisation's, so every other id is accepted alike.
        if private_buyer_org_id == ds.organization_id:
            raise ValidationFailed("A private offer is for another organisation.", errors={"private_buyer_org_id": ["Not your own organisation."]})
    if not title.strip():
        raise ValidationFailed("An offer needs a title.", errors={"title": ["Not blank."]})
    if pricing_unit == PricingUnit.term.value and not term_days:
        raise ValidationFailed("A term offer needs its length.", errors={"term_days": ["Required when pricing_unit is 'term'."]})
    if not is_currency(currency):
        raise ValidationFailed("Unknown currency.", errors={"currency": ["An ISO 4217 currency code in circulation, such as EUR, USD or JPY."]})
    _check_offer_allowed(version, lic)
    offer = Offer(dataset_id=ds.id, organization_id=ds.organization_id, version_id=version_id, license_id=lic.id, title=title.strip(),
                  pricing_unit=pricing_unit, unit_price_minor=unit_price_minor, currency=currency.upper(), included_quota=included_quota,
                  tiers=_validate_tiers(tiers or []), min_quantity=min_quantity, term_days=term_days, free_sample=free_sample,
                  private_buyer_org_id=private_buyer_org_id)
    session.add(offer)
    session.flush()
    refresh_min_price(ds)
    audit.record(principal, CommerceAction.OFFER_CREATE, subject_type="offer", subject_id=offer.id, subject_org_id=ds.organization_id, actor_org_id=ds.organization_id,
                 details={"dataset_id": str(ds.id), "license": lic.identifier, "unit": pricing_unit, "unit_price_minor": unit_price_minor,
                          "currency": offer.currency, "private": private_buyer_org_id is not None})
    return offer


def _offer_visible(principal: Principal, offer: Offer | None) -> Offer:
    if offer is None:
        raise NotFound("No such offer.")
    own = principal.role_in(offer.organization_id) is not None
    if offer.private_buyer_org_id is not None and not own and principal.role_in(offer.private_buyer_org_id) is None:
        raise NotFound("No such offer.")
    ds = get_session().get(Dataset, offer.dataset_id)
    require_dataset_visible(principal, ds)
    return offer


def offer_views(offers: list[Offer]) -> list[dict[str, Any]]:
    """Offers as the API shows them, each with the exact licence a buyer accepts (identifier,
    version and text digest), loaded in one query for all of them, and what the buyer gets under
    it: the effective terms and the model-output terms to accept (one lineage walk per version)."""
    session = get_session()
    ids = {o.license_id for o in offers}
    licences = {lic.id: lic for lic in session.scalars(select(License).where(License.id.in_(ids)))} if ids else {}
    latest = {d.id: d.latest_version_id for d in session.scalars(select(Dataset).where(Dataset.id.in_({o.dataset_id for o in offers})))} if offers else {}
    by_version: dict[uuid.UUID, set[uuid.UUID]] = {}
    for o in offers:
        vid = o.version_id or latest.get(o.dataset_id)
        if vid is not None:
            by_version.setdefault(vid, set()).add(o.license_id)
    verdicts = {vid: offer_verdicts(vid, [licences[i] for i in sorted(lids)]) for vid, lids in by_version.items()}
    out = []
    for o in offers:
        lic = licences[o.license_id]
        row = {c: getattr(o, c) for c in ("id", "dataset_id", "organization_id", "version_id", "title", "pricing_unit", "unit_price_minor", "currency",
                                          "included_quota", "tiers", "min_quantity", "term_days", "free_sample", "active", "private_buyer_org_id", "created_at")}
        row.update(license=lic.identifier, license_version=lic.version, license_sha256=lic.text_sha256)
        vid = o.version_id or latest.get(o.dataset_id)
        row.update(verdicts[vid][lic.id].to_dict() if vid is not None else {"effective_terms": None, "model_terms": [], "model_terms_sha256": None})
        out.append(row)
    return out


def offer_views_for_dataset(principal: Principal, dataset_id: uuid.UUID) -> list[dict[str, Any]]:
    return offer_views(list_offers(principal, dataset_id))


def offer_view(principal: Principal, offer_id: uuid.UUID) -> dict[str, Any]:
    return offer_views([get_offer(principal, offer_id)])[0]


def create_offer_view(principal: Principal, dataset_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    return offer_views([create_offer(principal, dataset_id, **fields)])[0]


def update_offer_view(principal: Principal, offer_id: uuid.UUID, *, active: bool) -> dict[str, Any]:
    return offer_views([update_offer(principal, offer_id, active=active)])[0]


def takes_cards_for(offer: Offer) -> bool:
    """Whether checkout can offer card payment: cards enabled here and the vendor can be paid out."""
    if not _gateway().takes_cards:
        return False
    vendor = get_session().get(Organization, offer.organization_id)
    return bool(vendor and vendor.stripe_account_id)


def offers_by_id(offer_ids: set[uuid.UUID]) -> list[Offer]:
    """Offers the caller's own orders point at (their titles and datasets, for dashboards)."""
    if not offer_ids:
        return []
    return list(get_session().scalars(select(Offer).where(Offer.id.in_(offer_ids))))


def get_offer(principal: Principal, offer_id: uuid.UUID) -> Offer:
    return _offer_visible(principal, get_session().get(Offer, offer_id))


def list_offers(principal: Principal, dataset_id: uuid.UUID) -> list[Offer]:
    """Public offers, the caller's private offers, and for the vendor every offer."""
    ds = require_dataset_visible(principal, get_session().get(Dataset, dataset_id))
    offers = get_session().scalars(select(Offer).where(Offer.dataset_id == ds.id).order_by(Offer.unit_price_minor))
    own = principal.role_in(ds.organization_id) is not None
    return [o for o in offers if own or (o.active and (o.private_buyer_org_id is None or principal.role_in(o.private_buyer_org_id) is not None))]


@transactional
def update_offer(principal: Principal, offer_id: uuid.UUID, *, active: bool) -> Offer:
    offer = get_session().get(Offer, offer_id)
    if offer is None:
        raise NotFound("No such offer.")
    POLICY.require(principal, Perm.OFFER_UPDATE, vendor=offer.organization_id, hidden_as="No such offer.")
    ds = get_session().get_one(Dataset, offer.dataset_id)
    require_dataset_writer(principal, ds, get_session().get_one(Organization, ds.organization_id))
    offer.active = active
    refresh_min_price(ds)
    audit.record(principal, CommerceAction.OFFER_UPDATE, subject_type="offer", subject_id=offer.id, subject_org_id=offer.organization_id, actor_org_id=offer.organization_id,
                 details={"active": active})
    return offer


# --------------------------------------------------------------------------- orders


def price(offer: Offer, quantity: int) -> tuple[int, int]:
    """(unit price, total) in minor units: volume pricing, every unit at the tier reached."""
    unit = offer.unit_price_minor
    for tier in offer.tiers or []:
        if quantity >= tier["from"]:
            unit = tier["unit_price_minor"]
    return unit, unit * quantity


def order_fingerprint(**fields: Any) -> str:
    """What an order asked for, hashed: a replayed Idempotency-Key must carry the same request."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def create_order(principal: Principal, *, offer_id: uuid.UUID, quantity: int, currency: str, license_sha256: str, payment_method: str,
                 idempotency_key: str | None = None, buyer_org_id: uuid.UUID | None = None, accept_model_terms: str | None = None) -> tuple[Order, bool]:
    """Place an order. Returns (order, created); a repeated idempotency key returns the first order.

    Card payments: the order is committed first, then the Stripe checkout is opened (idempotent per
    order), then its URL stored. If Stripe fails the order stays unpaid, the caller gets a clear
    503, and retrying with the same idempotency key resumes.
    """
    principal.require_scope("commerce:write")
    buyer = buyer_org_id or principal.key_org_id or (next(iter(principal.memberships)) if len(principal.memberships) == 1 else None)
    if buyer is None:
        raise ValidationFailed("Say which organisation buys.", errors={"buyer_org_id": ["Required when you belong to several organisations."]})
    _check_quantity(quantity)
    fp = order_fingerprint(offer_id=offer_id, quantity=quantity, currency=currency.upper(), license_sha256=license_sha256, payment_method=payment_method, buyer=buyer,
                           **({"accept_model_terms": accept_model_terms.lower()} if accept_model_terms else {}))
    for attempt in (1, 2):
        try:
            with unit_of_work() as session:
                POLICY.require(principal, Perm.ORDER_PLACE, buyer=buyer, hidden_as="No such organisation.")
                order, created = None, True
                if idempotency_key:
                    prev = session.scalar(select(Order).where(Order.buyer_org_id == buyer, Order.idempotency_key == idempotency_key))
                    if prev is not None:
                        if prev.request_fingerprint != fp:
                            raise Conflict("This Idempotency-Key was used for a different order.", errors={"Idempotency-Key": ["Reused with other parameters."]})
                        order, created = prev, False
                if order is None:
                    order = _new_order(principal, buyer, offer_id, quantity, currency, license_sha256, payment_method, idempotency_key, fp, accept_model_terms)
            break
        except _KeyTaken:
            # A concurrent request with the same key committed its order first; the second pass
            # reads it (and answers with it, or with the conflict if the parameters differ).
            if attempt == 2:
                raise Conflict("This Idempotency-Key is being used by another request; retry.") from None
    assert order is not None  # the loop ends only once it has the order
    if order.payment_method == "stripe" and order.status == OrderStatus.pending_payment.value and order.checkout_session_id is None:
        _open_checkout(principal, order.id)
        order = get_session().get_one(Order, order.id)
    return order, created


# A grant's term and quota stay far inside what dates and 64-bit columns hold.
MAX_TERM_DAYS = 36_600
MAX_GRANT_UNITS = 2**62


def _check_grant_room(buyer: uuid.UUID, offer: Offer, quantity: int) -> None:
    """Refuse an order that would push the buyer's grant past 100 years or past the largest
    quota a grant holds, naming the limit (before anyone pays for it)."""
    session = get_session()
    grant = session.scalar(select(Grant).where(Grant.buyer_org_id == buyer, Grant.offer_id == offer.id))
    # Orders placed but not paid yet will land on the same grant: count them too.
    pending = list(session.scalars(select(Order.quantity).where(Order.buyer_org_id == buyer, Order.offer_id == offer.id,
                                                                Order.status == OrderStatus.pending_payment.value)))
    if offer.term_days:
        periods = quantity if offer.pricing_unit == PricingUnit.term.value else 1
        now = utcnow()
        start = max(grant.expires_at or now, now) if grant is not None and grant.status == GrantStatus.active.value else now
        pending_periods = sum(pending) if offer.pricing_unit == PricingUnit.term.value else len(pending)
        if (start - now).days + offer.term_days * (periods + pending_periods) > MAX_TERM_DAYS:
            raise ValidationFailed("The term is too long.", errors={"quantity": [f"A grant runs at most {MAX_TERM_DAYS:,} days (100 years) ahead."]})
    def units_of(q: int) -> int:
        return ((0 if offer.pricing_unit == PricingUnit.term.value else q) + offer.included_quota) * metering.UNIT_SCALE[offer.pricing_unit]

    if (grant.credited if grant is not None else 0) + units_of(quantity) + sum(units_of(q) for q in pending) > MAX_GRANT_UNITS:
        raise ValidationFailed("The quota is too large.", errors={"quantity": [f"A grant holds at most {MAX_GRANT_UNITS:,} {offer.pricing_unit} units in all."]})


class _KeyTaken(Exception):
    """Another transaction inserted an order with this buyer's idempotency key meanwhile."""


def _check_quantity(quantity: int) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationFailed("The quantity is out of range.", errors={"quantity": [f"A whole number from 1 to {MAX_QUANTITY:,}."]})


def _new_order(principal: Principal, buyer: uuid.UUID, offer_id: uuid.UUID, quantity: int, currency: str, license_sha256: str,
               payment_method: str, idempotency_key: str | None, fp: str, accept_model_terms: str | None = None) -> Order:
    session = get_session()
    offer = _offer_visible(principal, session.get(Offer, offer_id))
    if offer.private_buyer_org_id is not None and offer.private_buyer_org_id != buyer:
        # Found from outside: a member of the offer's buyer who also belongs to another
        # organisation ordered it for that other one. A private offer is bought by its buyer only.
        raise NotFound("No such offer.")
    errors: dict[str, list[str]] = {}
    if offer.organization_id == buyer:
        raise ValidationFailed("You cannot buy your own dataset.", errors={"offer_id": ["This offer is your own organisation's."]})
    if not offer.active:
        raise Conflict("This offer is no longer available.", errors={"offer_id": ["Inactive offer."]})
    if quantity < max(offer.min_quantity, 1):
        errors["quantity"] = [f"At least {max(offer.min_quantity, 1)}."]
    if currency.upper() != offer.currency:
        errors["currency"] = [f"This offer is priced in {offer.currency}."]
    lic = session.get_one(License, offer.license_id)
    if license_sha256.lower() != lic.text_sha256:
        errors["license_sha256"] = [f"Accept the exact text of {lic.identifier} version {lic.version}: its SHA-256 is {lic.text_sha256}."]
    if payment_method == "stripe" and not _gateway().takes_cards:
        errors["payment_method"] = ["Card payments are not enabled here; use 'invoice'."]
    vendor = session.get_one(Organization, offer.organization_id)
    if payment_method == "stripe" and _gateway().takes_cards and not vendor.stripe_account_id:
        errors["payment_method"] = ["This vendor cannot take card payments yet; use 'invoice'."]
    ds = session.get_one(Dataset, offer.dataset_id)
    version = _offer_version(ds, offer.version_id)
    # Model-output terms bind the buyer beyond the licence text: accepted explicitly, by digest.
    verdict = offer_verdict(version.id, lic)
    blocking, model_terms, model_digest = verdict.blocking, verdict.model_terms, verdict.model_terms_sha256
    if model_digest and (accept_model_terms or "").lower() != model_digest:
        errors["accept_model_terms"] = ["This data comes under model-output terms: " + "; ".join(m["text"] for m in model_terms)
                                        + f". Accept them by sending their SHA-256 {model_digest} (the offer's model_terms_sha256)."]
    if errors:
        raise ValidationFailed("The order is not valid.", errors=errors)
    _check_offer_allowed(version, lic, blocking)
    _check_grant_room(buyer, offer, quantity)
    _unit, amount = price(offer, quantity)
    try:
        check_total(Money(amount, offer.currency))
        if payment_method == "stripe":
            _gateway().check_amount(Money(amount, offer.currency))
    except MoneyError as e:
        raise ValidationFailed("The order total is out of range.", errors={"quantity": [str(e)]}) from None
    fee = amount * _settings().platform_fee_bps // 10000 if payment_method == "stripe" else 0
    order = Order(offer_id=offer.id, buyer_org_id=buyer, vendor_org_id=offer.organization_id, quantity=quantity, amount_minor=amount,
                  platform_fee_minor=fee, currency=offer.currency, license_id=lic.id, accepted_text_sha256=lic.text_sha256,
                  accepted_by=principal.user_id, accepted_at=utcnow(), accepted_model_terms=model_terms or None,
                  payment_method=payment_method, idempotency_key=idempotency_key,
                  request_fingerprint=fp)
    try:
        with session.begin_nested():
            session.add(order)
            session.flush()
    except IntegrityError:
        if idempotency_key:
            raise _KeyTaken() from None
        raise
    audit.record(principal, CommerceAction.ORDER_CREATE, subject_type="order", subject_id=order.id, subject_org_id=offer.organization_id, actor_org_id=buyer,
                 quantities={"quantity": quantity, "amount_minor": amount}, details={"offer_id": str(offer.id), "license": lic.identifier,
                                                                                     "license_sha256": lic.text_sha256, "payment_method": payment_method})
    return order


def _open_checkout(principal: Principal, order_id: uuid.UUID) -> None:
    session = get_session()
    order = session.get_one(Order, order_id)
    offer = session.get_one(Offer, order.offer_id)
    vendor = session.get_one(Organization, order.vendor_org_id)
    base = _settings().public_url.rstrip("/")
    end_read()  # no transaction open while Stripe is called
    checkout = _gateway().create_checkout(order_id=str(order.id), description=offer.title, amount_minor=order.amount_minor, currency=order.currency,
                                          fee_minor=order.platform_fee_minor, destination_account=vendor.stripe_account_id,
                                          success_url=f"{base}/orders/{order.id}?paid=1", cancel_url=f"{base}/orders/{order.id}?cancelled=1")
    with unit_of_work() as s:
        o = s.get_one(Order, order_id)
        o.checkout_session_id, o.checkout_url = checkout.id, checkout.url
        audit.record(principal, CommerceAction.ORDER_CHECKOUT, subject_type="order", subject_id=o.id, subject_org_id=o.vendor_org_id, actor_org_id=o.buyer_org_id,
                     details={"checkout_session_id": checkout.id})


def _order_visible(principal: Principal, order_id: uuid.UUID, action: Perm, *, lock: bool = False) -> Order:
    """The order if the caller's organisation bought or sold it (else 404). With `lock`, the row
    is locked for this transaction: every state transition takes it, so concurrent transitions
    of one order happen one after the other and each sees the state the previous one left."""
    principal.require_authenticated()
    order = get_session().get(Order, order_id, with_for_update=lock, populate_existing=lock)
    if order is None:
        raise NotFound("No such order.")
    POLICY.require(principal, action, buyer=order.buyer_org_id, vendor=order.vendor_org_id, hidden_as="No such order.")
    return order


def order_for_key(principal: Principal, buyer_org_id: uuid.UUID, idempotency_key: str) -> Order | None:
    """The order a buyer organisation placed with an idempotency key, if any (its members only)."""
    if principal.role_in(buyer_org_id) is None:
        return None
    return get_session().scalar(select(Order).where(Order.buyer_org_id == buyer_org_id, Order.idempotency_key == idempotency_key))


def get_order(principal: Principal, order_id: uuid.UUID) -> Order:
    return _order_visible(principal, order_id, Perm.ORDER_READ)


def list_orders(principal: Principal, org_id: uuid.UUID, *, as_vendor: bool) -> list[Order]:
    POLICY.require(principal, Perm.ORDER_LIST, org=org_id)
    col = Order.vendor_org_id if as_vendor else Order.buyer_org_id
    return list(get_session().scalars(select(Order).where(col == org_id).order_by(Order.created_at.desc())))


@transactional
def mark_paid(principal: Principal, order_id: uuid.UUID) -> Order:
    """Invoice payments: the vendor (admin) or a platform admin records that the money arrived.
    Exactly once, however many callers race: the order row is locked first."""
    order = _order_visible(principal, order_id, Perm.ORDER_MARK_PAID, lock=True)
    if order.payment_method != "invoice":
        raise Conflict("Card orders are marked paid by the payment provider, not by hand.")
    if order.status != OrderStatus.pending_payment.value:
        raise Conflict(f"The order is {order.status}, not awaiting payment.")
    _pay(principal, order)
    return order


@transactional
def cancel_order(principal: Principal, order_id: uuid.UUID, *, reason: str | None = None) -> Order:
    """The buyer withdraws an unpaid invoice order (a member of the buying organisation)."""
    order = _order_visible(principal, order_id, Perm.ORDER_CANCEL, lock=True)
    _end_unpaid(principal, order, action=CommerceAction.ORDER_CANCEL, reason=reason or "cancelled by the buyer")
    return order


@transactional
def reject_order(principal: Principal, order_id: uuid.UUID, *, reason: str) -> Order:
    """The vendor declines an unpaid invoice order (its admins, or a platform admin)."""
    order = _order_visible(principal, order_id, Perm.ORDER_REJECT, lock=True)
    _end_unpaid(principal, order, action=CommerceAction.ORDER_REJECT, reason=reason)
    return order


def _end_unpaid(principal: Principal, order: Order, *, action: CommerceAction, reason: str) -> None:
    if order.payment_method != "invoice":
        # A card checkout may still complete at Stripe; it expires there (and is then failed here).
        raise Conflict("Card orders end when their checkout expires; only invoice orders are cancelled or rejected by hand.")
    if order.status != OrderStatus.pending_payment.value:
        raise Conflict(f"The order is {order.status}; only an order awaiting payment can be ended.")
    order.status = OrderStatus.cancelled.value
    order.status_reason = reason[:500]
    audit.record(principal, action, subject_type="order", subject_id=order.id, subject_org_id=order.vendor_org_id, actor_org_id=order.buyer_org_id,
                 quantities={"amount_minor": order.amount_minor}, details={"reason": reason[:500]})
    _announce_order(Topic.ORDER_CANCELLED if action is CommerceAction.ORDER_CANCEL else Topic.ORDER_REJECTED, order, reason=reason[:500])


def _pay(principal: Principal, order: Order) -> None:
    order.status = OrderStatus.paid.value
    order.paid_at = utcnow()
    audit.record(principal, CommerceAction.ORDER_PAID, subject_type="order", subject_id=order.id, subject_org_id=order.vendor_org_id, actor_org_id=order.buyer_org_id,
                 quantities={"amount_minor": order.amount_minor}, details={"payment_method": order.payment_method})
    _fulfil(principal, order)
    _announce_order(Topic.ORDER_PAID, order)


def _dataset_title(dataset_id: uuid.UUID) -> str:
    return get_session().scalar(select(Dataset.title).where(Dataset.id == dataset_id)) or str(dataset_id)


def _announce_order(topic: Topic, order: Order, *, reason: str | None = None) -> None:
    """Tell both parties of an order, each with only what the order shows them anyway."""
    session = get_session()
    offer = session.get_one(Offer, order.offer_id)
    common = {"order_id": str(order.id), "dataset_id": str(offer.dataset_id), "dataset_title": _dataset_title(offer.dataset_id), "offer_id": str(offer.id),
              "amount_minor": order.amount_minor, "currency": order.currency, "amount": format_money(order.amount_minor, order.currency),
              "payment_method": order.payment_method}
    if reason is not None:
        common["reason"] = reason
    if order.grant_id is not None:
        common["grant_id"] = str(order.grant_id)
    buyer = session.get_one(Organization, order.buyer_org_id)
    publish(topic, order.buyer_org_id, {**common, "role": "buyer"})
    publish(topic, order.vendor_org_id, {**common, "role": "vendor", "buyer_name": buyer.name})


def _announce_grant(topic: Topic, grant: Grant, *, dedupe: str | None = None, **extra: Any) -> uuid.UUID | None:
    """Tell the holder of a grant (the buyer organisation) what happened to it. None when
    `dedupe` says it was told already."""
    return publish(topic, grant.buyer_org_id, {"grant_id": str(grant.id), "dataset_id": str(grant.dataset_id), "dataset_title": _dataset_title(grant.dataset_id),
                                        "expires_at": grant.expires_at.isoformat() if grant.expires_at else None, "status": grant.status, **extra},
            dedupe=dedupe)


def _fulfil(principal: Principal, order: Order) -> Grant:
    """Create or extend the buyer's grant for the offer and credit the order's quota (once)."""
    session = get_session()
    offer = session.get_one(Offer, order.offer_id)
    now = utcnow()
    new_id = insert_ignore_returning(Grant, Grant.id, id=uuid.uuid4(), buyer_org_id=order.buyer_org_id, vendor_org_id=order.vendor_org_id, offer_id=offer.id,
                            dataset_id=offer.dataset_id, version_id=offer.version_id, license_id=order.license_id,
                            accepted_text_sha256=order.accepted_text_sha256, accepted_by=order.accepted_by, accepted_at=order.accepted_at,
                            accepted_model_terms=order.accepted_model_terms, unit=offer.pricing_unit, status=GrantStatus.active.value, starts_at=now, expires_at=None, balance=0, credited=0,
                            warned_at_bp=0, created_at=now)
    grant = session.scalars(select(Grant).where(Grant.buyer_org_id == order.buyer_org_id, Grant.offer_id == offer.id).with_for_update()).one()
    created = new_id is not None
    if offer.term_days:
        periods = order.quantity if offer.pricing_unit == PricingUnit.term.value else 1
        start = max(grant.expires_at or now, now) if grant.status == GrantStatus.active.value else now
        # Bounded at order time (pending orders counted); the ceiling guards against dates no
        # database holds whatever the order of payments.
        grant.expires_at = min(start + timedelta(days=min(offer.term_days * periods, MAX_TERM_DAYS)), now + timedelta(days=MAX_TERM_DAYS))
    else:
        grant.expires_at = None
    # The buyer's latest acceptance is the one in force.
    grant.license_id, grant.accepted_text_sha256, grant.accepted_by, grant.accepted_at = order.license_id, order.accepted_text_sha256, order.accepted_by, order.accepted_at
    grant.accepted_model_terms = order.accepted_model_terms
    if grant.status in (GrantStatus.expired.value, GrantStatus.revoked.value):
        grant.status = GrantStatus.active.value
    units = ((0 if offer.pricing_unit == PricingUnit.term.value else order.quantity) + offer.included_quota) * metering.UNIT_SCALE[offer.pricing_unit]
    if units:
        metering.credit(principal, grant, units, reason="order", request_id=f"order:{order.id}", order_id=order.id)
    order.grant_id = grant.id
    audit.record(principal, CommerceAction.GRANT_CREATE if created else CommerceAction.GRANT_EXTEND, subject_type="grant", subject_id=grant.id, subject_org_id=grant.vendor_org_id,
                 actor_org_id=grant.buyer_org_id, quantities={grant.unit: units}, details={"order_id": str(order.id), "expires_at": grant.expires_at.isoformat() if grant.expires_at else None})
    if created:
        _announce_grant(Topic.GRANT_CREATED, grant)
    return grant


# --------------------------------------------------------------------------- payment events


def handle_webhook(payload: bytes, signature: str | None) -> dict[str, str]:
    """Verify and apply one payment-provider event, exactly once and never out of order."""
    event = _gateway().parse_webhook(payload, signature)
    with unit_of_work():
        first = insert_ignore_returning(StripeEvent, StripeEvent.id, id=event.id, type=event.type, created=event.created, outcome="processing", received_at=utcnow())
        if first is None:
            return {"event": event.id, "outcome": "duplicate: already processed"}
        outcome = _apply(event)
        get_session().get_one(StripeEvent, event.id).outcome = outcome[:200]
        return {"event": event.id, "outcome": outcome}


def _order_for(event: WebhookEvent) -> Order | None:
    session = get_session()
    obj = event.data
    order_id = (obj.get("metadata") or {}).get("order_id") or obj.get("client_reference_id")
    if order_id:
        try:
            return session.get(Order, uuid.UUID(order_id), with_for_update=True)
        except ValueError:
            return None
    pi = obj.get("payment_intent")
    if pi:
        return session.scalars(select(Order).where(Order.payment_intent_id == pi).with_for_update()).first()
    return None


def _apply(event: WebhookEvent) -> str:
    order = _order_for(event)
    if order is None:
        return "ignored: no matching order"
    if event.created < order.last_event_created:
        return "ignored: older than an event already applied"
    obj, t, st = event.data, event.type, order.status
    p = SYSTEM
    result = "ignored: nothing to do"
    if t == "checkout.session.completed":
        if st == OrderStatus.pending_payment.value and obj.get("payment_status") == "paid":
            order.payment_intent_id = obj.get("payment_intent") or order.payment_intent_id
            _pay(p, order)
            result = "paid"
        else:
            result = f"ignored: order is {st}"
    elif t in ("checkout.session.async_payment_failed", "payment_intent.payment_failed", "checkout.session.expired"):
        if st == OrderStatus.pending_payment.value:
            order.status = OrderStatus.failed.value
            audit.record(p, CommerceAction.ORDER_PAYMENT_FAILED, outcome="failure", subject_type="order", subject_id=order.id, subject_org_id=order.vendor_org_id,
                         actor_org_id=order.buyer_org_id, details={"event": event.id})
            result = "failed"
    elif t == "charge.refunded":
        result = _refund(p, order, int(obj.get("amount_refunded") or 0), int(obj.get("amount") or order.amount_minor), event.id)
    elif t == "charge.dispute.created":
        if st == OrderStatus.paid.value:
            order.status = OrderStatus.disputed.value
            _set_grant(p, order, GrantStatus.suspended, "dispute opened")
            result = "disputed: grant suspended"
    elif t == "charge.dispute.closed":
        if st == OrderStatus.disputed.value:
            if obj.get("status") == "won":
                order.status = OrderStatus.paid.value
                _set_grant(p, order, GrantStatus.active, "dispute won")
                result = "dispute won: grant reinstated"
            else:
                order.status = OrderStatus.refunded.value
                _withdraw_order_units(p, order, order.quantity * metering.UNIT_SCALE[order_unit(order)], f"dispute:{event.id}")
                _set_grant(p, order, GrantStatus.revoked, "dispute lost")
                result = "dispute lost: grant revoked"
    order.last_event_created = max(order.last_event_created, event.created)
    return result


def _refund(p: Principal, order: Order, refunded: int, amount: int, event_id: str) -> str:
    if order.status == OrderStatus.pending_payment.value:
        order.status = OrderStatus.refunded.value  # a late 'completed' will now change nothing
        return "refunded before completion was seen"
    if order.status not in (OrderStatus.paid.value, OrderStatus.disputed.value):
        return f"ignored: order is {order.status}"
    new = max(0, refunded - order.refunded_minor)
    if new == 0:
        return "ignored: no new refund"
    order.refunded_minor = refunded
    units = math.ceil(order.quantity * new / max(amount, 1))
    taken = _withdraw_order_units(p, order, units, f"refund:{event_id}")
    full = refunded >= order.amount_minor
    if full:
        order.status = OrderStatus.refunded.value
        if not _other_paid_orders(order):
            _set_grant(p, order, GrantStatus.revoked, "refunded")
    audit.record(p, CommerceAction.ORDER_REFUND, subject_type="order", subject_id=order.id, subject_org_id=order.vendor_org_id, actor_org_id=order.buyer_org_id,
                 quantities={"refunded_minor": new, "units_withdrawn": taken}, details={"full": full})
    return f"refunded {new} ({'full' if full else 'partial'}), {taken} units withdrawn"


def order_unit(order: Order) -> str:
    return get_session().get_one(Offer, order.offer_id).pricing_unit


def _other_paid_orders(order: Order) -> bool:
    return bool(get_session().scalar(select(func.count()).select_from(Order).where(Order.grant_id == order.grant_id, Order.id != order.id,
                                                                                Order.status == OrderStatus.paid.value)))


def _withdraw_order_units(p: Principal, order: Order, units: int, request_id: str) -> int:
    if order.grant_id is None:
        return 0
    grant = get_session().get_one(Grant, order.grant_id)
    return metering.withdraw_credit(p, grant, units, reason="refund", request_id=request_id, order_id=order.id)


def _set_grant(p: Principal, order: Order, status: GrantStatus, why: str) -> None:
    if order.grant_id is None:
        return
    grant = get_session().get_one(Grant, order.grant_id)
    grant.status = status.value
    audit.record(p, CommerceAction(f"grant.{status.value}"), subject_type="grant", subject_id=grant.id, subject_org_id=grant.vendor_org_id, actor_org_id=grant.buyer_org_id,
                 details={"reason": why, "order_id": str(order.id)})
    if status is GrantStatus.revoked:
        _announce_grant(Topic.GRANT_REVOKED, grant, reason=why)


# --------------------------------------------------------------------------- grants


def _grant_visible(principal: Principal, grant_id: uuid.UUID) -> Grant:
    grant = get_session().get(Grant, grant_id)
    if grant is None:
        raise NotFound("No such grant.")
    POLICY.require(principal, Perm.GRANT_READ, buyer=grant.buyer_org_id, vendor=grant.vendor_org_id, hidden_as="No such grant.")
    return grant


def get_grant(principal: Principal, grant_id: uuid.UUID) -> Grant:
    return _grant_visible(principal, grant_id)


GRANT_FIELDS = ("id", "buyer_org_id", "vendor_org_id", "offer_id", "dataset_id", "version_id", "held_version_id", "license_id", "accepted_text_sha256", "accepted_by",
                "accepted_at", "accepted_model_terms", "unit", "status", "starts_at", "expires_at", "balance", "credited")


def grant_view(principal: Principal, grant_id: uuid.UUID) -> dict[str, Any]:
    """A grant as its holder or vendor reads it: the grant, its quota ledger, and the effective
    terms under its licence over the lineage of its version (the latest, for "latest" grants)."""
    grant = _grant_visible(principal, grant_id)
    session = get_session()
    out: dict[str, Any] = {c: getattr(grant, c) for c in GRANT_FIELDS}
    out["ledger"] = list(session.scalars(select(QuotaEntry).where(QuotaEntry.grant_id == grant.id).order_by(QuotaEntry.id)))
    vid = delivered_version_id(grant)
    out["effective_terms"] = offer_verdict(vid, session.get_one(License, grant.license_id)).effective_terms if vid else None
    return out


def list_grants(principal: Principal, org_id: uuid.UUID, *, as_vendor: bool = False) -> list[Grant]:
    POLICY.require(principal, Perm.GRANT_LIST, org=org_id)
    col = Grant.vendor_org_id if as_vendor else Grant.buyer_org_id
    return list(get_session().scalars(select(Grant).where(col == org_id).order_by(Grant.created_at.desc())))


def most_licensed(limit: int = 12, *, days: int = 180) -> list[uuid.UUID]:
    """Datasets by how many organisations licensed them in the last `days` (the home page's
    featured row; the catalogue decides which of them may be shown)."""
    since = utcnow() - timedelta(days=days)
    buyers = func.count(func.distinct(Grant.buyer_org_id))
    return list(get_session().scalars(select(Grant.dataset_id).where(Grant.created_at >= since).group_by(Grant.dataset_id)
                                      .order_by(buyers.desc(), Grant.dataset_id).limit(limit)))


_GRANT_COLUMNS = sa_inspect(Grant).column_attrs


def list_grants_titled(principal: Principal, org_id: uuid.UUID) -> list[dict[str, Any]]:
    """The organisation's grants (as `list_grants`), each with its dataset's title: what a person
    reading the list needs to tell them apart."""
    grants = list_grants(principal, org_id)
    titles = titles_of({g.dataset_id for g in grants})
    return [dict({a.key: getattr(g, a.key) for a in _GRANT_COLUMNS}, dataset_title=titles.get(g.dataset_id)) for g in grants]


@transactional
def expire_grants() -> int:
    """Job: mark grants past their term as expired (debits already refuse them)."""
    session = get_session()
    n = 0
    for grant in session.scalars(select(Grant).where(Grant.status == GrantStatus.active.value, Grant.expires_at.is_not(None), Grant.expires_at <= utcnow())):
        grant.status = GrantStatus.expired.value
        audit.record(SYSTEM, CommerceAction.GRANT_EXPIRED, subject_type="grant", subject_id=grant.id, subject_org_id=grant.vendor_org_id, actor_org_id=grant.buyer_org_id)
        _announce_grant(Topic.GRANT_EXPIRED, grant)
        n += 1
    return n


EXPIRY_WARNING = timedelta(days=7)


@transactional
def warn_expiring_grants(now: Any = None) -> int:
    """Job: tell holders, once per expiry date, that a grant ends within 7 days (a grant extended
    later is warned again about its new date). Returns how many were told now."""
    now = now or utcnow()
    n = 0
    for grant in get_session().scalars(select(Grant).where(Grant.status == GrantStatus.active.value, Grant.expires_at.is_not(None), Grant.expires_at > now,
                                                           Grant.expires_at <= now + EXPIRY_WARNING)):
        assert grant.expires_at is not None
        if _announce_grant(Topic.GRANT_EXPIRING, grant, dedupe=f"grant.expiring:{grant.id}:{grant.expires_at.isoformat()}"):
            n += 1
    return n


def holders_query(version: DatasetVersion) -> Select[Grant]:
    """Grants that hold a version: bought for it; bought for 'latest' while it was the latest; or
    for 'latest' and delivering it now (held on it, or following it as the dataset's latest:
    a grant bought under an older version follows each newer one)."""
    latest_then = and_(Grant.version_id.is_(None), Grant.dataset_id == version.dataset_id, Grant.created_at <= (version.withdrawn_at or utcnow()),
                       Grant.created_at >= version.published_at) if version.published_at else false()
    is_latest = select(Dataset.latest_version_id).where(Dataset.id == version.dataset_id).scalar_subquery() == version.id
    delivering = and_(Grant.version_id.is_(None), Grant.dataset_id == version.dataset_id,
                      or_(Grant.held_version_id == version.id, and_(Grant.held_version_id.is_(None), is_latest)))
    return select(Grant).where(or_(Grant.version_id == version.id, latest_then, delivering))


def delivered_version_id(grant: Grant) -> uuid.UUID | None:
    """The version a grant delivers now: its own, the one it is held on, or the latest."""
    return grant.version_id or grant.held_version_id or get_session().get_one(Dataset, grant.dataset_id).latest_version_id


def grant_covers(grant: Grant, version_id: uuid.UUID, memo: dict[uuid.UUID, OfferVerdict] | None = None) -> bool:
    """Whether a grant covers a version: its own fixed version; or, for "latest", a version of its
    dataset that its licence allows and whose model-output terms its holder accepted (each one).
    `memo`: verdicts *of this version* by licence, so many grants under few licences (or a caller
    that already has the verdict) cost few lineage walks."""
    if grant.version_id is not None:
        return grant.version_id == version_id
    memo = {} if memo is None else memo
    if grant.license_id not in memo:
        memo[grant.license_id] = offer_verdict(version_id, get_session().get_one(License, grant.license_id))
    verdict = memo[grant.license_id]
    accepted = {(m["code"], m["text"]) for m in grant.accepted_model_terms or []}
    return not verdict.blocking and {(m["code"], m["text"]) for m in verdict.model_terms} <= accepted


def on_latest_changed(dataset: Dataset, version_id: uuid.UUID | None, previous_version_id: uuid.UUID | None = None, **_: Any) -> None:
    """A new latest version: grants for "latest" follow it only while their licence and accepted
    model-output terms cover it. One whose terms it exceeds stays on the version it had (audited,
    so the holder is told) until the holder accepts the new terms (`follow_latest`)."""
    if version_id is None:
        return
    session = get_session()
    memo: dict[uuid.UUID, OfferVerdict] = {}
    version = session.get_one(DatasetVersion, version_id)
    for grant in session.scalars(select(Grant).where(Grant.dataset_id == dataset.id, Grant.version_id.is_(None),
                                                     Grant.status.in_([GrantStatus.active.value, GrantStatus.suspended.value]))):
        follows = grant_covers(grant, version_id, memo)
        if previous_version_id is not None and version.published_at is not None:
            # Holders of "latest" hear of each new version once (a re-computed latest is not news).
            _announce_grant(Topic.VERSION_PUBLISHED, grant, version_id=str(version_id), version=version.version, follows=follows,
                            dedupe=f"version.published:{grant.id}:{version_id}")
        if follows:
            grant.held_version_id = None
        elif grant.held_version_id is None and previous_version_id is not None:
            grant.held_version_id = previous_version_id
            audit.record(CATALOGUE_EVENTS, CommerceAction.GRANT_HELD, subject_type="grant", subject_id=grant.id, subject_org_id=grant.vendor_org_id,
                         actor_org_id=grant.buyer_org_id, details={"held_on": str(previous_version_id), "newer": str(version_id),
                                                                   "why": "the newer version comes under terms this grant does not cover"})


@transactional
def follow_latest(principal: Principal, grant_id: uuid.UUID, *, accept_model_terms: str | None) -> Grant:
    """Let a held grant follow the latest version again, accepting the model-output terms it comes
    under (by digest). A latest version its licence does not allow cannot be followed: 409."""
    session = get_session()
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound("No such grant.")
    POLICY.require(principal, Perm.GRANT_ACCEPT_TERMS, buyer=grant.buyer_org_id, vendor=grant.vendor_org_id, hidden_as="No such grant.")
    if grant.version_id is not None:
        raise Conflict("This grant is for one version; it follows no other.", errors={"grant_id": ["A fixed-version grant."]})
    latest = session.get_one(Dataset, grant.dataset_id).latest_version_id
    if latest is None:
        raise Conflict("The dataset has no published version.")
    verdict = offer_verdict(latest, session.get_one(License, grant.license_id))
    if verdict.blocking:
        raise Conflict("The latest version cannot be delivered under this grant's licence.", errors={"grant_id": [f["message"] for f in verdict.blocking]},
                       findings=verdict.blocking)
    if verdict.model_terms_sha256 and (accept_model_terms or "").lower() != verdict.model_terms_sha256:
        raise ValidationFailed("Accept the model-output terms of the latest version.", errors={"accept_model_terms": [
            "The latest version comes under: " + "; ".join(m["text"] for m in verdict.model_terms) + f". Send their SHA-256 {verdict.model_terms_sha256}."]})
    # Terms accepted earlier stay accepted: the versions delivered under them stay covered.
    accepted = {(m["code"], m["text"]) for m in [*(grant.accepted_model_terms or []), *verdict.model_terms]}
    grant.accepted_model_terms = [{"code": c, "text": t} for c, t in sorted(accepted)] or None
    grant.held_version_id = None
    audit.record(principal, CommerceAction.GRANT_FOLLOWS_LATEST, subject_type="grant", subject_id=grant.id, subject_org_id=grant.vendor_org_id,
                 actor_org_id=grant.buyer_org_id, details={"version_id": str(latest), "model_terms_sha256": verdict.model_terms_sha256})
    return grant


def on_version_withdrawn(principal: Principal, version: DatasetVersion, dataset: Dataset, reason: str) -> None:
    """Tell every holder: one audit event per grant (notifications read these)."""
    for grant in get_session().scalars(holders_query(version).where(Grant.status.in_([GrantStatus.active.value, GrantStatus.suspended.value]))):
        audit.record(principal, CommerceAction.GRANT_VERSION_WITHDRAWN, subject_type="grant", subject_id=grant.id, subject_org_id=grant.vendor_org_id,
                     actor_org_id=grant.buyer_org_id, details={"version_id": str(version.id), "version": version.version, "reason": reason})
        _announce_grant(Topic.VERSION_WITHDRAWN, grant, version_id=str(version.id), version=version.version, reason=reason,
                        dedupe=f"version.withdrawn:{grant.id}:{version.id}")


def on_access_approved(principal: Principal, request: Any, offer: dict[str, Any], **_: Any) -> None:
    """An access request approved with an offer: make the buyer that private offer, in the
    approval's transaction and with the approver's rights (a refused offer refuses the approval)."""
    try:
        spec = OfferCreateSchema().load({k: v for k, v in offer.items() if v is not None or k == "version_id"})
    except ma.ValidationError as e:
        raise ValidationFailed("The private offer is not valid.", errors={"offer": e.messages}) from None
    spec["private_buyer_org_id"] = request.buyer_org_id
    try:
        request.offer_id = create_offer(principal, request.dataset_id, **spec).id
    except ValidationFailed as e:
        raise ValidationFailed(f"The private offer is not valid: {e.detail}", errors={"offer": e.errors or {}}) from None


def version_holders(principal: Principal, version_id: uuid.UUID) -> list[Grant]:
    """The vendor's view: which buyers hold (or held) a version."""
    v = get_session().get(DatasetVersion, version_id)
    ds = get_session().get(Dataset, v.dataset_id) if v else None
    if v is None or ds is None:
        raise NotFound("No such version.")
    POLICY.require(principal, Perm.VERSION_HOLDERS, vendor=ds.organization_id, hidden_as="No such version.")
    return list(get_session().scalars(holders_query(v).order_by(Grant.created_at)))



@transactional
def set_payout_account(principal: Principal, org_id: uuid.UUID, *, stripe_account_id: str) -> Organization:
    """A vendor names the Stripe Connect account that receives its payouts."""
    POLICY.require(principal, Perm.PAYOUT_ACCOUNT_SET, org=org_id)
    org = get_session().get_one(Organization, org_id)
    org.stripe_account_id = stripe_account_id
    audit.record(principal, CommerceAction.ORG_PAYOUT_ACCOUNT, subject_type="organization", subject_id=org.id, subject_org_id=org.id, actor_org_id=org.id,
                 details={"stripe_account_id": stripe_account_id})
    return org
