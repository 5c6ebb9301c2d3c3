"""The audit actions of this domain: webhook endpoints and their deliveries, e-mail preferences
and unsubscribes. Every announcement itself is audited by the service that made it."""

from __future__ import annotations

from marketplace.kernel.audit import AuditAction


class NotificationAction(AuditAction):
    WEBHOOK_ENDPOINT_CREATE = "webhook.endpoint.create"
    WEBHOOK_ENDPOINT_UPDATE = "webhook.endpoint.update"
    WEBHOOK_ENDPOINT_DELETE = "webhook.endpoint.delete"
    WEBHOOK_ENDPOINT_ROTATE = "webhook.endpoint.rotate"
    WEBHOOK_ENDPOINT_DISABLED = "webhook.endpoint.disabled"
    WEBHOOK_REDELIVER = "webhook.redeliver"
    WEBHOOK_TEST = "webhook.test"
    EMAIL_PREFERENCES = "email.preferences"
    EMAIL_UNSUBSCRIBE = "email.unsubscribe"
    NOTIFICATION_ANNOUNCED = "notification.announced"
