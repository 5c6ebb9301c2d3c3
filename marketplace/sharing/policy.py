"""Who may manage a grant's Delta Sharing tokens, in one table: the buying organisation's members
who may take data (a token takes data), with the delivery scope; any of its members, auditors
included, may list them. Making a token also asks the
entitlement decision, so no token is made for a grant that delivers nothing."""

from __future__ import annotations

import enum

from marketplace.kernel.policy import ANY_ROLE, WRITERS, Policy, Rule


class SharingPermission(enum.StrEnum):
    MANAGE_TOKENS = "grant:share_tokens"
    VIEW_TOKENS = "grant:share_tokens:read"


P = SharingPermission
POLICY: Policy[SharingPermission] = Policy("sharing", SharingPermission, {
    P.MANAGE_TOKENS: Rule(scope="delivery", parties={"buyer": WRITERS}, why="Only the buyer organisation's members share a grant's tables."),
    # Which profiles can pull the data is oversight: the buyer's auditors read the list too.
    P.VIEW_TOKENS: Rule(scope="commerce:read", parties={"buyer": ANY_ROLE}, why="The buyer organisation sees its grants' sharing profiles."),
}, hidden={"buyer": "No such grant.", "vendor": "No such grant."})
