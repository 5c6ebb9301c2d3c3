"""Who may do what with notifications, in one table.

Webhook endpoints are the organisation's: its owners and admins manage them and read their
delivery logs (the log shows what the receiver answered). A notification centre and e-mail
preferences belong to one user: any signed-in user reads only their own, which the services
enforce by filtering on the caller, so another user's entry is simply not found.
"""

from __future__ import annotations

import enum

from marketplace.kernel.policy import MANAGERS, Policy, Rule


class NotificationPermission(enum.StrEnum):
    ENDPOINT_MANAGE = "webhooks:manage"  # create, change, rotate, delete, test, redeliver
    ENDPOINT_READ = "webhooks:read"  # endpoints and their delivery logs
    CENTRE = "notifications:centre"  # one's own notifications
    PREFERENCES = "notifications:preferences"  # one's own e-mail preferences


P = NotificationPermission
POLICY: Policy[NotificationPermission] = Policy("notifications", NotificationPermission, {
    P.ENDPOINT_MANAGE: Rule(scope="org:admin", parties={"org": MANAGERS}, why="Webhook endpoints are managed by the organisation's owners and admins."),
    P.ENDPOINT_READ: Rule(scope="org:admin", parties={"org": MANAGERS}, why="Webhook endpoints and their delivery logs are for the organisation's owners and admins."),
    P.CENTRE: Rule(scope="notifications", signed_in=True),
    P.PREFERENCES: Rule(scope="notifications", signed_in=True),
}, hidden={"org": "No such webhook endpoint."})
