"""The acting principal: who is calling, for which organisation, with which scopes.

Views build a :class:`Principal` from the session cookie or the API key and pass it to services;
services never read `flask.request`. It also carries the request id and client address so that
the audit events a service writes can name them.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from typing import Mapping

from marketplace.kernel.errors import Forbidden, Unauthenticated


class OrgRole(enum.StrEnum):
    """Roles inside an organisation, from most to least powerful."""

    owner = "owner"
    admin = "admin"
    member = "member"
    auditor = "auditor"


# Scopes an API key may carry. A browser session holds all of them (it acts as its user).
SCOPES: dict[str, str] = {
    "catalog:read": "Read datasets, versions, files and licences, including drafts of your organisation.",
    "catalog:write": "Create and change datasets, versions, uploads and provenance.",
    "commerce:read": "Read offers, orders and grants.",
    "commerce:write": "Create offers and orders.",
    "delivery": "Authorise downloads and stream records under your grants.",
    "audit:read": "Query and export the audit log and compliance reports.",
    "compliance:write": "Declare models and training runs, and attach the data they were trained on.",
    "org:admin": "Manage the organisation, its members, API keys and webhook endpoints.",
    "notifications": "Read and clear your notifications, and set your e-mail preferences.",
}

class StaleCredentials(Exception):
    """The auth epoch a cached API key was resolved under has moved (a key, user or membership
    changed somewhere): what was read in this transaction must be discarded and the request run
    again with the key checked in full. Raised by the statement that confirms the epoch, before
    any write; never reaches a client."""


ROLE_RANK = {OrgRole.owner: 4, OrgRole.admin: 3, OrgRole.member: 2, OrgRole.auditor: 1}


@dataclass(frozen=True)
class Principal:
    """An authenticated user (by session or API key) or an anonymous caller."""

    request_id: str = "-"
    ip: str | None = None
    user_id: uuid.UUID | None = None
    email: str | None = None
    is_platform_admin: bool = False
    is_platform_compliance: bool = False
    memberships: Mapping[uuid.UUID, OrgRole] = field(default_factory=dict)
    api_key_id: uuid.UUID | None = None
    key_org_id: uuid.UUID | None = None
    scopes: frozenset[str] | None = None  # None: every scope (browser session)
    session_id: uuid.UUID | None = None  # the browser session, when signed in by cookie
    # A key resolved from the per-process cache whose auth epoch is still to be confirmed by the
    # statement that uses it (see `StaleCredentials`); None once confirmed, or never cached.
    epoch_unconfirmed: int | None = None

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    def require_authenticated(self) -> "Principal":
        if not self.authenticated:
            raise Unauthenticated("Sign in or send an API key: Authorization: Bearer <key>.")
        return self

    def has_scope(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes

    def require_scope(self, scope: str) -> "Principal":
        self.require_authenticated()
        if not self.has_scope(scope):
            raise Forbidden(f"This API key lacks the '{scope}' scope.", required_scope=scope)
        return self

    def role_in(self, org_id: uuid.UUID) -> OrgRole | None:
        """The caller's role in `org_id`; an API key only ever acts for its own organisation."""
        if self.key_org_id is not None and org_id != self.key_org_id:
            return None
        return self.memberships.get(org_id)

    def has_role(self, org_id: uuid.UUID, minimum: OrgRole) -> bool:
        role = self.role_in(org_id)
        return role is not None and ROLE_RANK[role] >= ROLE_RANK[minimum]

    @property
    def org_ids(self) -> list[uuid.UUID]:
        if self.key_org_id is not None:
            return [self.key_org_id] if self.key_org_id in self.memberships else []
        return list(self.memberships)

    @property
    def platform_admin(self) -> bool:
        # Platform powers are for people at a browser or keys explicitly made by them with the
        # org:admin scope; an ordinary read-only key never carries them.
        return self.is_platform_admin and (self.scopes is None or "org:admin" in self.scopes)

    @property
    def platform_compliance(self) -> bool:
        return (self.is_platform_compliance or self.is_platform_admin) and self.has_scope("audit:read")


ANONYMOUS = Principal()
