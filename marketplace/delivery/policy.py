"""Who may take data under a grant, in one table: members of the buying organisation who may
act (not its auditors: they read the paperwork, never the data), with the delivery scope. The
vendor's members see the grant (a refusal says so) but take nothing through it.

The table is the role part of the entitlement decision; `entitlement.decide` asks it first, then
checks the grant's state (term, refund, dispute, withdrawal, quota), and every delivery channel
calls `decide`."""

from __future__ import annotations

import enum

from marketplace.kernel.policy import WRITERS, Policy, Rule


class DeliveryPermission(enum.StrEnum):
    TAKE_DATA = "grant:take_data"


P = DeliveryPermission
POLICY: Policy[DeliveryPermission] = Policy("delivery", DeliveryPermission, {
    P.TAKE_DATA: Rule(scope="delivery", parties={"buyer": WRITERS}, why="Only the buyer organisation's members take data under a grant."),
}, hidden={"buyer": "No such grant.", "vendor": "No such grant."})

