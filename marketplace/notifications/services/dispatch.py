"""The fan-out and the delivery jobs.

`dispatch` turns one committed announcement into, in one transaction: an entry in the centre of
every member of the organisation, an outbox e-mail per member who wants it now (or a mark for
the daily digest), and a delivery per matching webhook endpoint. After commit it queues the
sending. Every job is idempotent and claims its work with a conditional update, so two workers
(or a worker and the sweeper) never send the same attempt twice.

Webhook retries follow the Standard Webhooks schedule: an attempt at once, then after 5 s, 5 min,
30 min, 2 h, 5 h, 10 h and 10 h. Every job takes `now`, so tests drive the schedule on a clock
they control; production passes nothing and gets the wall clock.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from itsdangerous import URLSafeSerializer
from sqlalchemy import CursorResult, or_, select, update

from marketplace.identity.models import Membership, User
from marketplace.kernel import audit, metrics
from marketplace.kernel.config import current_settings
from marketplace.kernel.db import after_commit, end_read, get_session, unit_of_work, utcnow
from marketplace.kernel.jobs import job, job_queue
from marketplace.kernel.notify import DISPATCH_JOB, NotificationEvent, Topic, publish
from marketplace.kernel.principal import Principal
from marketplace.notifications import webhook_sender
from marketplace.notifications.actions import NotificationAction
from marketplace.notifications.mailer import Mail, MailDeliveryFailed, mailer
from marketplace.notifications.models import (
    DeliveryStatus,
    EmailMessage,
    EmailMode,
    EmailPreference,
    EndpointStatus,
    Notification,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from marketplace.notifications.services import render

log = logging.getLogger(__name__)
SYSTEM = Principal(request_id="notifications", ip=None)

RETRY_DELAYS = (timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=5),
                timedelta(hours=10), timedelta(hours=10))
ATTEMPTS = len(RETRY_DELAYS) + 1  # the first attempt, then one per delay
CLAIM_LEASE = timedelta(minutes=2)  # longer than one attempt (timeouts are at most 30 s)
DELIVER_JOB = "notifications.deliver_webhook"
EMAIL_JOB = "notifications.send_email"
ALL_TOPICS = "*"  # a preference row for every topic at once (the unsubscribe-from-everything link)


# --------------------------------------------------------------------------- secrets


def _fernet() -> Fernet:
    key = hashlib.sha256(b"marketplace webhook secrets\n" + current_settings().secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def open_secret(sealed: str) -> str:
    return _fernet().decrypt(sealed.encode()).decode()


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during its overlap."""
    out = [open_secret(endpoint.secret_enc)]
    if endpoint.previous_secret_enc and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
        out.append(open_secret(endpoint.previous_secret_enc))
    return out


# --------------------------------------------------------------------------- unsubscribe tokens


def _unsubscribe_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_settings().secret_key, salt="marketplace-unsubscribe")


def unsubscribe_url(user_id: uuid.UUID, topic: str) -> str:
    """A link that stops `topic` e-mails (or all, for "*") for one user, without signing in."""
    token = _unsubscribe_serializer().dumps({"u": str(user_id), "t": topic})
    return f"{current_settings().public_url.rstrip('/')}/notifications/unsubscribe/{token}"


def read_unsubscribe_token(token: str) -> tuple[uuid.UUID, str] | None:
    try:
        payload = _unsubscribe_serializer().loads(token)
        return uuid.UUID(payload["u"]), str(payload["t"])
    except Exception:  # any malformed or forged token is simply not a token
        return None


# --------------------------------------------------------------------------- fan-out


def email_mode(user_id: uuid.UUID, topic: str) -> EmailMode:
    """A user's choice for a topic: the topic's own row, else the all-topics row, else instant."""
    rows = {p.topic: p.mode for p in get_session().scalars(select(EmailPreference).where(EmailPreference.user_id == user_id,
                                                                                           EmailPreference.topic.in_([topic, ALL_TOPICS])))}
    return EmailMode(rows.get(topic) or rows.get(ALL_TOPICS) or EmailMode.instant)


def _members(org_id: uuid.UUID) -> list[User]:
    return list(get_session().scalars(select(User).join(Membership, Membership.user_id == User.id)
                                      .where(Membership.organization_id == org_id, User.is_active.is_(True)).order_by(User.email)))


@job(DISPATCH_JOB)
def dispatch(event_id: str) -> int:
    """Fan one announcement out (once: the first caller claims it). Returns what it queued."""
    eid = uuid.UUID(event_id)
    queued: list[tuple[str, uuid.UUID]] = []
    with unit_of_work() as session:
        now = utcnow()
        claimed = cast("CursorResult[Any]", session.execute(update(NotificationEvent).where(NotificationEvent.id == eid, NotificationEvent.dispatched_at.is_(None))
                                                             .values(dispatched_at=now))).rowcount
        if not claimed:
            return 0
        ev = session.get_one(NotificationEvent, eid)
        line, path = render.title(ev.topic, ev.data), render.link(ev.data)
        if ev.topic != Topic.WEBHOOK_TEST:
            for user in _members(ev.org_id):
                mode = email_mode(user.id, ev.topic)
                session.add(Notification(user_id=user.id, org_id=ev.org_id, event_id=ev.id, topic=ev.topic, title=line, link=path, created_at=ev.created_at,
                                         read_at=None, digest_pending=mode is EmailMode.digest))
                if mode is EmailMode.instant:
                    queued.append((EMAIL_JOB, _outbox(user, ev.topic, ev.data, line)))
            queued += [(DELIVER_JOB, d) for d in create_deliveries(ev, now)]
        audit.record(SYSTEM, NotificationAction.NOTIFICATION_ANNOUNCED, subject_type="notification", subject_id=ev.id, subject_org_id=ev.org_id,
                     details={"topic": ev.topic, "emails": sum(1 for k, _ in queued if k == EMAIL_JOB), "webhooks": sum(1 for k, _ in queued if k == DELIVER_JOB)})
        for name, item in queued:
            after_commit(_enqueuer(name, item))
    return len(queued)


def on_member_invited(*, invitation: Any, org_name: str, inviter_name: str, secret: str) -> None:
    """E-mail an invitation's link to the invited address (in the inviter's transaction: the
    message commits with the invitation, and is sent after commit). The secret is in the body
    only; the outbox keeps the body for retries, as it does every e-mail."""
    url = current_settings().public_url.rstrip("/") + "/invitations/" + secret
    text, html = render.invitation_bodies(org_name=org_name, inviter_name=inviter_name, role=invitation.role.value, email=invitation.email, url=url,
                                          expires=invitation.expires_at.strftime("%Y-%m-%d %H:%M"))
    msg = EmailMessage(id=uuid.uuid4(), user_id=None, to_address=invitation.email, topic="invitation", subject=f"Join {org_name} on the Dataset Marketplace",
                       text_body=text, html_body=html, unsubscribe_url=None, status="pending", created_at=utcnow())
    get_session().add(msg)
    after_commit(_enqueuer(EMAIL_JOB, msg.id))


def _enqueuer(name: str, item: uuid.UUID) -> Any:
    key = "delivery_id" if name == DELIVER_JOB else "message_id"
    return lambda: job_queue().enqueue(name, **{key: str(item)})


def _outbox(user: User, topic: str, data: dict[str, Any], line: str) -> uuid.UUID:
    stop = unsubscribe_url(user.id, topic)
    text, html = render.bodies(topic, data, user_name=user.name, unsubscribe_url=stop)
    msg = EmailMessage(id=uuid.uuid4(), user_id=user.id, to_address=user.email, topic=topic, subject=line, text_body=text, html_body=html, unsubscribe_url=stop,
                       status="pending", created_at=utcnow())
    get_session().add(msg)
    return msg.id


def create_deliveries(ev: NotificationEvent, now: datetime, only: uuid.UUID | None = None) -> list[uuid.UUID]:
    """A pending delivery, due now, per active endpoint of the organisation that takes the topic
    (or to the one endpoint `only`, whatever its topics: a test message)."""
    session = get_session()
    q = select(WebhookEndpoint).where(WebhookEndpoint.org_id == ev.org_id, WebhookEndpoint.status == EndpointStatus.active)
    if only is not None:
        q = q.where(WebhookEndpoint.id == only)
    out = []
    for ep in session.scalars(q.order_by(WebhookEndpoint.created_at)):
        if ep.topics and ev.topic not in ep.topics and only is None:
            continue
        d = WebhookDelivery(id=uuid.uuid4(), endpoint_id=ep.id, event_id=ev.id, status=DeliveryStatus.pending, attempts=0, next_attempt_at=now, created_at=now)
        session.add(d)
        out.append(d.id)
    return out


# --------------------------------------------------------------------------- webhooks


def payload(ev: NotificationEvent) -> str:
    """The body every attempt of every endpoint gets, byte for byte (Standard Webhooks' shape)."""
    return json.dumps({"type": ev.topic, "timestamp": ev.created_at.isoformat().replace("+00:00", "Z"), "data": ev.data}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)


def message_id(ev: NotificationEvent) -> str:
    return f"msg_{ev.id.hex}"


def _claim(delivery_id: uuid.UUID, now: datetime) -> bool:
    """Take the delivery's due attempt for this worker: nobody else may make it meanwhile, and
    if the worker dies the lease runs out and the sweeper makes it."""
    q = (update(WebhookDelivery).where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == DeliveryStatus.pending, WebhookDelivery.next_attempt_at <= now)
         .values(next_attempt_at=now + CLAIM_LEASE))
    return bool(cast("CursorResult[Any]", get_session().execute(q)).rowcount)


@job(DELIVER_JOB)
def deliver(delivery_id: str, now: datetime | None = None, manual: bool = False) -> WebhookAttempt | None:
    """Make one attempt of a delivery if it is due (or, `manual`, whatever its state), record it
    and schedule the next. The HTTP request runs outside any transaction."""
    did = uuid.UUID(delivery_id)
    now = now or utcnow()
    settings = current_settings()
    with unit_of_work() as session:
        if not manual and not _claim(did, now):
            return None
        d = session.get(WebhookDelivery, did)
        if d is None:  # its endpoint was deleted meanwhile (deliveries go with it)
            return None
        ep = session.get_one(WebhookEndpoint, d.endpoint_id)
        ev = session.get_one(NotificationEvent, d.event_id)
        if ep.status is not EndpointStatus.active and not manual:
            d.status, d.next_attempt_at, d.completed_at = DeliveryStatus.cancelled, None, now
            return None
        body, msg_id = payload(ev), message_id(ev)
        headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": webhook_sender.sign(signing_secrets(ep, now), msg_id, now, body)}
        url = ep.url
    resp = webhook_sender.post(url, body, headers, allow_private=settings.webhook_allow_private, timeout=settings.webhook_timeout_seconds)
    ok = resp.status_code is not None and 200 <= resp.status_code < 300
    with unit_of_work() as session:
        found = session.get(WebhookDelivery, did, with_for_update=True)
        if found is None:  # the endpoint was deleted during the attempt: nothing to record
            return None
        d = found
        ep = session.get_one(WebhookEndpoint, d.endpoint_id, with_for_update=True)
        attempt = WebhookAttempt(id=uuid.uuid4(), delivery_id=d.id, attempted_at=now, trigger="manual" if manual else "schedule", status_code=resp.status_code,
                                 response_ms=resp.elapsed_ms, error=resp.error, response_excerpt=resp.excerpt)
        session.add(attempt)
        d.last_status_code = resp.status_code
        if not manual:
            d.attempts += 1
        if ok:
            d.status, d.next_attempt_at, d.completed_at = DeliveryStatus.succeeded, None, now
            ep.failing_since = None
        else:
            if manual:
                pass  # a manual attempt leaves the schedule as it was
            elif d.attempts < ATTEMPTS:
                d.next_attempt_at = now + RETRY_DELAYS[d.attempts - 1]
            else:
                d.status, d.next_attempt_at, d.completed_at = DeliveryStatus.failed, None, now
            _after_failure(ep, resp, now)
    if not ok:
        metrics.WEBHOOK_FAILURES.labels(_failure_reason(resp)).inc()
    return attempt


def _failure_reason(resp: webhook_sender.Response) -> str:
    """A bounded label for a failed attempt: the status class, or the error's kind."""
    if resp.status_code is not None:
        return f"http_{resp.status_code // 100}xx"
    return (resp.error or "error").split(":", 1)[0].strip().lower().replace(" ", "_")[:40] or "error"


def _after_failure(ep: WebhookEndpoint, resp: webhook_sender.Response, now: datetime) -> None:
    """410 Gone disables an endpoint at once; failing every attempt for N days disables it too,
    and then its organisation is told (by e-mail and the centre: not by that webhook)."""
    if ep.status is not EndpointStatus.active:
        return
    ep.failing_since = ep.failing_since or now
    days = current_settings().webhook_disable_after_days
    if resp.status_code == 410:
        reason = "the receiver answered 410 Gone"
    elif now - ep.failing_since >= timedelta(days=days):
        reason = f"every attempt failed for {days} days"
    else:
        return
    disable(ep, reason, now)


def disable(ep: WebhookEndpoint, reason: str, now: datetime) -> None:
    """Disable an endpoint (inside the caller's unit of work): its pending deliveries end, and
    the organisation hears about it."""
    ep.status, ep.status_reason = EndpointStatus.disabled, reason[:500]
    get_session().execute(update(WebhookDelivery).where(WebhookDelivery.endpoint_id == ep.id, WebhookDelivery.status == DeliveryStatus.pending)
                          .values(status=DeliveryStatus.cancelled, next_attempt_at=None, completed_at=now))
    audit.record(SYSTEM, NotificationAction.WEBHOOK_ENDPOINT_DISABLED, subject_type="webhook_endpoint", subject_id=ep.id, subject_org_id=ep.org_id,
                 details={"reason": reason, "url": ep.url})
    # Every member hears of it: name the host only (a URL's path may carry a receiver's token).
    publish(Topic.WEBHOOK_ENDPOINT_DISABLED, ep.org_id, {"endpoint_id": str(ep.id), "host": urlsplit(ep.url).hostname or "", "description": ep.description,
                                                         "reason": reason})


# --------------------------------------------------------------------------- e-mail


@job(EMAIL_JOB)
def send_email(message_id: str) -> bool:
    """Send one outbox e-mail once (claimed by a conditional update). A mail server that fails
    leaves it failed with the reason; the sweeper tries failed ones again."""
    mid = uuid.UUID(message_id)
    with unit_of_work() as session:
        claimed = cast("CursorResult[Any]", session.execute(update(EmailMessage).where(EmailMessage.id == mid, EmailMessage.status.in_(["pending", "failed"]))
                                                             .values(status="sending"))).rowcount
        if not claimed:
            return False
        m = session.get_one(EmailMessage, mid)
        mail = Mail(to=m.to_address, subject=m.subject, text=m.text_body, html=m.html_body, unsubscribe_url=m.unsubscribe_url)
    error = None
    try:
        mailer().send(mail)
    except MailDeliveryFailed as e:
        error = str(e)
    except Exception as e:  # a message that cannot even be built is failed with its reason, never left 'sending'
        log.exception("could not send an e-mail", extra={"message_id": message_id})
        error = f"{type(e).__name__}: {e}"[:500]
    with unit_of_work() as session:
        m = session.get_one(EmailMessage, mid)
        m.status, m.error, m.sent_at = ("failed", error, None) if error else ("sent", None, utcnow())
    return error is None


def send_digests(now: datetime | None = None) -> int:
    """Send each user who chose a digest one e-mail with everything pending for them."""
    now = now or utcnow()
    sent: list[uuid.UUID] = []
    with unit_of_work() as session:
        pending = list(session.scalars(select(Notification).where(Notification.digest_pending.is_(True)).order_by(Notification.user_id, Notification.created_at)
                                       .with_for_update(skip_locked=session.get_bind().dialect.name == "postgresql")))
        # Someone who left an organisation since hears nothing more of it.
        members = set(session.execute(select(Membership.user_id, Membership.organization_id)
                                      .where(Membership.user_id.in_({n.user_id for n in pending})))) if pending else set()
        for n in pending:
            n.digest_pending = False
        pending = [n for n in pending if (n.user_id, n.org_id) in members]
        by_user: dict[uuid.UUID, list[Notification]] = {}
        for n in pending:
            by_user.setdefault(n.user_id, []).append(n)
        base = current_settings().public_url.rstrip("/")
        for user_id, items in by_user.items():
            user = session.get_one(User, user_id)
            stop = unsubscribe_url(user.id, ALL_TOPICS)
            entries = [{"title": n.title, "url": base + (n.link or "/notifications"), "at": n.created_at} for n in items]
            text, html = render.digest_bodies(entries, user_name=user.name, unsubscribe_url=stop)
            msg = EmailMessage(id=uuid.uuid4(), user_id=user.id, to_address=user.email, topic="digest", subject=f"{len(items)} update(s) from the Dataset Marketplace",
                               text_body=text, html_body=html, unsubscribe_url=stop, status="pending", created_at=now)
            session.add(msg)
            sent.append(msg.id)
        for mid in sent:
            after_commit(_enqueuer(EMAIL_JOB, mid))
    return len(sent)


# --------------------------------------------------------------------------- the sweeper


def sweep(now: datetime | None = None) -> dict[str, int]:
    """The scheduled job (`marketplace jobs notify`, every minute): fan out announcements whose
    job was lost, make every webhook attempt that is due, and retry e-mails that failed."""
    now = now or utcnow()
    session = get_session()
    stale = now - timedelta(minutes=1)
    events = list(session.scalars(select(NotificationEvent.id).where(NotificationEvent.dispatched_at.is_(None), NotificationEvent.created_at <= stale).limit(1000)))
    due = list(session.scalars(select(WebhookDelivery.id).where(WebhookDelivery.status == DeliveryStatus.pending, WebhookDelivery.next_attempt_at <= now)
                               .order_by(WebhookDelivery.next_attempt_at).limit(1000)))
    mails = list(session.scalars(select(EmailMessage.id).where(or_(EmailMessage.status == "failed", EmailMessage.status == "pending"),
                                                               EmailMessage.created_at <= stale).limit(1000)))
    end_read()
    for eid in events:
        _isolated(dispatch, str(eid))
    attempts = sum(1 for did in due if _isolated(deliver, str(did), now=now) is not None)
    for mid in mails:
        _isolated(send_email, str(mid))
    return {"dispatched": len(events), "webhook_attempts": attempts, "emails": len(mails)}


def _isolated(job_fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one item of the sweep; a failure is logged and the sweep goes on, so one tenant's
    broken endpoint or message never holds back everyone else's."""
    try:
        return job_fn(*args, **kwargs)
    except Exception:
        log.exception("notification job failed", extra={"job": getattr(job_fn, "__name__", "?"), "item": args[0] if args else None})
        return None

