"""The audit actions of this domain. Identity: accounts, logins, sessions, organisations, members, API keys.

Every audit event names one of these (the audit writer refuses anything else), so the actions
are listed in one place, and compliance queries use the same names."""

from __future__ import annotations

from marketplace.kernel.audit import AuditAction


class IdentityAction(AuditAction):
    API_KEY_CREATE = "api_key.create"
    API_KEY_REVOKE = "api_key.revoke"
    AUTH_API_KEY = "auth.api_key"
    AUTH_LOGIN = "auth.login"
    AUTH_PASSWORD_CHANGE = "auth.password.change"
    AUTH_SESSION_END = "auth.session.end"
    AUTH_SESSION_OPEN = "auth.session.open"
    AUTH_SESSION_REVOKE_ALL = "auth.session.revoke_all"
    ORG_CREATE = "org.create"
    ORG_MEMBER_ADD = "org.member.add"
    ORG_MEMBER_INVITE = "org.member.invite"
    ORG_INVITATION_ACCEPT = "org.invitation.accept"
    ORG_INVITATION_REVOKE = "org.invitation.revoke"
    ORG_MEMBER_REMOVE = "org.member.remove"
    ORG_MEMBER_ROLE = "org.member.role"
    ORG_UPDATE = "org.update"
    ORG_VENDOR_APPLY = "org.vendor.apply"
    ORG_VENDOR_DECIDE = "org.vendor.decide"
    USER_PLATFORM_ROLE = "user.platform_role"
    USER_REGISTER = "user.register"
