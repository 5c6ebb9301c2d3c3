"""Marshmallow schemas of the commerce API."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from marketplace.commerce.models import PricingUnit
from marketplace.formats.money import MAX_QUANTITY, MAX_UNIT_PRICE_MINOR, is_currency
from marketplace.kernel.schemas import Flag, Int, StrictSchema, Text


def _currency(value: str) -> bool:
    if not is_currency(value):
        raise ma.ValidationError("An ISO 4217 currency code in circulation, such as EUR, USD or JPY.")
    return True


CURRENCY = _currency
MAX_MINOR = MAX_UNIT_PRICE_MINOR
QUANTITY = validate.Range(min=1, max=MAX_QUANTITY, error=f"A whole number from 1 to {MAX_QUANTITY:,}.")
PRICE = validate.Range(min=0, max=MAX_MINOR, error=f"From 0 to {MAX_MINOR:,} minor units.")


class TierSchema(StrictSchema):
    from_ = Int(data_key="from", attribute="from", required=True, strict=True, validate=QUANTITY)
    unit_price_minor = Int(required=True, strict=True, validate=PRICE)


class OfferCreateSchema(StrictSchema):
    title = Text(200, required=True)
    license = ma.fields.String(required=True, validate=validate.Length(min=1, max=128), metadata={"description": "Licence identifier"})
    version_id = ma.fields.UUID(load_default=None, allow_none=True, metadata={"description": "A fixed version; null: the latest, with updates during the term"})
    pricing_unit = ma.fields.String(required=True, validate=validate.OneOf([u.value for u in PricingUnit]))
    unit_price_minor = Int(required=True, strict=True, validate=PRICE)
    currency = ma.fields.String(required=True, validate=CURRENCY)
    included_quota = Int(load_default=0, strict=True, validate=validate.Range(min=0, max=MAX_QUANTITY, error=f"From 0 to {MAX_QUANTITY:,}."))
    tiers = ma.fields.List(ma.fields.Nested(TierSchema), load_default=list, validate=validate.Length(max=20))
    min_quantity = Int(load_default=1, strict=True, validate=QUANTITY)
    term_days = Int(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=3660))
    free_sample = Flag(load_default=False)
    private_buyer_org_id = ma.fields.UUID(load_default=None, allow_none=True)


class OfferUpdateSchema(StrictSchema):
    active = Flag(required=True)


class OfferSchema(ma.Schema):
    id = ma.fields.UUID()
    dataset_id = ma.fields.UUID()
    organization_id = ma.fields.UUID()
    version_id = ma.fields.UUID(allow_none=True)
    license = ma.fields.String()
    license_version = Int()
    license_sha256 = ma.fields.String()
    title = ma.fields.String()
    pricing_unit = ma.fields.String()
    unit_price_minor = Int()
    currency = ma.fields.String()
    included_quota = Int()
    tiers = ma.fields.List(ma.fields.Dict())
    min_quantity = Int()
    term_days = Int(allow_none=True)
    free_sample = ma.fields.Boolean()
    active = ma.fields.Boolean()
    private_buyer_org_id = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.DateTime()
    effective_terms = ma.fields.Dict(allow_none=True, metadata={"description": "What a buyer may do under this offer: its licence combined with the whole lineage"})
    model_terms = ma.fields.List(ma.fields.Dict(), metadata={"description": "Model-output terms the buyer accepts explicitly (code and text)"})
    model_terms_sha256 = ma.fields.String(allow_none=True, metadata={"description": "Send as accept_model_terms when ordering; null when there are none"})


class OrderCreateSchema(StrictSchema):
    offer_id = ma.fields.UUID(required=True)
    quantity = Int(required=True, strict=True, validate=QUANTITY)
    currency = ma.fields.String(required=True, validate=CURRENCY)
    license_sha256 = ma.fields.String(required=True, validate=validate.Regexp(r"^[0-9a-fA-F]{64}$", error="The SHA-256 of the licence text you accept."))
    payment_method = ma.fields.String(required=True, validate=validate.OneOf(["stripe", "invoice"]))
    buyer_org_id = ma.fields.UUID(load_default=None, allow_none=True)
    accept_model_terms = ma.fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[0-9a-fA-F]{64}$", error="The SHA-256 of the model-output terms you accept."),
                                          metadata={"description": "Required when the data comes under model-output terms: the offer's `model_terms_sha256`"})


class OrderSchema(ma.Schema):
    id = ma.fields.UUID()
    offer_id = ma.fields.UUID()
    buyer_org_id = ma.fields.UUID()
    vendor_org_id = ma.fields.UUID()
    quantity = Int()
    amount_minor = Int()
    platform_fee_minor = Int()
    refunded_minor = Int()
    currency = ma.fields.String()
    accepted_text_sha256 = ma.fields.String()
    accepted_at = ma.fields.DateTime()
    accepted_model_terms = ma.fields.List(ma.fields.Dict(), allow_none=True)
    payment_method = ma.fields.String()
    status = ma.fields.String()
    status_reason = ma.fields.String(allow_none=True)
    number = ma.fields.String(metadata={"description": "The order number to quote on an invoice payment"})
    checkout_url = ma.fields.String(allow_none=True)
    grant_id = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.DateTime()
    paid_at = ma.fields.DateTime(allow_none=True)


class IdempotencyHeaderSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    idempotency_key = ma.fields.String(data_key="Idempotency-Key", load_default=None, validate=validate.Length(min=1, max=200))


class GrantSchema(ma.Schema):
    id = ma.fields.UUID()
    buyer_org_id = ma.fields.UUID()
    vendor_org_id = ma.fields.UUID()
    offer_id = ma.fields.UUID()
    dataset_id = ma.fields.UUID()
    dataset_title = ma.fields.String(allow_none=True, metadata={"description": "The dataset's title (in lists of grants)"})
    version_id = ma.fields.UUID(allow_none=True)
    held_version_id = ma.fields.UUID(allow_none=True, metadata={"description": "A grant for the latest version held on this one: a newer version comes under "
                                                                               "terms the grant does not cover (see POST /grants/{id}/follow-latest)"})
    license_id = ma.fields.UUID()
    accepted_text_sha256 = ma.fields.String()
    accepted_by = ma.fields.UUID()
    accepted_at = ma.fields.DateTime()
    accepted_model_terms = ma.fields.List(ma.fields.Dict(), allow_none=True, metadata={"description": "Model-output terms accepted at checkout"})
    unit = ma.fields.String()
    status = ma.fields.String()
    starts_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime(allow_none=True)
    balance = Int()
    credited = Int()


class LedgerEntrySchema(ma.Schema):
    id = Int()
    kind = ma.fields.String()
    amount = Int()
    reason = ma.fields.String()
    request_id = ma.fields.String()
    order_id = ma.fields.UUID(allow_none=True)
    balance_after = Int()
    created_at = ma.fields.DateTime()


class FollowLatestSchema(StrictSchema):
    accept_model_terms = ma.fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[0-9a-fA-F]{64}$", error="The SHA-256 of the model-output terms you accept."))


class GrantDetailSchema(GrantSchema):
    ledger = ma.fields.List(ma.fields.Nested(LedgerEntrySchema))
    effective_terms = ma.fields.Dict(allow_none=True, metadata={"description": "What the holder may do: the grant's licence combined with the whole lineage of its version (the latest, for grants that follow it)"})


class PayoutAccountSchema(StrictSchema):
    stripe_account_id = ma.fields.String(required=True, validate=validate.Regexp(r"^acct_[A-Za-z0-9]{6,64}$", error="A Stripe Connect account id (acct_...)."))


class WebhookResultSchema(ma.Schema):
    event = ma.fields.String()
    outcome = ma.fields.String()


class OrderCancelSchema(StrictSchema):
    reason = Text(500, load_default=None, allow_none=True)


class OrderRejectSchema(StrictSchema):
    reason = Text(500, required=True, metadata={"description": "Why the vendor declines the order; the buyer sees it"})
