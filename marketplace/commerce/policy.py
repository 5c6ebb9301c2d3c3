"""Who may do what in commerce: offers, orders, grants and payouts, in one table.

Parties: `org` is the organisation an offer list or order list belongs to; `vendor` and `buyer`
are the two sides of an order or grant. Another tenant's order or grant is answered as not found.
"""

from __future__ import annotations

import enum

from marketplace.kernel.policy import ANY_ROLE, MANAGERS, OWNERS, WRITERS, Platform, Policy, Rule

STAFF = frozenset({Platform.admin, Platform.compliance})


class CommercePermission(enum.StrEnum):
    OFFER_CREATE = "offer:create"
    OFFER_UPDATE = "offer:update"
    ORDER_PLACE = "order:place"
    ORDER_READ = "order:read"
    ORDER_LIST = "order:list"
    ORDER_MARK_PAID = "order:mark_paid"
    ORDER_CANCEL = "order:cancel"
    ORDER_REJECT = "order:reject"
    GRANT_READ = "grant:read"
    GRANT_LIST = "grant:list"
    GRANT_ACCEPT_TERMS = "grant:accept_terms"
    VERSION_HOLDERS = "version:holders"
    PAYOUT_ACCOUNT_SET = "org:payout_account"


P = CommercePermission
POLICY: Policy[CommercePermission] = Policy("commerce", CommercePermission, {
    # Offers are part of the vendor's catalogue: its writers (not auditors), with catalog:write.
    P.OFFER_CREATE: Rule(scope="catalog:write", parties={"vendor": WRITERS}, why="Auditors have read-only access."),
    P.OFFER_UPDATE: Rule(scope="catalog:write", parties={"vendor": WRITERS}, why="Auditors have read-only access."),
    P.ORDER_PLACE: Rule(scope="commerce:write", parties={"buyer": WRITERS}, why="Auditors cannot buy for their organisation."),
    P.ORDER_READ: Rule(scope="commerce:read", parties={"buyer": ANY_ROLE, "vendor": ANY_ROLE}, platform=frozenset({Platform.admin})),
    P.ORDER_LIST: Rule(scope="commerce:read", parties={"org": ANY_ROLE}, platform=frozenset({Platform.admin})),
    P.ORDER_MARK_PAID: Rule(scope="commerce:write", parties={"vendor": MANAGERS}, platform=frozenset({Platform.admin}),
                            why="Only the vendor's admins or a platform admin can mark an order as paid."),
    P.ORDER_CANCEL: Rule(scope="commerce:write", parties={"buyer": WRITERS}, sees=frozenset({Platform.admin}),
                         why="Only members of the buying organisation can cancel its order."),
    P.ORDER_REJECT: Rule(scope="commerce:write", parties={"vendor": MANAGERS}, platform=frozenset({Platform.admin}),
                         why="Only the vendor's admins or a platform admin can reject an order."),
    P.GRANT_READ: Rule(scope="commerce:read", parties={"buyer": ANY_ROLE, "vendor": ANY_ROLE}, platform=STAFF),
    P.GRANT_LIST: Rule(scope="commerce:read", parties={"org": ANY_ROLE}, platform=STAFF),
    P.GRANT_ACCEPT_TERMS: Rule(scope="commerce:write", parties={"buyer": WRITERS}, sees=STAFF,
                               why="Only members of the buying organisation accept terms for it."),
    P.VERSION_HOLDERS: Rule(scope="commerce:read", parties={"vendor": ANY_ROLE}),
    P.PAYOUT_ACCOUNT_SET: Rule(scope="org:admin", parties={"org": OWNERS}, sees=frozenset({Platform.admin}),
                               why="This needs the owner role in the organisation."),
}, hidden={"org": "No such organisation.", "vendor": "No such order.", "buyer": "No such order."})
