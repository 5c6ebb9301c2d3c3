"""Audit log: the actions only tests write, and audit events as rows.

Sealed blocks and leaves are not made here: they carry hashes and signatures over the events, so
a test that needs them seals real events (`marketplace.auditlog.services.seal`)."""

from __future__ import annotations

import factory

from marketplace.kernel.audit import AuditAction, AuditEvent
from tests.factories.base import RowFactory


class TestAction(AuditAction):
    """Audit actions that only tests write (the writer takes enum members only)."""

    __test__ = False  # not a test class for pytest

    SEALED = "test.sealed"
    TAMPER = "test.tamper"
    EVENT = "test.event"
    ROLLED_BACK = "test.rolled_back"
    SUCCESS_BEFORE_DENIAL = "test.success_before_denial"
    DENIED = "test.denied"


class AuditEventFactory(RowFactory):
    """One event, as `marketplace.kernel.audit.record` writes it (action values are strings;
    give `action=SomeAction.X.value`)."""

    class Meta:
        model = AuditEvent

    request_id = factory.Sequence(lambda n: f"factory-{n}")
    action = TestAction.EVENT.value
    outcome = "success"
    actor_user_id = None
    actor_api_key_id = None
    actor_org_id = None
    subject_type = None
    subject_id = None
    subject_org_id = None
    ip = "127.0.0.1"
    quantities = None
    details = None
