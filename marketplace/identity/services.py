"""Identity services: registration, login, organisations, members, API keys, vendor approval.

Each public function is one unit of work: permission check, business rules, audit event.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import marshmallow as ma
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from marketplace.identity.actions import IdentityAction
from marketplace.identity.keycache import EPOCH, current_epoch, key_cache
from marketplace.identity.models import ApiKey, BrowserSession, Invitation, Membership, Organization, OrgRole, User, VendorStatus
from marketplace.identity.passwords import hash_password, needs_rehash, verify_password
from marketplace.identity.policy import POLICY
from marketplace.identity.policy import IdentityPermission as Perm
from marketplace.kernel import audit, events
from marketplace.kernel.db import get_session, transactional, unit_of_work, utcnow
from marketplace.kernel.errors import Conflict, Forbidden, Gone, NotFound, Unauthenticated, ValidationFailed
from marketplace.kernel.principal import SCOPES, Principal

if TYPE_CHECKING:
    from sqlalchemy import CursorResult

_EMAIL = ma.validate.Email()
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
KEY_PREFIX = "mk_"
# last_used_at is a convenience, not an audit record: refresh it at most this often so that a
# busy key does not turn every read into a write.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def _normalise_email(email: str) -> str:
    return email.strip().lower()


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:64].strip("-") or "org"


# --------------------------------------------------------------------------- users and login


@transactional
def register_user(principal: Principal, *, email: str, password: str, name: str, organization_name: str | None = None) -> User:
    """Create a user; when `organization_name` is given, also an organisation it owns."""
    session = get_session()
    email = _normalise_email(email)
    try:
        _EMAIL(email)
    except ma.ValidationError:
        raise ValidationFailed("Not a valid e-mail address.", errors={"email": ["Not a valid e-mail address."]}) from None
    if len(password) < 10:
        raise ValidationFailed("The password is too short.", errors={"password": ["Use at least 10 characters."]})
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict("An account with this e-mail address already exists.", errors={"email": ["Already registered."]})
    user = User(email=email, name=name.strip(), password_hash=hash_password(password))
    session.add(user)
    session.flush()
    audit.record(replace(principal, user_id=user.id), IdentityAction.USER_REGISTER, subject_type="user", subject_id=user.id)
    if organization_name:
        _create_org(principal_for(user, principal), organization_name, None)
    return user


def principal_for(user: User, base: Principal, *, memberships: dict[uuid.UUID, OrgRole] | None = None) -> Principal:
    return replace(
        base,
        user_id=user.id,
        email=user.email,
        is_platform_admin=user.is_platform_admin,
        is_platform_compliance=user.is_platform_compliance,
        memberships=memberships if memberships is not None else _memberships(user.id),
    )


def act_as_member(base: Principal, user_id: uuid.UUID, org_id: uuid.UUID, *, scopes: frozenset[str], made_at: datetime) -> Principal | None:
    """The principal of a credential a member made for its organisation at `made_at` (a Delta
    Sharing token): the member as they are now, acting for that organisation only, with
    `scopes`. None when the user is disabled or gone, or no longer belongs to the organisation,
    or joined it again since (a removal ends the member's credentials for good): the credential
    then acts for nobody, as an API key of a member who left."""
    user = get_session().get(User, user_id)
    if user is None or not user.is_active:
        return None
    since = get_session().scalar(select(Membership.created_at).where(Membership.user_id == user_id, Membership.organization_id == org_id))
    if since is None or since > made_at:
        return None
    memberships = _memberships(user_id)
    if org_id not in memberships:
        return None
    return replace(principal_for(user, base, memberships=memberships), key_org_id=org_id, scopes=scopes)


def _memberships(user_id: uuid.UUID) -> dict[uuid.UUID, OrgRole]:
    rows = get_session().execute(select(Membership.organization_id, Membership.role).where(Membership.user_id == user_id))
    return {org_id: role for org_id, role in rows}


@transactional
def authenticate(principal: Principal, *, email: str, password: str) -> User:
    """Check a password login. Failures are audited and answer the same whatever was wrong."""
    session = get_session()
    email = _normalise_email(email)
    user = session.scalar(select(User).where(User.email == email))
    if user is None or not verify_password(user.password_hash, password) or not user.is_active:
        audit.record(
            principal,
            IdentityAction.AUTH_LOGIN,
            outcome="denied",
            subject_type="user",
            subject_id=user.id if user else None,
            details={"email": email[:320]},
        )
        raise Unauthenticated("Wrong e-mail address or password.")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    audit.record(replace(principal, user_id=user.id), IdentityAction.AUTH_LOGIN, subject_type="user", subject_id=user.id)
    return user


# --------------------------------------------------------------------------- browser sessions

# last_seen_at, like an API key's last_used_at, is refreshed at most this often.
SESSION_SEEN_RESOLUTION = timedelta(seconds=60)


@transactional
def open_browser_session(base: Principal, user_id: uuid.UUID, *, user_agent: str | None, replaces: str | None = None) -> str:
    """Record a new signed-in browser for `user_id`; returns the token for its cookie (shown once).
    The session this browser had before (`replaces`, its old token), whoever's it was, ends: a
    login on a shared computer must not leave the previous user's session alive."""
    if replaces:
        get_session().execute(BrowserSession.__table__.update().where(BrowserSession.token_hash == hash_secret(replaces), BrowserSession.revoked_at.is_(None))
                              .values(revoked_at=utcnow(), revoked_reason="replaced by a login"))
    token = secrets.token_urlsafe(32)
    row = BrowserSession(user_id=user_id, token_hash=hash_secret(token), ip=(base.ip or None) and base.ip[:64], user_agent=(user_agent or "")[:300] or None)
    get_session().add(row)
    get_session().flush()
    audit.record(replace(base, user_id=user_id), IdentityAction.AUTH_SESSION_OPEN, subject_type="session", subject_id=row.id)
    return token


def load_session_principal(base: Principal, user_id: uuid.UUID, token: str) -> Principal | None:
    """The principal for a browser session, or None if the session was ended or the user is gone
    or disabled. The session row is read on every request, so revocation takes effect at once."""
    session = get_session()
    row = session.scalar(select(BrowserSession).where(BrowserSession.token_hash == hash_secret(token)))
    if row is None or row.user_id != user_id or row.revoked_at is not None:
        return None
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    now = utcnow()
    if now - row.last_seen_at > SESSION_SEEN_RESOLUTION:
        with unit_of_work() as s2:
            s2.execute(BrowserSession.__table__.update().where(BrowserSession.id == row.id).values(last_seen_at=now))
    return replace(principal_for(user, base), session_id=row.id)


def _revoke_sessions(user_id: uuid.UUID, *, reason: str, only: uuid.UUID | None = None) -> int:
    q = BrowserSession.__table__.update().where(BrowserSession.user_id == user_id, BrowserSession.revoked_at.is_(None))
    if only is not None:
        q = q.where(BrowserSession.id == only)
    # Session.execute is typed to return a Result; an UPDATE gives a CursorResult, which has rowcount.
    return cast("CursorResult[Any]", get_session().execute(q.values(revoked_at=utcnow(), revoked_reason=reason))).rowcount or 0


@transactional
def end_browser_session(principal: Principal) -> None:
    """Log out: the caller's browser session ends on the server (a copied cookie stops working)."""
    if principal.session_id is None or principal.user_id is None:
        return
    _revoke_sessions(principal.user_id, reason="logout", only=principal.session_id)
    audit.record(principal, IdentityAction.AUTH_SESSION_END, subject_type="session", subject_id=principal.session_id)


def _require_browser(principal: Principal) -> None:
    """Sessions are managed from a signed-in browser: an API key (a machine) neither lists its
    user's browsers nor signs them out."""
    principal.require_authenticated()
    if principal.api_key_id is not None:
        raise Forbidden("Browser sessions are managed from a signed-in browser, not with an API key.")


def list_browser_sessions(principal: Principal) -> list[BrowserSession]:
    """The caller's signed-in browsers that have not been ended, newest first."""
    _require_browser(principal)
    return list(get_session().scalars(select(BrowserSession).where(BrowserSession.user_id == principal.user_id, BrowserSession.revoked_at.is_(None))
                                      .order_by(BrowserSession.created_at.desc())))


@transactional
def sign_out_everywhere(principal: Principal, user_id: uuid.UUID | None = None) -> int:
    """End every browser session of a user: the caller's own, or (platform admin) anyone's.
    Returns how many were ended. API keys are separate credentials and stay as they are."""
    principal.require_authenticated()
    target = user_id or principal.user_id
    assert target is not None
    if target == principal.user_id:
        _require_browser(principal)
    else:
        POLICY.require(principal, Perm.PLATFORM_SESSIONS)
        if get_session().get(User, target) is None:
            raise NotFound("No such user.")
    reason = "signed out everywhere" if target == principal.user_id else "ended by a platform admin"
    n = _revoke_sessions(target, reason=reason)
    audit.record(principal, IdentityAction.AUTH_SESSION_REVOKE_ALL, subject_type="user", subject_id=target, quantities={"sessions": n})
    events.emit(events.CREDENTIALS_RESET, principal=principal, user_id=target, reason=reason)
    return n


@transactional
def change_password(principal: Principal, *, current_password: str, new_password: str) -> None:
    """Change the caller's password (the current one is asked again). Every browser session of
    the user ends, this one included: whoever had a copied cookie is out."""
    principal.require_authenticated()
    if principal.api_key_id is not None:
        raise Forbidden("A password is changed from a signed-in browser, not with an API key.")
    user = get_session().get(User, principal.user_id)
    assert user is not None
    if not verify_password(user.password_hash, current_password):
        audit.record(principal, IdentityAction.AUTH_PASSWORD_CHANGE, outcome="denied", subject_type="user", subject_id=user.id)
        raise ValidationFailed("The current password is wrong.", errors={"current_password": ["Wrong password."]})
    user.password_hash = hash_password(new_password)
    n = _revoke_sessions(user.id, reason="password changed")
    audit.record(principal, IdentityAction.AUTH_PASSWORD_CHANGE, subject_type="user", subject_id=user.id, quantities={"sessions_ended": n})
    events.emit(events.CREDENTIALS_RESET, principal=principal, user_id=user.id, reason="password changed")


def hash_secret(secret: str) -> str:
    """How an API key's secret is stored: SHA-256 (the secret is 32 random bytes, so a slow hash adds nothing)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def authenticate_api_key(base: Principal, token: str, *, defer_epoch: bool = False) -> Principal:
    """Resolve `Authorization: Bearer <key>` to a principal; unknown, revoked or expired → 401.

    A key resolved in the last few seconds costs one read of the auth epoch, in the request's
    own transaction (see `keycache`); any change that narrows access since then, or the key's
    expiry, sends it through the full check again. With `defer_epoch` that read is left to the
    caller's first statement, which must compare it (`epoch_unconfirmed`) before it writes
    anything and raise `StaleCredentials` when it moved (the download path: one round trip less)."""
    digest = hash_secret(token)
    cache = key_cache()
    entry = cache.get(digest)
    if entry is not None:
        if entry.key_expires_at is not None and entry.key_expires_at <= utcnow():
            cache.drop(digest)
        elif defer_epoch:
            return replace(entry.principal, request_id=base.request_id, ip=base.ip, epoch_unconfirmed=entry.epoch)
        elif current_epoch(get_session()) == entry.epoch:
            return replace(entry.principal, request_id=base.request_id, ip=base.ip)
        else:
            cache.drop(digest)
    principal, epoch, expires_at = _resolve_api_key(base, token)
    cache.put(digest, replace(principal, request_id="-", ip=None), epoch=epoch, key_expires_at=expires_at)
    return principal


def _resolve_api_key(base: Principal, token: str) -> tuple[Principal, int, datetime | None]:
    """The full check of a key: the key, its user and the auth epoch in one statement (one
    snapshot, so the epoch is never newer than what was read), then the memberships; the
    last-use time is written in the same transaction when stale."""
    prefix, _, secret = token.partition(".")
    with unit_of_work() as session:
        # populate_existing: a key or user already in this session must not hide the row as it is now.
        found = session.execute(select(ApiKey, User, EPOCH).join(User, User.id == ApiKey.user_id).where(ApiKey.prefix == prefix)
                                .execution_options(populate_existing=True)).first() \
            if prefix.startswith(KEY_PREFIX) and secret else None
        key, user, epoch = (found[0], found[1], found[2] or 0) if found is not None else (None, None, 0)
        reason = None
        if key is None or not hmac.compare_digest(key.secret_hash, hash_secret(secret)):
            reason = "unknown API key"
        elif key.revoked_at is not None:
            reason = "revoked API key"
        elif key.expires_at is not None and key.expires_at <= utcnow():
            reason = "expired API key"
        elif user is None or not user.is_active:
            reason = "API key of a disabled user"
        if reason is not None:
            audit.record(
                base,
                IdentityAction.AUTH_API_KEY,
                outcome="denied",
                subject_type="api_key",
                subject_id=key.id if key else None,
                subject_org_id=key.organization_id if key else None,
                details={"reason": reason, "prefix": prefix[:32]},
            )
        else:
            assert key is not None and user is not None
            now = utcnow()
            if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
                key.last_used_at = now
            memberships = _memberships(user.id)
    if reason is not None:
        raise Unauthenticated(f"The API key is not valid ({reason}).")
    assert key is not None and user is not None
    if key.organization_id not in memberships:
        # The creator has left the organisation: the key no longer acts for anyone.
        raise Unauthenticated("The API key is not valid (its user left the organisation).")
    principal = replace(
        principal_for(user, base, memberships=memberships),
        api_key_id=key.id,
        key_org_id=key.organization_id,
        scopes=frozenset(key.scopes),
    )
    return principal, epoch, key.expires_at


# --------------------------------------------------------------------------- organisations


def _get_org(org_id: uuid.UUID) -> Organization:
    org = get_session().get(Organization, org_id)
    if org is None:
        raise NotFound("No such organisation.")
    return org


def _create_org(principal: Principal, name: str, slug: str | None) -> Organization:
    session = get_session()
    slug = slug or slugify(name)
    if not SLUG_RE.match(slug):
        raise ValidationFailed("Invalid slug.", errors={"slug": ["Use lower-case letters, digits and hyphens (1-64)."]})
    if slug in ("new", "admin", "api", "static") or session.scalar(select(Organization.id).where(Organization.slug == slug)):
        raise Conflict(f"The slug '{slug}' is taken.", errors={"slug": ["Already taken."]})
    org = Organization(name=name.strip(), slug=slug)
    session.add(org)
    session.flush()
    session.add(Membership(user_id=principal.user_id, organization_id=org.id, role=OrgRole.owner))
    audit.record(principal, IdentityAction.ORG_CREATE, subject_type="organization", subject_id=org.id, subject_org_id=org.id, actor_org_id=org.id)
    return org


@transactional
def create_organization(principal: Principal, *, name: str, slug: str | None = None) -> Organization:
    """Create an organisation; the caller becomes its owner. API keys cannot create organisations."""
    POLICY.require(principal, Perm.ORG_CREATE)
    if principal.api_key_id is not None:
        raise Forbidden("Organisations are created by people, not by API keys.")
    return _create_org(principal, name, slug)


def list_my_organizations(principal: Principal) -> list[tuple[Organization, OrgRole]]:
    principal.require_authenticated()
    ids = principal.org_ids
    if not ids:
        return []
    orgs = get_session().scalars(select(Organization).where(Organization.id.in_(ids)).order_by(Organization.name))
    return [(o, principal.memberships[o.id]) for o in orgs]


def describe_caller(principal: Principal) -> tuple[User, list[tuple[Organization, OrgRole]]]:
    """The calling user and the organisations it acts for (only the key's one, for an API key)."""
    principal.require_authenticated()
    user = get_session().get(User, principal.user_id)
    if user is None:
        raise Unauthenticated("The account no longer exists.")
    return user, list_my_organizations(principal)


def get_organization(principal: Principal, org_id: uuid.UUID) -> Organization:
    POLICY.require(principal, Perm.ORG_READ, org=org_id)
    return _get_org(org_id)


def organization_names(org_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Display names of organisations the caller already deals with (its buyers, its vendors)."""
    if not org_ids:
        return {}
    return dict(get_session().execute(select(Organization.id, Organization.name).where(Organization.id.in_(org_ids))).all())


@transactional
def update_organization(principal: Principal, org_id: uuid.UUID, *, name: str) -> Organization:
    """Rename the organisation (its admins)."""
    POLICY.require(principal, Perm.ORG_UPDATE, org=org_id)
    org = _get_org(org_id)
    old = org.name
    org.name = name.strip()
    audit.record(principal, IdentityAction.ORG_UPDATE, subject_type="organization", subject_id=org.id, subject_org_id=org.id, actor_org_id=org_id, details={"name": [old, org.name]})
    return org


# --------------------------------------------------------------------------- members


def list_members(principal: Principal, org_id: uuid.UUID) -> list[tuple[Membership, User]]:
    POLICY.require(principal, Perm.ORG_READ, org=org_id)
    rows = get_session().execute(
        select(Membership, User).join(User, User.id == Membership.user_id).where(Membership.organization_id == org_id).order_by(User.email)
    )
    return [(m, u) for m, u in rows]


def _owner_count(org_id: uuid.UUID) -> int:
    return get_session().scalar(
        select(func.count()).select_from(Membership).where(Membership.organization_id == org_id, Membership.role == OrgRole.owner)
    ) or 0


def _lock_members(principal: Principal, org_id: uuid.UUID) -> Principal:
    """Membership changes of one organisation happen one after the other: each takes the
    organisation's row lock first (FOR NO KEY UPDATE, so inserts that only reference the
    organisation are not held up), so two owners demoting or removing each other at once cannot
    both pass the last-owner check. Returns the caller as it is now, under the lock: a role changed
    or removed while this request waited counts, not the one it was authenticated with. (Callers
    ask the table once before, too: a stranger must never take another tenant's lock.)"""
    session = get_session()
    if session.get(Organization, org_id, with_for_update={"key_share": True}, populate_existing=True) is None:
        raise NotFound("No such organisation.")
    memberships = {k: v for k, v in principal.memberships.items() if k != org_id}
    if principal.user_id is not None:
        now = session.scalar(select(Membership.role).where(Membership.organization_id == org_id, Membership.user_id == principal.user_id))
        if now is not None:
            memberships[org_id] = OrgRole(now)
    current = dataclasses.replace(principal, memberships=memberships)
    POLICY.require(current, Perm.MEMBER_MANAGE, org=org_id)
    return current


def _require_may_assign(principal: Principal, org_id: uuid.UUID, *, making: bool, target: uuid.UUID) -> None:
    """Making, demoting or removing an owner (with `principal` as it is under the lock): owners
    only. One exception repairs an organisation left with no owner at all: a platform admin may
    make one of its members (not themselves) an owner."""
    if making and principal.platform_admin and target != principal.user_id and _owner_count(org_id) == 0:
        return
    POLICY.require(principal, Perm.OWNER_ASSIGN, org=org_id)


@transactional
def add_member(principal: Principal, org_id: uuid.UUID, *, email: str, role: OrgRole) -> tuple[Membership, User]:
    """Add an existing user, found by e-mail, to the organisation."""
    POLICY.require(principal, Perm.MEMBER_MANAGE, org=org_id)
    current = _lock_members(principal, org_id)
    session = get_session()
    user = session.scalar(select(User).where(User.email == _normalise_email(email)))
    if user is None:
        raise ValidationFailed("No user with this e-mail address; ask them to register first.", errors={"email": ["Unknown user."]})
    if role == OrgRole.owner:
        _require_may_assign(current, org_id, making=True, target=user.id)
    if session.scalar(select(Membership.id).where(Membership.organization_id == org_id, Membership.user_id == user.id)):
        raise Conflict("This user is already a member.", errors={"email": ["Already a member."]})
    m = Membership(organization_id=org_id, user_id=user.id, role=role)
    session.add(m)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("This user is already a member.", errors={"email": ["Already a member."]}) from None
    audit.record(principal, IdentityAction.ORG_MEMBER_ADD, subject_type="user", subject_id=user.id, subject_org_id=org_id, actor_org_id=org_id, details={"role": role.value})
    return m, user


INVITATION_DAYS = 7


@transactional
def invite_member(principal: Principal, org_id: uuid.UUID, *, email: str, role: OrgRole) -> tuple[Invitation, str]:
    """Invite someone, by e-mail address, to join with `role`. Returns the invitation and the
    link's secret (shown nowhere else: only its SHA-256 is kept); the link is e-mailed to the
    address after commit. An owner invitation needs an owner, as making one does."""
    POLICY.require(principal, Perm.MEMBER_MANAGE, org=org_id)
    current = _lock_members(principal, org_id)
    address = _normalise_email(email)
    if role == OrgRole.owner:
        POLICY.require(current, Perm.OWNER_ASSIGN, org=org_id)
    session = get_session()
    member = session.scalar(select(Membership.id).join(User, User.id == Membership.user_id)
                            .where(Membership.organization_id == org_id, User.email == address))
    if member is not None:
        raise Conflict("This address already belongs to a member.", errors={"email": ["Already a member."]})
    now = utcnow()
    # One open invitation per address: a new one replaces the old (its link stops working).
    for old in session.scalars(select(Invitation).where(Invitation.organization_id == org_id, Invitation.email == address,
                                                        Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))):
        old.revoked_at = now
    secret = "inv_" + secrets.token_urlsafe(32)
    inv = Invitation(organization_id=org_id, email=address, role=role, token_hash=hashlib.sha256(secret.encode()).hexdigest(),
                     invited_by=principal.user_id, created_at=now, expires_at=now + timedelta(days=INVITATION_DAYS))
    session.add(inv)
    session.flush()
    org = session.get_one(Organization, org_id)
    inviter = session.get(User, principal.user_id) if principal.user_id else None
    audit.record(principal, IdentityAction.ORG_MEMBER_INVITE, subject_type="invitation", subject_id=inv.id, subject_org_id=org_id, actor_org_id=org_id,
                 details={"email": address, "role": role.value})
    events.emit(events.MEMBER_INVITED, invitation=inv, org_name=org.name, inviter_name=inviter.name if inviter else "An administrator", secret=secret)
    return inv, secret


def list_invitations(principal: Principal, org_id: uuid.UUID) -> list[Invitation]:
    """The organisation's open invitations (not accepted, revoked or expired), newest first."""
    POLICY.require(principal, Perm.MEMBER_MANAGE, org=org_id)
    return list(get_session().scalars(select(Invitation).where(Invitation.organization_id == org_id, Invitation.accepted_at.is_(None),
                                                               Invitation.revoked_at.is_(None), Invitation.expires_at > utcnow())
                                      .order_by(Invitation.created_at.desc())))


@transactional
def revoke_invitation(principal: Principal, org_id: uuid.UUID, invitation_id: uuid.UUID) -> Invitation:
    """Revoke an open invitation: its link stops working. Revoking twice is a no-op."""
    POLICY.require(principal, Perm.MEMBER_MANAGE, org=org_id)
    inv = get_session().scalar(select(Invitation).where(Invitation.id == invitation_id, Invitation.organization_id == org_id).with_for_update())
    if inv is None:
        raise NotFound("No such invitation.")
    if inv.accepted_at is not None:
        raise Conflict("The invitation was accepted; remove the member instead.")
    if inv.revoked_at is None:
        inv.revoked_at = utcnow()
        audit.record(principal, IdentityAction.ORG_INVITATION_REVOKE, subject_type="invitation", subject_id=inv.id, subject_org_id=org_id, actor_org_id=org_id)
    return inv


def invitation_for(secret: str) -> tuple[Invitation, Organization]:
    """The invitation a link names, with its organisation, while it can still be accepted;
    404 for an unknown or revoked link, 410 once accepted or expired."""
    inv = get_session().scalar(select(Invitation).where(Invitation.token_hash == hashlib.sha256(secret.encode()).hexdigest()))
    if inv is None or inv.revoked_at is not None:
        raise NotFound("This invitation link is not valid (it may have been replaced or revoked).")
    if inv.accepted_at is not None:
        raise Gone("This invitation was already accepted.")
    if inv.expires_at <= utcnow():
        raise Gone("This invitation has expired; ask for a new one.")
    return inv, get_session().get_one(Organization, inv.organization_id)


@transactional
def accept_invitation(principal: Principal, secret: str) -> tuple[Membership, Organization]:
    """Join the organisation an invitation names, as the signed-in user the link was sent to.
    Once: a replayed link answers 410, and two acceptances at once make one membership."""
    principal.require_authenticated()
    if principal.user_id is None:
        raise Forbidden("Accept an invitation as a person, signed in.")
    inv, org = invitation_for(secret)
    session = get_session()
    inv = session.get_one(Invitation, inv.id, with_for_update=True, populate_existing=True)
    if inv.accepted_at is not None or inv.revoked_at is not None:
        raise Gone("This invitation was already used.")
    user = session.get_one(User, principal.user_id)
    if _normalise_email(user.email) != inv.email:
        raise Forbidden("This invitation was sent to another address; sign in as that address to accept it.")
    # The invitation's row lock serialises acceptances of one link; the membership's unique
    # key, two links for one person.
    if session.scalar(select(Membership.id).where(Membership.organization_id == org.id, Membership.user_id == user.id)):
        raise Conflict("You are already a member of this organisation.")
    m = Membership(organization_id=org.id, user_id=user.id, role=inv.role)
    session.add(m)
    inv.accepted_at, inv.accepted_by = utcnow(), user.id
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("You are already a member of this organisation.") from None
    audit.record(principal, IdentityAction.ORG_INVITATION_ACCEPT, subject_type="invitation", subject_id=inv.id, subject_org_id=org.id, actor_org_id=org.id,
                 details={"role": inv.role.value})
    return m, org


def _get_membership(org_id: uuid.UUID, user_id: uuid.UUID) -> Membership:
    m = get_session().scalar(select(Membership).where(Membership.organization_id == org_id, Membership.user_id == user_id)
                             .execution_options(populate_existing=True))
    if m is None:
        raise NotFound("No such member.")
    return m


@transactional
def change_member_role(principal: Principal, org_id: uuid.UUID, user_id: uuid.UUID, *, role: OrgRole) -> tuple[Membership, User]:
    POLICY.require(principal, Perm.MEMBER_MANAGE, org=org_id)
    current = _lock_members(principal, org_id)
    m = _get_membership(org_id, user_id)
    if m.role == OrgRole.owner or role == OrgRole.owner:
        _require_may_assign(current, org_id, making=m.role != OrgRole.owner, target=user_id)
    if m.role == OrgRole.owner and role != OrgRole.owner and _owner_count(org_id) <= 1:
        raise Conflict("An organisation must keep at least one owner.")
    old = m.role
    m.role = role
    audit.record(principal, IdentityAction.ORG_MEMBER_ROLE, subject_type="user", subject_id=user_id, subject_org_id=org_id, actor_org_id=org_id, details={"role": [old.value, role.value]})
    return m, get_session().get_one(User, user_id)


@transactional
def remove_member(principal: Principal, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    POLICY.require(principal, Perm.MEMBER_MANAGE, org=org_id)
    current = _lock_members(principal, org_id)
    m = _get_membership(org_id, user_id)
    if m.role == OrgRole.owner:
        _require_may_assign(current, org_id, making=False, target=user_id)
        if _owner_count(org_id) <= 1:
            raise Conflict("An organisation must keep at least one owner.")
    get_session().delete(m)
    # Whatever the removed user had open in a browser may show this organisation's pages: end it.
    n = _revoke_sessions(user_id, reason="removed from an organisation")
    # Their keys for this organisation end too: were they added again later, the old keys must
    # not come back to life with them.
    now = utcnow()
    keys = list(get_session().scalars(select(ApiKey).where(ApiKey.organization_id == org_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))))
    for key in keys:
        key.revoked_at = now
    audit.record(principal, IdentityAction.ORG_MEMBER_REMOVE, subject_type="user", subject_id=user_id, subject_org_id=org_id, actor_org_id=org_id,
                 quantities={"sessions_ended": n, "api_keys_revoked": len(keys)})
    events.emit(events.MEMBER_REMOVED, principal=principal, org_id=org_id, user_id=user_id)


# --------------------------------------------------------------------------- API keys


def list_api_keys(principal: Principal, org_id: uuid.UUID) -> list[ApiKey]:
    POLICY.require(principal, Perm.API_KEY_LIST, org=org_id)
    return list(get_session().scalars(select(ApiKey).where(ApiKey.organization_id == org_id).order_by(ApiKey.created_at.desc())))


@transactional
def create_api_key(principal: Principal, org_id: uuid.UUID, *, name: str, scopes: list[str], expires_at: datetime | None) -> tuple[ApiKey, str]:
    """Create a key for the caller in `org_id`. Returns the row and the full secret, shown once.

    A key never gets more than its creator: its scopes must be a subset of the caller's.
    """
    POLICY.require(principal, Perm.API_KEY_CREATE, org=org_id)
    role = principal.role_in(org_id)
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValidationFailed("Unknown scopes.", errors={"scopes": [f"Unknown scope: {s}" for s in unknown]})
    if not scopes:
        raise ValidationFailed("A key needs at least one scope.", errors={"scopes": ["Give at least one scope."]})
    if any(not principal.has_scope(s) for s in scopes):
        raise Forbidden("A key cannot have scopes its creator's key lacks.")
    if role == OrgRole.auditor and set(scopes) - {"catalog:read", "commerce:read", "audit:read"}:
        raise Forbidden("An auditor may only create read-only keys.", errors={"scopes": ["Read-only scopes only."]})
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationFailed("The expiry is in the past.", errors={"expires_at": ["Must be in the future."]})
    prefix = KEY_PREFIX + secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        organization_id=org_id,
        user_id=principal.user_id,
        name=name.strip(),
        prefix=prefix,
        secret_hash=hash_secret(secret),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
    )
    get_session().add(key)
    get_session().flush()
    audit.record(
        principal, IdentityAction.API_KEY_CREATE, subject_type="api_key", subject_id=key.id, subject_org_id=org_id, actor_org_id=org_id,
        details={"prefix": prefix, "scopes": key.scopes},
    )
    return key, f"{prefix}.{secret}"


@transactional
def revoke_api_key(principal: Principal, org_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    """Revoke a key; members may revoke their own keys, admins any key of the organisation."""
    POLICY.require(principal, Perm.API_KEY_REVOKE_OWN, org=org_id)
    key = get_session().get(ApiKey, key_id)
    if key is None or key.organization_id != org_id:
        raise NotFound("No such API key.")
    if key.user_id != principal.user_id:
        POLICY.require(principal, Perm.API_KEY_REVOKE_ANY, org=org_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record(principal, IdentityAction.API_KEY_REVOKE, subject_type="api_key", subject_id=key.id, subject_org_id=org_id, actor_org_id=org_id, details={"prefix": key.prefix})
    return key


# --------------------------------------------------------------------------- vendor approval


VENDOR_PROFILE = ("description", "website", "country", "contact_name", "contact_email", "payout_account_holder", "payout_iban")


@transactional
def apply_as_vendor(principal: Principal, org_id: uuid.UUID, **profile: Any) -> Organization:
    """Ask the platform to approve the organisation as a data vendor, with its public profile,
    a contact and payout details (`VendorApplicationSchema`). A pending or rejected application
    can be sent again, corrected."""
    POLICY.require(principal, Perm.VENDOR_APPLY, org=org_id)
    org = _get_org(org_id)
    if org.vendor_status == VendorStatus.approved:
        raise Conflict("The organisation is already an approved vendor.")
    missing = [k for k in VENDOR_PROFILE if k != "website" and not profile.get(k)]
    if missing:
        raise ValidationFailed("An application needs the organisation's profile, a contact and payout details.", errors={k: ["Required."] for k in missing})
    for key in VENDOR_PROFILE:
        setattr(org, key, profile.get(key))
    org.vendor_status = VendorStatus.pending
    org.vendor_applied_at = utcnow()
    # The audit trail names what was sent, never the account number.
    audit.record(principal, IdentityAction.ORG_VENDOR_APPLY, subject_type="organization", subject_id=org.id, subject_org_id=org.id, actor_org_id=org_id,
                 details={"country": org.country, "contact_email": org.contact_email})
    return org


def vendor_profile(slug: str) -> Organization:
    """An approved vendor's public profile (anyone may read it); 404 for any other organisation."""
    org = get_session().scalar(select(Organization).where(Organization.slug == slug, Organization.vendor_status == VendorStatus.approved))
    if org is None:
        raise NotFound("No such vendor.")
    return org


@transactional
def decide_vendor(principal: Principal, org_id: uuid.UUID, *, approve: bool, reason: str | None) -> Organization:
    """A platform admin approves or rejects (or later suspends) a vendor organisation."""
    POLICY.require(principal, Perm.VENDOR_DECIDE)
    org = _get_org(org_id)
    org.vendor_status = VendorStatus.approved if approve else VendorStatus.rejected
    org.vendor_decided_at = utcnow()
    org.vendor_decision_reason = reason
    audit.record(
        principal, IdentityAction.ORG_VENDOR_DECIDE, subject_type="organization", subject_id=org.id, subject_org_id=org.id,
        details={"approved": approve, "reason": reason},
    )
    return org


@transactional
def set_platform_role(*, email: str, role: str) -> User:
    """Operator command (CLI only): grant or remove a platform role. Audited as the system."""
    user = get_session().scalar(select(User).where(User.email == _normalise_email(email)))
    if user is None:
        raise NotFound(f"No user {email}.")
    user.is_platform_admin = role == "admin"
    user.is_platform_compliance = role == "compliance"
    audit.record(Principal(request_id="cli"), IdentityAction.USER_PLATFORM_ROLE, subject_type="user", subject_id=user.id, details={"role": role})
    return user


def list_organizations_admin(principal: Principal, *, vendor_status: VendorStatus | None) -> list[Organization]:
    POLICY.require(principal, Perm.PLATFORM_ORGS)
    q = select(Organization).order_by(Organization.created_at)
    if vendor_status is not None:
        q = q.where(Organization.vendor_status == vendor_status)
    return list(get_session().scalars(q))
