"""Quota metering: credits and atomic, idempotent debits on a grant's ledger.

A debit is, in one transaction:
1. INSERT the ledger entry, unique per (grant, request id). A request id charged before makes
   this a no-op and the first charge is reported. On PostgreSQL a concurrent duplicate waits
   for the first to commit (or roll back, when it is then charged itself).
2. UPDATE grants SET balance = balance - n WHERE id = ... AND balance >= n (and active, right
   unit, not expired). The row lock makes concurrent debits queue on this one row; the
   condition makes overspending impossible. If no row is updated the transaction rolls back,
   taking the ledger entry with it.
No explicit lock is taken and no balance is read before it is written, so there is no window
between check and debit, on PostgreSQL or on SQLite (which serialises writers anyway).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, cast

from sqlalchemy import JSON, BigInteger, Select, String, Uuid, bindparam, case, func, insert, literal, literal_column, select, true, update
from sqlalchemy.exc import IntegrityError

from catalog.models import Dataset
from marketplace.commerce.actions import CommerceAction
from marketplace.commerce.models import Grant, GrantStatus, QuotaEntry
from marketplace.kernel import audit, metrics
from marketplace.kernel.db import after_commit, get_session, in_unit_of_work, insert_ignore_returning, unit_of_work, utcnow
from marketplace.kernel.errors import Gone, NotFound, PaymentRequired, ValidationFailed
from marketplace.kernel.notify import Topic, publish
from marketplace.kernel.principal import Principal

if TYPE_CHECKING:
    from sqlalchemy import CursorResult

WARN_THRESHOLDS_BP = (8000, 9500, 10000)  # 80 %, 95 %, 100 % used
# Ledger amounts are in the smallest unit delivered: GiB offers are metered in bytes, hour
# offers in milliseconds of audio or video.
UNIT_SCALE = {"records": 1, "downloads": 1, "term": 1, "gib": 2**30, "hours": 3_600_000}


def in_words(unit: str, amount: int) -> str:
    """A ledger amount as people read it: GiB offers count bytes, hour offers milliseconds."""
    if unit == "gib":
        return f"{amount:,} bytes ({amount / 2**30:.3g} GiB)"
    if unit == "hours":
        return f"{amount / 3_600_000:.4g} hours ({amount:,} ms)"
    return f"{amount:,} {unit}"


@dataclass(frozen=True)
class DebitResult:
    entry_id: int
    amount: int
    balance: int
    duplicate: bool  # this request id was already charged: nothing new was debited


def _entry(grant_id: uuid.UUID, request_id: str) -> QuotaEntry | None:
    return get_session().scalar(select(QuotaEntry).where(QuotaEntry.grant_id == grant_id, QuotaEntry.request_id == request_id))


class DebitRaced(Exception):
    """A concurrent debit with the same request id committed first, inside a larger unit of
    work that can no longer go on: the caller runs its unit of work again (and then sees the
    first charge)."""


def debit(principal: Principal, grant_id: uuid.UUID, unit: str, amount: int, request_id: str, *, details: dict[str, Any] | None = None,
          also: dict[str, Any] | None = None) -> DebitResult:
    """Charge `amount` units to a grant, at most once per `request_id`. 402 when the balance
    does not cover it (nothing is charged); every refusal is audited. `also` is the caller's
    own event (`audit.values`), written with the debit's, when and only when this call charges.

    On PostgreSQL the balance update, the ledger entry and the audit event are one statement
    (`_debit_statement`), so the grant's row lock is held for one statement and the commit. A
    request id charged before makes that statement fail on the ledger's unique key, and the
    first charge is reported. Elsewhere (SQLite, which serialises writers) the same steps run
    one by one: the ledger INSERT first, a repeat being a no-op, then the conditional UPDATE,
    then the event."""
    if amount <= 0:
        raise ValidationFailed("Debits are positive.", errors={"amount": ["Must be at least 1."]})
    if not request_id or len(request_id) > 128:
        raise ValidationFailed("A request id (1-128 characters) makes the debit idempotent.", errors={"request_id": ["Required."]})
    nested = in_unit_of_work()
    try:
        with unit_of_work() as session:
            if session.get_bind().dialect.name != "postgresql":
                return _debit_steps(principal, grant_id, unit, amount, request_id, details, also)
            params = _debit_params(principal, grant_id, unit, amount, request_id, details)
            # Core on the session's connection: the ORM's execution layer would add nothing here.
            conn = session.connection()
            row = (conn.execute(_DEBIT_ALSO, dict(params, **audit.bind(also, "also_"))) if also is not None else conn.execute(_DEBIT, params)).first()
            # The statement wrote the grant behind the ORM's back: a loaded copy is stale.
            loaded = session.identity_map.get(session.identity_key(Grant, grant_id))
            if loaded is not None:
                session.expire(loaded, ["balance"])
            if row is None:
                # A request charged before is reported as such, whatever the balance is now.
                prev = _entry(grant_id, request_id)
                if prev is not None:
                    return DebitResult(prev.id, prev.amount, prev.balance_after, duplicate=True)
                _refuse(principal, grant_id, unit, amount, request_id, utcnow())  # raises; the event of the refusal is kept
            entry_id, balance, credited, warned, vendor_org, buyer_org = row
            _thresholds(principal, grant_id, vendor_org, buyer_org, credited, warned, balance)
            _count(unit, amount)
            return DebitResult(entry_id, amount, balance, duplicate=False)
    except IntegrityError as exc:
        if not _is_repeat(exc):
            raise
        if nested:
            raise DebitRaced(request_id) from exc
    # This request id was charged by a transaction that committed first.
    prev = _entry(grant_id, request_id)
    get_session().rollback()
    if prev is None:
        raise DebitRaced(request_id)
    return DebitResult(prev.id, prev.amount, prev.balance_after, duplicate=True)


def _count(unit: str, amount: int) -> None:
    """The debit's metrics, once its transaction commits (a debit rolled back with the rest of
    an authorisation charged nothing)."""
    def record() -> None:
        metrics.DEBITS.labels(unit).inc()
        metrics.DEBITED.labels(unit).inc(amount)
    after_commit(record)


def _is_repeat(exc: IntegrityError) -> bool:
    return "uq_quota_entries_grant_id" in str(exc.orig)


def _debit_statement(*, also: bool) -> Select[Any]:
    """WITH debited AS (UPDATE grants ... RETURNING), ledger AS (INSERT INTO quota_entries
    SELECT ... FROM debited), event AS (INSERT INTO audit_events SELECT ... FROM debited)
    SELECT ...: no row when the balance, status, unit or expiry refuse the debit. Built once;
    every value is a parameter (see `_debit_params`), named apart from the grant's columns: an
    UPDATE executed with a parameter named like a column would also SET that column."""
    now = bindparam("d_now", type_=QuotaEntry.__table__.c.created_at.type)
    amount = bindparam("d_amount", type_=BigInteger)
    debited = (
        update(Grant)
        .where(Grant.id == bindparam("d_grant", type_=Uuid), Grant.unit == bindparam("d_unit", type_=String), Grant.status == GrantStatus.active.value,
               Grant.balance >= amount, (Grant.expires_at.is_(None)) | (Grant.expires_at > now))
        .values(balance=Grant.balance - amount)
        .returning(Grant.id, Grant.balance, Grant.credited, Grant.warned_at_bp, Grant.vendor_org_id, Grant.buyer_org_id)
        .cte("debited")
    )
    ledger = (
        insert(QuotaEntry)
        .from_select(["grant_id", "kind", "amount", "reason", "request_id", "balance_after", "created_at"],
                     select(debited.c.id, literal("debit"), amount, literal("delivery"), bindparam("d_request", type_=String), debited.c.balance, now))
        .returning(QuotaEntry.id)
        .cte("ledger")
    )
    event = audit.insert_from(debited, computed={
        "subject_org_id": debited.c.vendor_org_id,
        "actor_org_id": debited.c.buyer_org_id,
        "quantities": func.json_build_object(bindparam("d_unit_key", type_=String), amount, literal("balance"), debited.c.balance, type_=JSON),
    }).returning(literal_column("1").label("written")).cte("event")
    q = (select(ledger.c.id, debited.c.balance, debited.c.credited, debited.c.warned_at_bp, debited.c.vendor_org_id, debited.c.buyer_org_id)
         .select_from(debited).join(ledger, true()).join(event, true()))
    if also:
        # The caller's event (a download's authorisation, say), written only if the debit is.
        caller_event = audit.insert_from(debited, computed={}, prefix="also_").returning(literal_column("1").label("written")).cte("also")
        q = q.join(caller_event, true())
    return q


_DEBIT = _debit_statement(also=False)
_DEBIT_ALSO = _debit_statement(also=True)


def _debit_params(principal: Principal, grant_id: uuid.UUID, unit: str, amount: int, request_id: str, details: dict[str, Any] | None) -> dict[str, Any]:
    event = audit.values(principal, CommerceAction.QUOTA_DEBIT, subject_type="grant", subject_id=grant_id, details=dict(details or {}, request_id=request_id))
    return dict(audit.bind(event), d_grant=grant_id, d_unit=str(unit), d_unit_key=str(unit), d_amount=amount, d_request=request_id, d_now=event["occurred_at"])


def _debit_steps(principal: Principal, grant_id: uuid.UUID, unit: str, amount: int, request_id: str, details: dict[str, Any] | None,
                 also: dict[str, Any] | None) -> DebitResult:
    """The debit as separate statements, for backends without data-modifying CTEs."""
    session = get_session()
    now = utcnow()
    # The grant row is locked by the UPDATE until commit, and every debit of that grant
    # queues on it: so the UPDATE comes as late as it can.
    with session.begin_nested():
        entry_id = insert_ignore_returning(QuotaEntry, QuotaEntry.id, grant_id=grant_id, kind="debit", amount=amount, reason="delivery",
                                           request_id=request_id, balance_after=-1, created_at=now)
    if entry_id is None:
        prev = _entry(grant_id, request_id)
        if prev is not None:
            return DebitResult(prev.id, prev.amount, prev.balance_after, duplicate=True)
        raise NotFound("No such grant.")  # the insert can only conflict on the request id; a missing grant fails below
    row = session.execute(
        update(Grant)
        .where(Grant.id == grant_id, Grant.unit == unit, Grant.status == GrantStatus.active.value, Grant.balance >= amount,
               (Grant.expires_at.is_(None)) | (Grant.expires_at > now))
        .values(balance=Grant.balance - amount)
        .returning(Grant.balance, Grant.credited, Grant.warned_at_bp, Grant.vendor_org_id, Grant.buyer_org_id)
    ).first()
    if row is None:
        _refuse(principal, grant_id, unit, amount, request_id, now)  # raises; the ledger row and the event roll back
    balance, credited, warned, vendor_org, buyer_org = row
    session.execute(update(QuotaEntry).where(QuotaEntry.id == entry_id).values(balance_after=balance))
    audit.record(principal, CommerceAction.QUOTA_DEBIT, subject_type="grant", subject_id=grant_id, subject_org_id=vendor_org, actor_org_id=buyer_org,
                 quantities={unit: amount, "balance": balance}, details=dict(details or {}, request_id=request_id))
    if also is not None:
        audit.append(also)
    _thresholds(principal, grant_id, vendor_org, buyer_org, credited, warned, balance)
    _count(unit, amount)
    return DebitResult(entry_id, amount, balance, duplicate=False)


def _refuse(principal: Principal, grant_id: uuid.UUID, unit: str, amount: int, request_id: str, now: Any) -> NoReturn:
    """Say precisely why a debit was refused (and audit it). Always raises."""
    session = get_session()
    grant = session.get(Grant, grant_id, populate_existing=True)
    if grant is None:
        raise NotFound("No such grant.")
    if grant.unit != unit:
        raise ValidationFailed(f"This grant is metered in {grant.unit}, not {unit}.", errors={"unit": [f"Use {grant.unit}."]})
    who: dict[str, Any] = dict(subject_type="grant", subject_id=grant.id, subject_org_id=grant.vendor_org_id, actor_org_id=grant.buyer_org_id)
    if grant.status != GrantStatus.active.value or (grant.expires_at is not None and grant.expires_at <= now):
        audit.record(principal, CommerceAction.QUOTA_DEBIT, outcome="denied", quantities={unit: amount}, details={"reason": "grant not active", "status": grant.status}, **who)
        raise Gone("The grant is not active (expired, revoked or suspended).")
    audit.record(principal, CommerceAction.QUOTA_DEBIT, outcome="denied", quantities={unit: amount, "balance": grant.balance},
                 details={"reason": "quota exhausted", "request_id": request_id}, **who)
    raise PaymentRequired(f"The grant has {grant.balance} {unit} left; this needs {amount}.", balance=grant.balance, needed=amount, unit=unit)


def _thresholds(principal: Principal, grant_id: uuid.UUID, vendor_org: uuid.UUID, buyer_org: uuid.UUID, credited: int, warned_bp: int, balance: int) -> None:
    """Announce (once each) when usage crosses 80 %, 95 % and 100 % of what was credited."""
    if credited <= 0:
        return
    used_bp = (credited - balance) * 10000 // credited
    crossed = [t for t in WARN_THRESHOLDS_BP if used_bp >= t]
    if not crossed or max(crossed) <= warned_bp:
        return
    top = max(crossed)
    # Only one transaction can raise warned_at_bp from below `top`: the conditional update.
    # Session.execute is typed to return a Result; an UPDATE gives a CursorResult, which has rowcount.
    won = cast("CursorResult[Any]", get_session().execute(update(Grant).where(Grant.id == grant_id, Grant.warned_at_bp < top).values(warned_at_bp=top))).rowcount
    if won:
        audit.record(principal, CommerceAction.QUOTA_THRESHOLD, subject_type="grant", subject_id=grant_id, subject_org_id=vendor_org, actor_org_id=buyer_org,
                     quantities={"used_bp": used_bp, "balance": balance, "credited": credited}, details={"threshold_bp": top})
        grant = get_session().get_one(Grant, grant_id)
        title = get_session().scalar(select(Dataset.title).where(Dataset.id == grant.dataset_id))
        publish(Topic.QUOTA_THRESHOLD, buyer_org, {"grant_id": str(grant_id), "dataset_id": str(grant.dataset_id), "dataset_title": title, "threshold_percent": top // 100,
                                                   "used_percent": round(used_bp / 100, 2), "balance": balance, "credited": credited, "unit": grant.unit},
                dedupe=f"quota.threshold:{grant_id}:{credited}:{top}")


def credit(principal: Principal, grant: Grant, amount: int, *, reason: str, request_id: str, order_id: uuid.UUID | None = None) -> QuotaEntry | None:
    """Add quota inside the caller's unit of work; idempotent per request id (None if repeated)."""
    session = get_session()
    entry_id = insert_ignore_returning(QuotaEntry, QuotaEntry.id, grant_id=grant.id, kind="credit", amount=amount, reason=reason,
                                       request_id=request_id, order_id=order_id, balance_after=-1, created_at=utcnow())
    if entry_id is None:
        return None
    new_balance = session.execute(update(Grant).where(Grant.id == grant.id).values(balance=Grant.balance + amount, credited=Grant.credited + amount, warned_at_bp=0)
                                  .returning(Grant.balance)).scalar_one()
    session.execute(update(QuotaEntry).where(QuotaEntry.id == entry_id).values(balance_after=new_balance))
    session.refresh(grant)
    audit.record(principal, CommerceAction.QUOTA_CREDIT, subject_type="grant", subject_id=grant.id, subject_org_id=grant.vendor_org_id, actor_org_id=grant.buyer_org_id,
                 quantities={grant.unit: amount, "balance": new_balance}, details={"reason": reason, "order_id": str(order_id) if order_id else None})
    return session.get(QuotaEntry, entry_id)


def withdraw_credit(principal: Principal, grant: Grant, amount: int, *, reason: str, request_id: str, order_id: uuid.UUID | None = None) -> int:
    """Take back up to `amount` unused units (refund): never below zero. Returns what was taken."""
    session = get_session()
    take = min(amount, session.scalar(select(Grant.balance).where(Grant.id == grant.id)) or 0)
    if take <= 0:
        return 0
    entry_id = insert_ignore_returning(QuotaEntry, QuotaEntry.id, grant_id=grant.id, kind="debit", amount=take, reason=reason,
                                       request_id=request_id, order_id=order_id, balance_after=-1, created_at=utcnow())
    if entry_id is None:
        return 0
    new_balance = session.execute(update(Grant).where(Grant.id == grant.id, Grant.balance >= take).values(balance=Grant.balance - take)
                                  .returning(Grant.balance)).scalar_one()
    session.execute(update(QuotaEntry).where(QuotaEntry.id == entry_id).values(balance_after=new_balance))
    audit.record(principal, CommerceAction.QUOTA_WITHDRAW, subject_type="grant", subject_id=grant.id, subject_org_id=grant.vendor_org_id, actor_org_id=grant.buyer_org_id,
                 quantities={grant.unit: take, "balance": new_balance}, details={"reason": reason})
    return take



def ledger_balance(grant_id: uuid.UUID) -> int:
    """The balance recomputed from the ledger alone (what `grants.balance` must always equal)."""
    signed = case((QuotaEntry.kind == "credit", QuotaEntry.amount), else_=-QuotaEntry.amount)
    return get_session().scalar(select(func.coalesce(func.sum(signed), 0)).where(QuotaEntry.grant_id == grant_id)) or 0
