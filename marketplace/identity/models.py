"""Identity models: users, organisations, memberships and API keys."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.kernel.db import Base, new_id, str_enum, utcnow
from marketplace.kernel.principal import OrgRole


class VendorStatus(enum.StrEnum):
    """Whether an organisation may list datasets; a platform admin decides."""

    none = "none"
    pending = "pending"
    approved = "approved"
    rejected = "rejected"




class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_platform_admin: Mapped[bool] = mapped_column(default=False)
    is_platform_compliance: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    memberships: Mapped[list["Membership"]] = relationship(back_populates="user", lazy="raise")


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    vendor_status: Mapped[VendorStatus] = mapped_column(str_enum(VendorStatus, "vendor_status"), default=VendorStatus.none)
    vendor_decided_at: Mapped[datetime | None]
    vendor_decision_reason: Mapped[str | None] = mapped_column(String(1000))
    stripe_account_id: Mapped[str | None] = mapped_column(String(255))  # Stripe Connect account that receives payouts
    # The vendor application: a public profile, who to contact, and where invoice payouts go.
    description: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(String(300))
    country: Mapped[str | None] = mapped_column(String(2))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    payout_account_holder: Mapped[str | None] = mapped_column(String(200))
    payout_iban: Mapped[str | None] = mapped_column(String(34))  # shown masked, never exported
    vendor_applied_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list["Membership"]] = relationship(back_populates="organization", lazy="raise")

    @property
    def is_approved_vendor(self) -> bool:
        return self.vendor_status == VendorStatus.approved


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "organization_id"), Index("ix_memberships_organization_id", "organization_id"))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    role: Mapped[OrgRole] = mapped_column(str_enum(OrgRole, "org_role"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships", lazy="raise")
    organization: Mapped[Organization] = relationship(back_populates="memberships", lazy="raise")


class ApiKey(Base):
    """A machine credential bound to one organisation and the user who created it.

    Only `prefix` (shown in listings, used to find the row) and a SHA-256 of the secret are
    stored. The secret is 256 random bits, so a fast hash is safe here and keeps the per-request
    check cheap; argon2 is for low-entropy human passwords.
    """

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class BrowserSession(Base):
    """A signed-in browser, revocable on the server.

    The cookie carries a random token; only its SHA-256 is stored. Every request checks the row,
    so logout, a password change, removal from an organisation or "sign out everywhere" ends a
    session at once on every worker: a copied cookie is worth nothing afterwards."""

    __tablename__ = "browser_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(100))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class AuthEpoch(Base):
    """One row whose counter rises with every change that can narrow what an API key may do
    (a key revoked or expired early, a membership added, changed or removed, a user disabled or
    given another platform role). Processes cache resolved keys for a few seconds and compare
    this counter on every request, so such a change takes effect at once on every worker while
    an unchanged key costs one tiny read instead of its lookups."""

    __tablename__ = "auth_epoch"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Invitation(Base):
    """An e-mailed invitation to join an organisation with a role. The link carries a secret;
    only its SHA-256 is stored. Accepted once, by a signed-in user with the invited address."""

    __tablename__ = "invitations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[OrgRole] = mapped_column(str_enum(OrgRole, "org_role"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]
