"""Sealed audit blocks and the leaf hash of every sealed event. Both are append-only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.kernel.db import Base


class AuditBlock(Base):
    """A checkpoint: the Merkle root over a batch of events, chained to the previous block and
    signed with the platform's Ed25519 key."""

    __tablename__ = "audit_blocks"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False)
    event_count: Mapped[int]
    first_event_id: Mapped[int] = mapped_column(BigInteger)
    last_event_id: Mapped[int] = mapped_column(BigInteger)
    event_ids_sha256: Mapped[str] = mapped_column(String(64))  # over the block's event ids, in order
    merkle_root: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime]
    block_hash: Mapped[str] = mapped_column(String(64), unique=True)
    signature: Mapped[str] = mapped_column(Text)  # base64 Ed25519 over the block hash
    key_id: Mapped[str] = mapped_column(String(32))
    # The whole-log tree after this block (signed, in the block hash), and its frontier (not
    # signed: derivable from the leaves; kept so the next seal appends without re-reading them).
    # Null on blocks sealed before the log tree existed.
    tree_size: Mapped[int | None] = mapped_column(BigInteger)
    tree_root: Mapped[str | None] = mapped_column(String(64))
    frontier: Mapped[list[Any] | None]


class AuditLeaf(Base):
    __tablename__ = "audit_leaves"

    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False)
    block_id: Mapped[int] = mapped_column(ForeignKey("audit_blocks.id", ondelete="RESTRICT"), index=True)
    position: Mapped[int]
    leaf_hash: Mapped[str] = mapped_column(String(64))
    # The event's position in the log of each organisation it concerns ({org id: n}), hashed into
    # the leaf: an organisation's export proves it is complete (positions 1..N, none missing).
    org_seq: Mapped[dict[str, int] | None]


class AuditOrgHead(Base):
    """The last position given to an organisation's events (only sealers write it, in turn)."""

    __tablename__ = "audit_org_heads"

    org_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    block_id: Mapped[int] = mapped_column(BigInteger)
