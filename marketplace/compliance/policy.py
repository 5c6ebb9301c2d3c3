"""Who may read compliance outputs, in one table: the bill of materials of what an organisation
holds, the access section of a provenance report (who pulled a version's data), and the models,
training runs and regulatory documents of a buyer organisation."""

from __future__ import annotations

import enum

from marketplace.kernel.policy import ANY_ROLE, WRITERS, Platform, Policy, Rule

COMPLIANCE = frozenset({Platform.compliance})


class CompliancePermission(enum.StrEnum):
    HOLDINGS = "compliance:holdings"  # the bill of materials, the held-versions list
    ACCESS_SUMMARY = "compliance:access_summary"
    MODEL_READ = "compliance:model_read"  # models, runs, inputs and their documents (EU summary, filing pack, BOM)
    MODEL_WRITE = "compliance:model_write"  # declare models and runs, attach inputs


P = CompliancePermission
POLICY: Policy[CompliancePermission] = Policy("compliance", CompliancePermission, {
    P.HOLDINGS: Rule(scope="audit:read", parties={"org": ANY_ROLE}, platform=COMPLIANCE),
    P.ACCESS_SUMMARY: Rule(parties={"vendor": ANY_ROLE}, platform=COMPLIANCE),
    P.MODEL_READ: Rule(scope="audit:read", parties={"org": ANY_ROLE}, platform=COMPLIANCE),
    P.MODEL_WRITE: Rule(scope="compliance:write", parties={"org": WRITERS}, sees=COMPLIANCE),
}, hidden={"org": "No such organisation.", "vendor": "No such dataset."})
