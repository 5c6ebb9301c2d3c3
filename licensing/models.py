"""Licensing models: licences (versioned, text pinned by SHA-256), each dataset version's licence,
provenance declarations (revisioned, attested), and the lineage edges between versions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.kernel.db import Base, new_id, utcnow


class License(Base):
    """One version of a licence. Rows are never updated once created: a change is a new version."""

    __tablename__ = "licenses"
    __table_args__ = (UniqueConstraint("identifier", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    identifier: Mapped[str] = mapped_column(String(128), index=True)  # SPDX id or LicenseRef-...
    version: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(1000))
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    terms: Mapped[dict[str, Any]]
    use_class: Mapped[str] = mapped_column(String(16))
    owner_org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"), index=True)  # None: standard
    # Model providers' terms: who publishes them and the date the pinned text took effect.
    provider: Mapped[str | None] = mapped_column(String(100))
    effective_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VersionLicense(Base):
    """The licence a dataset version is offered under (fixed once the version is published)."""

    __tablename__ = "version_licenses"

    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"), primary_key=True)
    license_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("licenses.id", ondelete="RESTRICT"), index=True)
    set_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProvenanceDeclaration(Base):
    """One revision of what a vendor declares about a version's origins. Superseded revisions are
    kept (history); the body is pinned by the digest the vendor attested."""

    __tablename__ = "provenance_declarations"
    __table_args__ = (UniqueConstraint("version_id", "revision"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int]
    body: Mapped[dict[str, Any]]
    digest: Mapped[str] = mapped_column(String(64))
    attested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    attested_name: Mapped[str] = mapped_column(String(200))
    attested_at: Mapped[datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[datetime | None]


class LineageEdge(Base):
    """version → upstream registry version, from the current declaration (for graph walks and
    for finding everything downstream of a version)."""

    __tablename__ = "lineage_edges"
    __table_args__ = (Index("ix_lineage_edges_upstream", "upstream_version_id"),)

    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"), primary_key=True)
    upstream_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dataset_versions.id", ondelete="RESTRICT"), primary_key=True)
    relation: Mapped[str] = mapped_column(String(16))  # derived | licensed
