"""The audit writer: every state change and access decision is one append-only event.

Services call :func:`record` inside their unit of work, so an event is committed exactly when
the change it describes is. The table refuses UPDATE and DELETE at the database level (see the
initial migration). Sealing into hash-linked Merkle blocks is a separate job that only reads
events, so writing an event never waits on a global lock.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, FromClause, Index, Insert, Integer, String, bindparam, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.kernel.db import Base, get_session, keep_on_rollback, utcnow
from marketplace.kernel.principal import Principal


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_subject_org", "subject_org_id", "id"),
        Index("ix_audit_events_actor_org", "actor_org_id", "id"),
        Index("ix_audit_events_action", "action", "id"),
    )

    # BIGINT on PostgreSQL; SQLite only autoincrements a column declared INTEGER.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    request_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[uuid.UUID | None]
    actor_api_key_id: Mapped[uuid.UUID | None]
    actor_org_id: Mapped[uuid.UUID | None]
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    subject_org_id: Mapped[uuid.UUID | None]
    ip: Mapped[str | None] = mapped_column(String(64))
    quantities: Mapped[dict[str, Any] | None]
    details: Mapped[dict[str, Any] | None]


OUTCOMES = {"success", "denied", "failure"}


class AuditAction(enum.StrEnum):
    """The base of every domain's audit actions (each domain's `actions` module subclasses it).
    Values are `subject.verb` strings, stored as they are; the writer takes nothing else, so no
    action is a stray literal that a compliance query could miss."""


def all_actions() -> list[str]:
    """Every audit action of every domain (the console's action picker); the domains' `actions`
    modules are imported by the application, so their enums are all subclasses by then."""
    return sorted({m.value for cls in AuditAction.__subclasses__() for m in cls})


def values(
    principal: Principal,
    action: AuditAction,
    *,
    outcome: str = "success",
    subject_type: str | None = None,
    subject_id: Any = None,
    subject_org_id: uuid.UUID | None = None,
    actor_org_id: uuid.UUID | None = None,
    quantities: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The column values of one event, checked: the one place an event's shape is decided."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    if not isinstance(action, AuditAction):
        raise TypeError(f"audit actions come from a domain's actions enum, not {action!r}")
    return dict(
        occurred_at=utcnow(),
        request_id=principal.request_id,
        action=action.value,
        outcome=outcome,
        actor_user_id=principal.user_id,
        actor_api_key_id=principal.api_key_id,
        actor_org_id=actor_org_id if actor_org_id is not None else principal.key_org_id,
        subject_type=subject_type,
        subject_id=str(subject_id) if subject_id is not None else None,
        subject_org_id=subject_org_id,
        ip=principal.ip,
        quantities=quantities,
        details=details,
    )


def record(principal: Principal, action: AuditAction, **fields: Any) -> AuditEvent:
    """Append one event to the current unit of work. Never put secrets in `details`.
    Fields as for :func:`values`."""
    return append(values(principal, action, **fields))


def append(row: dict[str, Any]) -> AuditEvent:
    """Append one event made by :func:`values` to the current unit of work."""
    event = AuditEvent(**row)
    get_session().add(event)
    if row["outcome"] != "success":
        # A denial or failure usually ends in an exception that rolls the transaction back;
        # the decision must still be on the record.
        keep_on_rollback(lambda: AuditEvent(**row))
    return event


def insert_from(source: FromClause, *, computed: dict[str, ColumnElement[Any]], prefix: str = "event_") -> Insert:
    """An INSERT of one event per row of `source` (a CTE of the same statement), some columns
    computed from `source` (a balance the same statement just wrote, say) and the others bound
    as `<prefix><column>`: pass :func:`bind` of :func:`values` when executing. It lets a state
    change and its event be one statement, built once."""
    table = AuditEvent.__table__
    cols = [c.name for c in table.columns if c.name != "id"]
    exprs = [computed[c] if c in computed else bindparam(prefix + c, type_=table.c[c].type) for c in cols]
    return insert(AuditEvent).from_select(cols, select(*exprs).select_from(source))


def bind(row: dict[str, Any], prefix: str = "event_") -> dict[str, Any]:
    """The parameters of an :func:`insert_from` statement for one event's :func:`values`."""
    return {prefix + k: v for k, v in row.items()}
