"""A share token: the bearer credential of one grant's Delta Sharing profile.

Only a SHA-256 of the secret is stored (256 random bits: a fast hash is safe, as for API keys).
A token acts for the buyer member who created it, with the delivery scope only, for one grant:
it stops when revoked, when it expires (never after the grant's paid term, nor after the API key
it was made with), when that key is revoked, when its creator leaves the organisation (for good:
rejoining does not bring it back) or is disabled, and, for a token made in a browser, when its
creator signs out everywhere or changes the password.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.kernel.db import Base, new_id, utcnow


class ShareToken(Base):
    __tablename__ = "share_tokens"
    __table_args__ = (Index("ix_share_tokens_grant", "grant_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    grant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("grants.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The API key it was made with, if any: the token never outlives it (revoked or expired, the
    # token stops too). Made in a browser: it ends when the user signs out everywhere or changes
    # the password.
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
