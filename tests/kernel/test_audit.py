"""The audit log: written by services in their transaction, append-only in the database."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from marketplace.kernel import audit
from marketplace.kernel.audit import AuditEvent
from marketplace.kernel.db import get_session, unit_of_work
from marketplace.kernel.errors import Forbidden
from tests.factories import BASE, TestAction


def _one_event() -> int:
    with unit_of_work():
        ev = audit.record(BASE, TestAction.EVENT, subject_type="thing", subject_id="1")
    return ev.id


def test_update_and_delete_are_refused_by_the_database(app, backend):
    eid = _one_event()
    session = get_session()
    for stmt in (f"UPDATE audit_events SET outcome = 'denied' WHERE id = {eid}", f"DELETE FROM audit_events WHERE id = {eid}"):
        with pytest.raises(DBAPIError) as exc:
            with session.begin_nested():
                session.execute(text(stmt))
        assert "append-only" in str(exc.value)
    assert session.get(AuditEvent, eid).outcome == "success"


@pytest.mark.postgres_only
def test_truncate_is_refused_on_postgresql(app, backend):
    _one_event()
    session = get_session()
    with pytest.raises(DBAPIError):
        with session.begin_nested():
            session.execute(text("TRUNCATE audit_events"))


def test_event_rolls_back_with_its_change(app):
    with pytest.raises(RuntimeError):
        with unit_of_work():
            audit.record(BASE, TestAction.ROLLED_BACK)
            raise RuntimeError("boom")
    assert get_session().scalars(select(AuditEvent).where(AuditEvent.action == "test.rolled_back")).all() == []


def test_denials_survive_the_rollback_of_the_refused_request(app):
    with pytest.raises(Forbidden):
        with unit_of_work():
            audit.record(BASE, TestAction.SUCCESS_BEFORE_DENIAL)
            audit.record(BASE, TestAction.DENIED, outcome="denied", subject_type="thing", subject_id="7")
            raise Forbidden("no")
    actions = [e.action for e in get_session().scalars(select(AuditEvent).where(AuditEvent.action.like("test.%")))]
    assert actions == ["test.denied"]


def test_unknown_outcome_is_a_programming_error(app):
    with pytest.raises(ValueError):
        with unit_of_work():
            audit.record(BASE, "x", outcome="maybe")


def test_actions_come_from_the_domains_enums_only(app):
    """The writer refuses a plain string, and every domain's actions are distinct values."""
    from catalog.actions import CatalogAction
    from licensing.actions import LicensingAction
    from marketplace.commerce.actions import CommerceAction
    from marketplace.delivery.actions import DeliveryAction
    from marketplace.identity.actions import IdentityAction

    with pytest.raises(TypeError):
        with unit_of_work():
            audit.record(BASE, "order.paid")  # type: ignore[arg-type]
    values = [m.value for e in (CatalogAction, LicensingAction, CommerceAction, IdentityAction, DeliveryAction) for m in e]
    assert len(values) == len(set(values)) and all(v.count(".") >= 1 for v in values)
