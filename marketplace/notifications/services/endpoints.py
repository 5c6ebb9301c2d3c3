"""Webhook endpoints: register, change, rotate the secret, delete, send a test, read the delivery
log and redeliver. An organisation's owners and admins do all of it (the policy table); another
organisation's endpoint is not found."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from marketplace.kernel import audit, notify
from marketplace.kernel.config import current_settings
from marketplace.kernel.db import get_session, transactional, unit_of_work, utcnow
from marketplace.kernel.errors import Conflict, NotFound, ValidationFailed
from marketplace.kernel.notify import NotificationEvent, Topic
from marketplace.kernel.principal import Principal
from marketplace.kernel.schemas import UNSAFE_TEXT
from marketplace.notifications import webhook_sender
from marketplace.notifications.actions import NotificationAction
from marketplace.notifications.models import DeliveryStatus, EndpointStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from marketplace.notifications.policy import POLICY
from marketplace.notifications.policy import NotificationPermission as Perm
from marketplace.notifications.services import dispatch

MAX_ENDPOINTS_PER_ORG = 20
SUBSCRIBABLE = [t.value for t in notify.SUBSCRIBABLE]


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _check_url(url: str) -> str:
    """Refuse what could never be delivered: a bad scheme or host, or (unless the operator allows
    private targets) a host that resolves into a private network. A name that does not resolve yet
    is accepted. Delivery checks again, every time."""
    try:
        _, host, port, _ = webhook_sender.check_url(url)
        webhook_sender.resolve(host, port, allow_private=current_settings().webhook_allow_private)
    except webhook_sender.Unresolvable:
        pass  # a name not in DNS yet is the receiver's to fix; every attempt says so in the log
    except webhook_sender.UnsafeTarget as e:
        raise ValidationFailed(f"This URL cannot receive webhooks: {e}.", errors={"url": [str(e)]}) from None
    return url


def _plain(field: str, value: str) -> str:
    """What people read in the endpoint list and its notices: no control, invisible or
    bidirectional-override characters, whichever channel (API or page) sent it."""
    if UNSAFE_TEXT.search(value):
        raise ValidationFailed(f"The {field} contains control, invisible or bidirectional-override characters.", errors={field: ["Plain text only."]})
    return value


def _topics(topics: list[str]) -> list[str]:
    unknown = sorted(set(topics) - set(SUBSCRIBABLE))
    if unknown:
        raise ValidationFailed("Unknown event types.", errors={"topics": [f"Unknown: {', '.join(unknown)[:200]}. Known: {', '.join(SUBSCRIBABLE)}."]})
    return sorted(set(topics))


def _endpoint(principal: Principal, endpoint_id: uuid.UUID, action: Perm, *, lock: bool = False) -> WebhookEndpoint:
    ep = get_session().get(WebhookEndpoint, endpoint_id, with_for_update=lock)
    if ep is None:
        raise NotFound("No such webhook endpoint.")
    POLICY.require(principal, action, org=ep.org_id, hidden_as="No such webhook endpoint.")
    return ep


@transactional
def create_endpoint(principal: Principal, org_id: uuid.UUID, *, url: str, description: str = "", topics: list[str] | None = None) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its signing secret, which is never shown again."""
    POLICY.require(principal, Perm.ENDPOINT_MANAGE, org=org_id)
    session = get_session()
    count = session.scalar(select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.org_id == org_id)) or 0
    if count >= MAX_ENDPOINTS_PER_ORG:
        raise Conflict(f"An organisation can have at most {MAX_ENDPOINTS_PER_ORG} webhook endpoints.")
    secret = new_secret()
    ep = WebhookEndpoint(id=uuid.uuid4(), org_id=org_id, url=_check_url(_plain("url", url)), description=_plain("description", description), topics=_topics(topics or []),
                         secret_enc=dispatch.seal_secret(secret), status=EndpointStatus.active, created_by=principal.user_id, created_at=utcnow())
    session.add(ep)
    audit.record(principal, NotificationAction.WEBHOOK_ENDPOINT_CREATE, subject_type="webhook_endpoint", subject_id=ep.id, subject_org_id=org_id,
                 actor_org_id=org_id, details={"url": ep.url, "topics": ep.topics})
    return ep, secret


def list_endpoints(principal: Principal, org_id: uuid.UUID) -> list[WebhookEndpoint]:
    POLICY.require(principal, Perm.ENDPOINT_READ, org=org_id)
    return list(get_session().scalars(select(WebhookEndpoint).where(WebhookEndpoint.org_id == org_id).order_by(WebhookEndpoint.created_at)))


def get_endpoint(principal: Principal, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    return _endpoint(principal, endpoint_id, Perm.ENDPOINT_READ)


@transactional
def update_endpoint(principal: Principal, endpoint_id: uuid.UUID, *, url: str | None = None, description: str | None = None,
                    topics: list[str] | None = None, enabled: bool | None = None) -> WebhookEndpoint:
    """Change an endpoint; enabling a disabled one starts it afresh (its failure clock too)."""
    ep = _endpoint(principal, endpoint_id, Perm.ENDPOINT_MANAGE, lock=True)
    changed: dict[str, Any] = {}
    if url is not None and url != ep.url:
        ep.url = changed["url"] = _check_url(_plain("url", url))
    if description is not None:
        ep.description = changed["description"] = _plain("description", description)
    if topics is not None:
        ep.topics = changed["topics"] = _topics(topics)
    if enabled is True and ep.status is EndpointStatus.disabled:
        ep.status, ep.status_reason, ep.failing_since = EndpointStatus.active, None, None
        changed["enabled"] = True
    elif enabled is False and ep.status is EndpointStatus.active:
        dispatch.disable(ep, "disabled by the organisation", utcnow())
        changed["enabled"] = False
    audit.record(principal, NotificationAction.WEBHOOK_ENDPOINT_UPDATE, subject_type="webhook_endpoint", subject_id=ep.id, subject_org_id=ep.org_id,
                 actor_org_id=ep.org_id, details=changed)
    return ep


@transactional
def delete_endpoint(principal: Principal, endpoint_id: uuid.UUID) -> None:
    """Delete an endpoint and its delivery log."""
    ep = _endpoint(principal, endpoint_id, Perm.ENDPOINT_MANAGE, lock=True)
    audit.record(principal, NotificationAction.WEBHOOK_ENDPOINT_DELETE, subject_type="webhook_endpoint", subject_id=ep.id, subject_org_id=ep.org_id,
                 actor_org_id=ep.org_id, details={"url": ep.url})
    get_session().delete(ep)


@transactional
def rotate_secret(principal: Principal, endpoint_id: uuid.UUID) -> tuple[WebhookEndpoint, str]:
    """A new signing secret (shown once). The previous one keeps signing beside it for the
    operator's overlap (24 h by default), so a receiver can switch without losing a message."""
    ep = _endpoint(principal, endpoint_id, Perm.ENDPOINT_MANAGE, lock=True)
    secret = new_secret()
    now = utcnow()
    ep.previous_secret_enc, ep.previous_secret_until = ep.secret_enc, now + timedelta(hours=current_settings().webhook_rotation_overlap_hours)
    ep.secret_enc = dispatch.seal_secret(secret)
    audit.record(principal, NotificationAction.WEBHOOK_ENDPOINT_ROTATE, subject_type="webhook_endpoint", subject_id=ep.id, subject_org_id=ep.org_id,
                 actor_org_id=ep.org_id, details={"previous_signs_until": ep.previous_secret_until.isoformat()})
    return ep, secret


def send_test(principal: Principal, endpoint_id: uuid.UUID) -> WebhookAttempt:
    """Send a `webhook.test` message to one endpoint now and return the attempt (it is in the
    delivery log, and retried on the schedule like any other if it fails)."""
    with unit_of_work() as session:
        ep = _endpoint(principal, endpoint_id, Perm.ENDPOINT_MANAGE)
        if ep.status is not EndpointStatus.active:
            raise Conflict("The endpoint is disabled; enable it first.")
        now = utcnow()
        ev = NotificationEvent(id=uuid.uuid4(), topic=Topic.WEBHOOK_TEST.value, org_id=ep.org_id, data={"endpoint_id": str(ep.id), "message": "A test message."},
                               dedupe=None, created_at=now, dispatched_at=now)
        session.add(ev)
        session.flush()
        (delivery_id,) = dispatch.create_deliveries(ev, now, only=ep.id)
        audit.record(principal, NotificationAction.WEBHOOK_TEST, subject_type="webhook_endpoint", subject_id=ep.id, subject_org_id=ep.org_id, actor_org_id=ep.org_id)
    attempt = dispatch.deliver(str(delivery_id), now=now)
    if attempt is None:  # the endpoint was deleted (or the message claimed) in the meantime
        raise Conflict("The endpoint changed while the test message was being sent; try again.")
    return attempt


def deliveries(principal: Principal, endpoint_id: uuid.UUID, *, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The delivery log, newest first: each delivery with its message, status and attempts."""
    ep = _endpoint(principal, endpoint_id, Perm.ENDPOINT_READ)
    session = get_session()
    q = select(WebhookDelivery, NotificationEvent).join(NotificationEvent, NotificationEvent.id == WebhookDelivery.event_id).where(WebhookDelivery.endpoint_id == ep.id)
    if status:
        q = q.where(WebhookDelivery.status == DeliveryStatus(status))
    rows = list(session.execute(q.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id).limit(limit)))
    attempts: dict[uuid.UUID, list[WebhookAttempt]] = {}
    if rows:
        for a in session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_([d.id for d, _ in rows])).order_by(WebhookAttempt.attempted_at)):
            attempts.setdefault(a.delivery_id, []).append(a)
    return [{"id": d.id, "message_id": dispatch.message_id(ev), "topic": ev.topic, "status": d.status.value, "attempts": attempts.get(d.id, []),
             "next_attempt_at": d.next_attempt_at if d.status == DeliveryStatus.pending else None, "created_at": d.created_at, "completed_at": d.completed_at,
             "last_status_code": d.last_status_code, "payload": dispatch.payload(ev)} for d, ev in rows]


def redeliver(principal: Principal, endpoint_id: uuid.UUID, delivery_id: uuid.UUID) -> WebhookAttempt:
    """Send one delivery again now, with the same `webhook-id` (receivers de-duplicate on it)."""
    with unit_of_work() as session:
        ep = _endpoint(principal, endpoint_id, Perm.ENDPOINT_MANAGE)
        d = session.get(WebhookDelivery, delivery_id)
        if d is None or d.endpoint_id != ep.id:
            raise NotFound("No such delivery.")
        if ep.status is not EndpointStatus.active:
            raise Conflict("The endpoint is disabled; enable it first.")
        audit.record(principal, NotificationAction.WEBHOOK_REDELIVER, subject_type="webhook_delivery", subject_id=d.id, subject_org_id=ep.org_id, actor_org_id=ep.org_id)
    attempt = dispatch.deliver(str(delivery_id), manual=True)
    if attempt is None:  # the endpoint was deleted in the meantime
        raise NotFound("No such delivery.")
    return attempt

