"""The audit actions of this domain. Delivery: download authorisations and record streams (and their refusals).

Every audit event names one of these (the audit writer refuses anything else), so the actions
are listed in one place, and compliance queries use the same names."""

from __future__ import annotations

from marketplace.kernel.audit import AuditAction


class DeliveryAction(AuditAction):
    DELIVERY_AUTHORIZE = "delivery.authorize"
    DELIVERY_RECORDS = "delivery.records"
    DELIVERY_SHARE = "delivery.share_query"
