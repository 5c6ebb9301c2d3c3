"""Commerce models: offers, orders, licence grants, the quota ledger and processed Stripe events."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.kernel.db import Base, new_id, str_enum, utcnow


class PricingUnit(enum.StrEnum):
    records = "records"
    gib = "gib"
    downloads = "downloads"
    term = "term"  # unlimited access for the term
    hours = "hours"  # hours of audio or video delivered, metered in milliseconds


class OrderStatus(enum.StrEnum):
    pending_payment = "pending_payment"
    paid = "paid"
    failed = "failed"
    refunded = "refunded"
    disputed = "disputed"
    cancelled = "cancelled"


class GrantStatus(enum.StrEnum):
    active = "active"
    suspended = "suspended"  # a dispute is open
    revoked = "revoked"
    expired = "expired"


class Offer(Base):
    __tablename__ = "offers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="RESTRICT"), index=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"), index=True)
    version_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("dataset_versions.id", ondelete="RESTRICT"))  # None: latest, with updates
    license_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("licenses.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(200))
    pricing_unit: Mapped[str] = mapped_column(str_enum(PricingUnit, "pricing_unit"))
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    included_quota: Mapped[int] = mapped_column(BigInteger, default=0)
    tiers: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"from": units, "unit_price_minor": n}], volume pricing
    min_quantity: Mapped[int] = mapped_column(BigInteger, default=1)
    term_days: Mapped[int | None] = mapped_column(Integer)  # None: perpetual
    free_sample: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    # No foreign key on purpose: an offer may name any organisation id, existing or not, so that
    # creating one never tells a vendor whether an organisation exists (an id that names nobody
    # simply makes an offer no one can see).
    private_buyer_org_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("buyer_org_id", "idempotency_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    offer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("offers.id", ondelete="RESTRICT"), index=True)
    buyer_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"), index=True)
    vendor_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"), index=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    platform_fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    license_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("licenses.id", ondelete="RESTRICT"))
    accepted_text_sha256: Mapped[str] = mapped_column(String(64))
    accepted_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Model-output terms the buyer accepted explicitly (code and text each); None: there were none.
    accepted_model_terms: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    payment_method: Mapped[str] = mapped_column(String(16))  # stripe | invoice
    status: Mapped[str] = mapped_column(str_enum(OrderStatus, "order_status"), default=OrderStatus.pending_payment)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    checkout_session_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(String(2000))
    payment_intent_id: Mapped[str | None] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]
    grant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("grants.id", ondelete="RESTRICT"))
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # Why an order ended without payment (cancelled by the buyer, rejected by the vendor).
    status_reason: Mapped[str | None] = mapped_column(String(500))

    @property
    def number(self) -> str:
        """The reference a buyer quotes when paying an invoice, shown alike to buyer and vendor."""
        return "ORD-" + self.id.hex[:10].upper()
    # Stripe's `created` of the last event applied: an older event arriving late changes nothing.
    last_event_created: Mapped[int] = mapped_column(BigInteger, default=0)


class Grant(Base):
    """A buyer organisation's licence to a dataset under one offer, with its quota account.

    `balance` and `credited` are kept in step with the ledger in the same transaction as each
    entry, so check-and-debit is one conditional UPDATE; the ledger remains the record (a test
    checks that the two always agree)."""

    __tablename__ = "grants"
    __table_args__ = (UniqueConstraint("buyer_org_id", "offer_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    buyer_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"), index=True)
    vendor_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"), index=True)
    offer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("offers.id", ondelete="RESTRICT"))
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="RESTRICT"), index=True)
    version_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("dataset_versions.id", ondelete="RESTRICT"))
    license_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("licenses.id", ondelete="RESTRICT"))
    accepted_text_sha256: Mapped[str] = mapped_column(String(64))
    accepted_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    accepted_at: Mapped[datetime]
    accepted_model_terms: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    # A grant for "latest" follows new versions only while its licence and the model-output terms
    # accepted cover them; otherwise it stays on this version until the holder accepts the new terms.
    held_version_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("dataset_versions.id", ondelete="RESTRICT"))
    unit: Mapped[str] = mapped_column(str_enum(PricingUnit, "grant_unit"))
    status: Mapped[str] = mapped_column(str_enum(GrantStatus, "grant_status"), default=GrantStatus.active)
    starts_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    credited: Mapped[int] = mapped_column(BigInteger, default=0)
    warned_at_bp: Mapped[int] = mapped_column(Integer, default=0)  # highest usage threshold (basis points) already announced
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuotaEntry(Base):
    """Append-only ledger of a grant's quota: credits from orders and top-ups, debits from
    deliveries. A debit's request id is unique per grant, which makes debits idempotent."""

    __tablename__ = "quota_entries"
    __table_args__ = (UniqueConstraint("grant_id", "request_id"), Index("ix_quota_entries_grant", "grant_id", "id"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    grant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("grants.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(8))  # credit | debit
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str] = mapped_column(String(128))
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"))
    balance_after: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StripeEvent(Base):
    """Every webhook event processed, by Stripe's event id: the second delivery is a no-op."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    created: Mapped[int] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
