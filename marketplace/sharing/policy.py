"""Who may manage a grant's Delta Sharing tokens, in one table: the buying organisation's members
who may take data (a token takes data), with the delivery scope. Making a token also asks the
entitlement decision, so no token is made for a grant that delivers nothing."""

from __future__ import annotations

import enum

from marketplace.kernel.policy import WRITERS, Policy, Rule


class SharingPermission(enum.StrEnum):
    MANAGE_TOKENS = "grant:share_tokens"


P = SharingPermission
POLICY: Policy[SharingPermission] = Policy("sharing", SharingPermission, {
    P.MANAGE_TOKENS: Rule(scope="delivery", parties={"buyer": WRITERS}, why="Only the buyer organisation's members share a grant's tables."),
}, hidden={"buyer": "No such grant.", "vendor": "No such grant."})
