"""Who may read the audit log, its proofs and its checkpoints, in one table.

An organisation's owners, admins and auditors read the events it caused or that concern it
(members do not: the log names people and addresses); platform compliance reads everything.
"""

from __future__ import annotations

import enum

from marketplace.kernel.policy import OVERSIGHT, Platform, Policy, Rule

COMPLIANCE = frozenset({Platform.compliance})


class AuditPermission(enum.StrEnum):
    EVENTS_READ = "audit:events"  # query, export, verify an organisation's events
    EVENT_PROOF = "audit:proof"
    WHOLE_LOG = "audit:whole_log"  # every organisation's events, and verifying the live log
    CONSISTENCY = "audit:consistency"
    CHECKPOINTS = "audit:checkpoints"


P = AuditPermission
POLICY: Policy[AuditPermission] = Policy("auditlog", AuditPermission, {
    P.EVENTS_READ: Rule(scope="audit:read", parties={"org": OVERSIGHT}, platform=COMPLIANCE,
                        why="Reading the audit log needs the owner, admin or auditor role."),
    P.EVENT_PROOF: Rule(scope="audit:read", parties={"actor": OVERSIGHT, "subject": OVERSIGHT}, platform=COMPLIANCE),
    P.WHOLE_LOG: Rule(scope="audit:read", platform=COMPLIANCE, why="Verifying the whole log is for platform compliance."),
    P.CONSISTENCY: Rule(scope="audit:read", parties={"org": OVERSIGHT}, platform=COMPLIANCE,
                        why="Consistency proofs are for auditors: an organisation's owner, admin or auditor, or platform compliance."),
    P.CHECKPOINTS: Rule(scope="audit:read", signed_in=True),
}, hidden={"org": "No such organisation.", "actor": "No such event.", "subject": "No such event."})
