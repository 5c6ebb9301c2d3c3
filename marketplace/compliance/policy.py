"""Who may read compliance outputs, in one table: the bill of materials of what an organisation
holds, and the access section of a provenance report (who pulled a version's data)."""

from __future__ import annotations

import enum

from marketplace.kernel.policy import ANY_ROLE, Platform, Policy, Rule

COMPLIANCE = frozenset({Platform.compliance})


class CompliancePermission(enum.StrEnum):
    HOLDINGS = "compliance:holdings"  # the bill of materials, the held-versions list
    ACCESS_SUMMARY = "compliance:access_summary"


P = CompliancePermission
POLICY: Policy[CompliancePermission] = Policy("compliance", CompliancePermission, {
    P.HOLDINGS: Rule(scope="audit:read", parties={"org": ANY_ROLE}, platform=COMPLIANCE),
    P.ACCESS_SUMMARY: Rule(parties={"vendor": ANY_ROLE}, platform=COMPLIANCE),
}, hidden={"org": "No such organisation.", "vendor": "No such dataset."})
