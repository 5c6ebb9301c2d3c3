"""The notification centre (the bell), e-mail preferences and the unsubscribe link.

Everything here belongs to one user: queries filter on the caller, so another user's entry is
not found (404), never forbidden.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update

from marketplace.identity.models import User
from marketplace.kernel import audit
from marketplace.kernel.db import get_session, transactional, utcnow
from marketplace.kernel.errors import NotFound, Unauthenticated, ValidationFailed
from marketplace.kernel.notify import SUBSCRIBABLE, TOPIC_TITLES
from marketplace.kernel.principal import Principal
from marketplace.notifications.actions import NotificationAction
from marketplace.notifications.models import EmailMode, EmailPreference, Notification
from marketplace.notifications.policy import POLICY
from marketplace.notifications.policy import NotificationPermission as Perm
from marketplace.notifications.services.dispatch import ALL_TOPICS, SYSTEM, read_unsubscribe_token

PREFERENCE_TOPICS = SUBSCRIBABLE


def _user(principal: Principal, action: Perm) -> uuid.UUID:
    POLICY.require(principal, action)
    if principal.user_id is None:
        raise Unauthenticated("Sign in or send an API key: Authorization: Bearer <key>.")
    return principal.user_id


def _mine(principal: Principal, uid: uuid.UUID) -> Any:
    """The caller's entries: a signed-in user's in the organisations they belong to now, or,
    with an API key, only those of the key's organisation."""
    cond = Notification.user_id == uid
    if principal.key_org_id is not None:
        cond = and_(cond, Notification.org_id == principal.key_org_id)
    # Only organisations the user still belongs to: a removed member reads nothing more of one.
    return and_(cond, Notification.org_id.in_(list(principal.memberships) or [uuid.UUID(int=0)]))


def list_notifications(principal: Principal, *, unread: bool = False, before: datetime | None = None, limit: int = 50) -> dict[str, Any]:
    """The caller's notifications, newest first, with the unread count."""
    uid = _user(principal, Perm.CENTRE)
    q = select(Notification).where(_mine(principal, uid))
    if unread:
        q = q.where(Notification.read_at.is_(None))
    if before is not None:
        q = q.where(Notification.created_at < before)
    items = list(get_session().scalars(q.order_by(Notification.created_at.desc(), Notification.id).limit(limit)))
    return {"items": items, "unread": unread_count(principal)}


def unread_count(principal: Principal) -> int:
    """How many of the caller's notifications are unread (the bell's number)."""
    if not principal.authenticated or principal.user_id is None:
        return 0
    return get_session().scalar(select(func.count()).select_from(Notification).where(_mine(principal, principal.user_id), Notification.read_at.is_(None))) or 0


@transactional
def mark_read(principal: Principal, *, ids: list[uuid.UUID] | None = None, everything: bool = False) -> int:
    """Mark the caller's notifications read: the listed ones, or all. Another user's id is not
    found. Returns how many changed."""
    uid = _user(principal, Perm.CENTRE)
    if not everything and not ids:
        raise ValidationFailed("Name the notifications to mark read, or ask for all.", errors={"ids": ["Give ids, or all=true."]})
    session = get_session()
    q = update(Notification).where(_mine(principal, uid), Notification.read_at.is_(None))
    if not everything:
        wanted = set(ids or [])
        mine = set(session.scalars(select(Notification.id).where(_mine(principal, uid), Notification.id.in_(wanted))))
        if wanted - mine:
            raise NotFound("No such notification.")
        q = q.where(Notification.id.in_(wanted))
    return int(session.execute(q.values(read_at=utcnow())).rowcount)  # type: ignore[attr-defined]


def preferences(principal: Principal) -> list[dict[str, str]]:
    """Every topic with the caller's e-mail choice for it (instant when never set)."""
    uid = _user(principal, Perm.PREFERENCES)
    return _preferences(uid)


def _preferences(uid: uuid.UUID) -> list[dict[str, str]]:
    rows = {p.topic: p.mode.value for p in get_session().scalars(select(EmailPreference).where(EmailPreference.user_id == uid))}
    default = rows.get(ALL_TOPICS, EmailMode.instant.value)
    return [{"topic": t.value, "title": TOPIC_TITLES[t], "email": rows.get(t.value, default)} for t in PREFERENCE_TOPICS]


@transactional
def set_preferences(principal: Principal, choices: dict[str, str]) -> list[dict[str, str]]:
    """Set the caller's e-mail choice per topic (instant, digest or off)."""
    uid = _user(principal, Perm.PREFERENCES)
    known = {t.value for t in PREFERENCE_TOPICS}
    bad = sorted(k for k in choices if k not in known)
    if bad:
        raise ValidationFailed("Unknown event types.", errors={"preferences": [f"Unknown: {', '.join(bad)[:200]}."]})
    for topic, mode in choices.items():
        _set(uid, topic, EmailMode(mode))
    audit.record(principal, NotificationAction.EMAIL_PREFERENCES, subject_type="user", subject_id=uid, details={"preferences": dict(sorted(choices.items()))})
    return _preferences(uid)


def _set(uid: uuid.UUID, topic: str, mode: EmailMode) -> None:
    session = get_session()
    row = session.get(EmailPreference, (uid, topic), with_for_update=True)
    if row is None:
        session.add(EmailPreference(user_id=uid, topic=topic, mode=mode))
    else:
        row.mode = mode


def unsubscribe_target(token: str) -> tuple[User, str] | None:
    """Whose e-mail and which topic a link stops (None for a forged or malformed token)."""
    found = read_unsubscribe_token(token)
    if found is None:
        return None
    user = get_session().get(User, found[0])
    if user is None or (found[1] != ALL_TOPICS and found[1] not in {t.value for t in PREFERENCE_TOPICS}):
        return None
    return user, found[1]


@transactional
def unsubscribe(token: str) -> tuple[User, str]:
    """Stop one topic's e-mails (or all) for the user the signed link names, without signing in.
    Repeating it changes nothing more."""
    target = unsubscribe_target(token)
    if target is None:
        raise NotFound("This unsubscribe link is not valid.")
    user, topic = target
    if topic == ALL_TOPICS:
        # "Everything" means every topic, including ones the user had set one by one.
        for t in PREFERENCE_TOPICS:
            _set(user.id, t.value, EmailMode.off)
    _set(user.id, topic, EmailMode.off)
    audit.record(SYSTEM, NotificationAction.EMAIL_UNSUBSCRIBE, subject_type="user", subject_id=user.id, details={"topic": topic})
    return user, topic
