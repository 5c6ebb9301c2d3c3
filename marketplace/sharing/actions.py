"""The audit actions of this domain. Sharing: share tokens made and revoked, and protocol calls
refused for a bad token (each table query is audited by delivery, under its own action)."""

from __future__ import annotations

from marketplace.kernel.audit import AuditAction


class SharingAction(AuditAction):
    TOKEN_CREATE = "share_token.create"
    TOKEN_REVOKE = "share_token.revoke"
    AUTH_SHARE_TOKEN = "auth.share_token"
