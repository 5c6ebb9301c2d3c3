"""The audit actions of this domain. Commerce: offers, orders, payments, grants and the quota ledger.

Every audit event names one of these (the audit writer refuses anything else), so the actions
are listed in one place, and compliance queries use the same names."""

from __future__ import annotations

from marketplace.kernel.audit import AuditAction


class CommerceAction(AuditAction):
    GRANT_ACTIVE = "grant.active"
    GRANT_CREATE = "grant.create"
    GRANT_EXPIRED = "grant.expired"
    GRANT_EXTEND = "grant.extend"
    GRANT_HELD = "grant.held"
    GRANT_FOLLOWS_LATEST = "grant.follows_latest"
    GRANT_REVOKED = "grant.revoked"
    GRANT_SUSPENDED = "grant.suspended"
    GRANT_VERSION_WITHDRAWN = "grant.version_withdrawn"
    OFFER_CREATE = "offer.create"
    OFFER_UPDATE = "offer.update"
    ORDER_CANCEL = "order.cancel"
    ORDER_CHECKOUT = "order.checkout"
    ORDER_CREATE = "order.create"
    ORDER_PAID = "order.paid"
    ORDER_PAYMENT_FAILED = "order.payment_failed"
    ORDER_REFUND = "order.refund"
    ORDER_REJECT = "order.reject"
    ORG_PAYOUT_ACCOUNT = "org.payout_account"
    QUOTA_CREDIT = "quota.credit"
    QUOTA_DEBIT = "quota.debit"
    QUOTA_THRESHOLD = "quota.threshold"
    QUOTA_WITHDRAW = "quota.withdraw"
