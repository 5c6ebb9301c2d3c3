"""The overlap index and its findings.

The index is two narrow tables: one row per signed record (its exact hash and a compact MinHash
signature), and one row per LSH band key of each record, whose primary key (band, record) is the
lookup: records sharing a band key with a query record are its near-duplicate candidates. Rows
are written while a version is ingested and count once the version is published; they are
deleted when the version is withdrawn or sent back to draft.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.kernel.db import Base, new_id, str_enum, utcnow


class OverlapRecord(Base):
    __tablename__ = "overlap_records"
    __table_args__ = (Index("ix_overlap_records_exact", "exact"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("version_files.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(BigInteger)  # the record's position in its file, from 0
    # Where to read it again for the exact check of a near-duplicate candidate: its byte range
    # (JSONL, CSV), or (row group, row) for Parquet.
    offset: Mapped[int] = mapped_column(BigInteger)
    length: Mapped[int] = mapped_column(BigInteger)
    exact: Mapped[int] = mapped_column(BigInteger)  # signing.exact_key
    signature: Mapped[bytes] = mapped_column(LargeBinary)  # NUM_PERM little-endian uint16: the MinHash values' low bits


class OverlapBand(Base):
    __tablename__ = "overlap_bands"

    band: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    record_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"), index=True)


class OverlapState(enum.StrEnum):
    clear = "clear"  # below the platform's threshold (or no other vendor's data found)
    blocked = "blocked"  # above it: the version went back to draft with the reason
    appealed = "appealed"  # the vendor asked platform compliance to let it publish
    overridden = "overridden"  # platform compliance allowed it; publishing again goes through


class OverlapReport(Base):
    """One per version: what ingest found, the vendor's choice of text fields, and the block,
    appeal and override state."""

    __tablename__ = "overlap_reports"

    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"), primary_key=True)
    text_fields: Mapped[list[str] | None]  # the vendor's choice; None: every text-bearing field
    state: Mapped[str] = mapped_column(str_enum(OverlapState, "overlap_state"), default=OverlapState.clear)
    records: Mapped[int] = mapped_column(BigInteger, default=0)  # records signed (with text)
    duplicate_exact: Mapped[int] = mapped_column(BigInteger, default=0)  # records equal to an earlier one of the version
    duplicate_near: Mapped[int] = mapped_column(BigInteger, default=0)  # not equal, but Jaccard >= 0.8 with an earlier one
    files: Mapped[dict[str, Any] | None]  # path -> {"records", "text": bool, "reason"?}
    reason: Mapped[str | None] = mapped_column(String(2000))  # why publishing was blocked
    appeal: Mapped[str | None] = mapped_column(Text)
    appealed_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[uuid.UUID | None]
    decided_at: Mapped[datetime | None]
    algorithm: Mapped[str | None] = mapped_column(String(64))
    content_key: Mapped[str | None] = mapped_column(String(64))  # the files the findings (and an override) are for
    computed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OverlapFinding(Base):
    """How much of one version (the subject) was found in one other published version."""

    __tablename__ = "overlap_findings"
    __table_args__ = (Index("ix_overlap_findings_other", "other_dataset_id"), Index("ix_overlap_findings_version", "version_id", "other_version_id", unique=True))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"))
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    other_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"), index=True)
    other_dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    other_org_id: Mapped[uuid.UUID]
    same_vendor: Mapped[bool]
    other_earlier: Mapped[bool]  # the other version was published before this one
    records: Mapped[int] = mapped_column(BigInteger)  # the subject's signed records
    exact: Mapped[int] = mapped_column(BigInteger)  # subject records with an exact copy in the other
    near: Mapped[int] = mapped_column(BigInteger)  # subject records with only a near copy there
    other_records: Mapped[int] = mapped_column(BigInteger)  # the other version's signed records
    other_matched: Mapped[int] = mapped_column(BigInteger)  # of those, how many have a copy here
    share: Mapped[float] = mapped_column(Float)  # (exact + near) / records
    files: Mapped[dict[str, Any] | None]  # subject path -> share of its records found in the other
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
