"""The notification outbox: what happened, to whom, written in the same transaction as the change.

A service that changes something people should hear about calls :func:`publish` inside its unit
of work, next to its audit event. The row commits or rolls back with the change (a transactional
outbox), and after commit a job fans it out to the organisation's webhook endpoints, its members'
notification centres and their e-mail (the notifications domain). The kernel holds the table and
the topics so that every layer (catalog, licensing, commerce) can publish without importing the
domain that delivers.

Each event is addressed to one organisation and carries only what that organisation may see; an
event two organisations should hear about (an order: its buyer and its vendor) is published once
to each, with each one's own payload. A `dedupe` key makes an announcement happen once however
many transactions race to make it (a quota threshold, "grant expires in 7 days").
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.kernel.db import Base, after_commit, insert_ignore_returning, utcnow
from marketplace.kernel.jobs import job_queue


class Topic(enum.StrEnum):
    """Every notification type: the webhook payload's `type`, the e-mail template's name, the
    preference a user sets. Values are stable API."""

    ORDER_PAID = "order.paid"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_REJECTED = "order.rejected"
    GRANT_CREATED = "grant.created"
    GRANT_EXPIRING = "grant.expiring"
    GRANT_EXPIRED = "grant.expired"
    GRANT_REVOKED = "grant.revoked"
    QUOTA_THRESHOLD = "quota.threshold"
    VERSION_PUBLISHED = "version.published"
    VERSION_WITHDRAWN = "version.withdrawn"
    INGEST_FINISHED = "ingest.finished"
    INGEST_FAILED = "ingest.failed"
    OVERLAP_FOUND = "overlap.found"
    ACCESS_REQUEST_RECEIVED = "access_request.received"
    ACCESS_REQUEST_APPROVED = "access_request.approved"
    ACCESS_REQUEST_REJECTED = "access_request.rejected"
    ACCESS_REQUEST_OVERDUE = "access_request.overdue"
    WEBHOOK_ENDPOINT_DISABLED = "webhook.endpoint_disabled"
    WEBHOOK_TEST = "webhook.test"


# What each topic is, for people (the preferences page, the API documentation).
TOPIC_TITLES: dict[Topic, str] = {
    Topic.ORDER_PAID: "An order was paid",
    Topic.ORDER_CANCELLED: "An order was cancelled",
    Topic.ORDER_REJECTED: "An order was rejected",
    Topic.GRANT_CREATED: "A licence grant was created",
    Topic.GRANT_EXPIRING: "A licence grant expires in 7 days",
    Topic.GRANT_EXPIRED: "A licence grant expired",
    Topic.GRANT_REVOKED: "A licence grant was revoked",
    Topic.QUOTA_THRESHOLD: "A quota reached 80, 95 or 100 % use",
    Topic.VERSION_PUBLISHED: "A new version of a dataset you hold was published",
    Topic.VERSION_WITHDRAWN: "A version of a dataset you hold was withdrawn",
    Topic.INGEST_FINISHED: "A version you uploaded was checked and published",
    Topic.INGEST_FAILED: "A version you uploaded failed its checks",
    Topic.OVERLAP_FOUND: "Records of a dataset you published were found in another vendor's new version",
    Topic.ACCESS_REQUEST_RECEIVED: "An organisation asked for access to your dataset",
    Topic.ACCESS_REQUEST_APPROVED: "Your access request was approved",
    Topic.ACCESS_REQUEST_REJECTED: "Your access request was rejected",
    Topic.ACCESS_REQUEST_OVERDUE: "An access request waits longer than your stated response time",
    Topic.WEBHOOK_ENDPOINT_DISABLED: "A webhook endpoint was disabled",
    Topic.WEBHOOK_TEST: "A test message sent to a webhook endpoint",
}

# What an organisation can subscribe an endpoint to and a user can choose e-mail for: every
# topic but the test message an endpoint's owner sends on demand.
SUBSCRIBABLE: tuple[Topic, ...] = tuple(sorted((t for t in Topic if t is not Topic.WEBHOOK_TEST), key=lambda t: t.value))

DISPATCH_JOB = "notifications.dispatch"


class NotificationEvent(Base):
    """One announcement to one organisation. Append-only: the notifications domain records its
    fan-out (`dispatched_at`) and everything it sent in its own tables."""

    __tablename__ = "notification_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[uuid.UUID] = mapped_column(index=True)
    # The payload exactly as every channel shows it: the webhook's `data`, the e-mail's fields.
    data: Mapped[dict[str, Any]]
    # Unique: the same announcement (a threshold of one grant's credit, an expiry warning) is
    # made once however many transactions race to make it.
    dedupe: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None] = mapped_column(index=True)


def publish(topic: Topic, org_id: uuid.UUID, data: dict[str, Any], *, dedupe: str | None = None) -> uuid.UUID | None:
    """Announce `topic` to organisation `org_id` inside the current unit of work. Returns the
    event's id, or None when `dedupe` says it was announced already. The fan-out runs after
    commit (never if the change rolls back); a sweeper picks up any whose job was lost."""
    if not isinstance(topic, Topic):
        raise TypeError(f"notification topics come from notify.Topic, not {topic!r}")
    event_id = uuid.uuid4()
    # Through the same race-free insert as idempotent debits: a concurrent duplicate waits for
    # the first transaction and then finds the key taken.
    created = insert_ignore_returning(NotificationEvent, NotificationEvent.id, id=event_id, topic=topic.value, org_id=org_id, data=data,
                                      dedupe=dedupe, created_at=utcnow(), dispatched_at=None)
    if created is None:
        return None
    after_commit(lambda: job_queue().enqueue(DISPATCH_JOB, event_id=str(event_id)))
    return event_id
