"""Notification models: webhook endpoints, their deliveries and every attempt, the notification
centre's entries, e-mail preferences and the e-mail outbox.

The announcements themselves (`notification_events`) live in the kernel, so every layer can
publish them; these tables record what was done with each one, per channel.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.kernel.db import Base, new_id, str_enum, utcnow


class EndpointStatus(enum.StrEnum):
    active = "active"
    disabled = "disabled"  # by its organisation, by a 410 Gone, or after days of failures


class DeliveryStatus(enum.StrEnum):
    pending = "pending"  # an attempt is due at next_attempt_at
    succeeded = "succeeded"
    failed = "failed"  # every scheduled attempt failed (a manual redelivery may still succeed)
    cancelled = "cancelled"  # the endpoint was disabled or deleted first


class EmailMode(enum.StrEnum):
    instant = "instant"
    digest = "digest"  # collected into one e-mail a day
    off = "off"


class WebhookEndpoint(Base):
    """Where an organisation wants its announcements POSTed, signed per Standard Webhooks."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    topics: Mapped[list[str]]  # the topics it receives; empty: every topic
    # Encrypted with a key derived from the server's secret: the secret must sign, so it cannot
    # be stored as a one-way hash; it is shown to the organisation once, when made.
    secret_enc: Mapped[str] = mapped_column(Text)
    # After a rotation the previous secret also signs until this time, so receivers can switch.
    previous_secret_enc: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[datetime | None]
    status: Mapped[EndpointStatus] = mapped_column(str_enum(EndpointStatus, "endpoint_status"), default=EndpointStatus.active)
    status_reason: Mapped[str | None] = mapped_column(String(500))
    failing_since: Mapped[datetime | None]  # the first failure since the last success
    created_by: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One announcement to one endpoint: its `webhook-id` never changes across retries."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notification_events.id", ondelete="RESTRICT"))
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # scheduled attempts made (manual ones are not counted)
    next_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]


class WebhookAttempt(Base):
    """One HTTP request of a delivery: the delivery log an organisation reads."""

    __tablename__ = "webhook_attempts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime]
    trigger: Mapped[str] = mapped_column(String(16))  # schedule or manual
    status_code: Mapped[int | None]
    response_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(String(500))
    response_excerpt: Mapped[str | None] = mapped_column(String(1000))


class Notification(Base):
    """An entry in one user's notification centre (the bell)."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "event_id"),
        Index("ix_notifications_user_unread", "user_id", "read_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notification_events.id", ondelete="RESTRICT"))
    topic: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    # The user chose a daily digest for this topic: set until the digest that carries it is sent.
    digest_pending: Mapped[bool] = mapped_column(default=False)


class EmailPreference(Base):
    """How one user wants one topic by e-mail (no row: instantly). The centre always shows it."""

    __tablename__ = "email_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    mode: Mapped[EmailMode] = mapped_column(str_enum(EmailMode, "email_mode"))


class EmailMessage(Base):
    """The outbox: every e-mail, written in the fan-out's transaction and sent after it."""

    __tablename__ = "email_messages"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    to_address: Mapped[str] = mapped_column(String(320))
    topic: Mapped[str] = mapped_column(String(64))  # or "digest"
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    unsubscribe_url: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, sent, failed
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
