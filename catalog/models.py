"""Catalogue models: datasets, their immutable versions, files, and content-addressed blobs."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.kernel.db import Base, new_id, str_enum, utcnow


class Visibility(enum.StrEnum):
    draft = "draft"  # only the vendor sees it
    listed = "listed"  # in search, once a version is published
    unlisted = "unlisted"  # reachable by id/slug, not in search
    delisted = "delisted"  # removed from sale; existing grants keep working


class VersionStatus(enum.StrEnum):
    draft = "draft"
    processing = "processing"
    published = "published"
    deprecated = "deprecated"
    withdrawn = "withdrawn"


class FileStatus(enum.StrEnum):
    pending = "pending"  # declared, no bytes yet
    uploading = "uploading"  # a multipart upload is open
    uploaded = "uploaded"  # bytes in staging (or an identical blob exists), not yet verified
    verified = "verified"  # size and digest checked server-side, stored content-addressed
    failed = "failed"  # ingest found a mismatch; see failure_reason


class CatalogState(Base):
    """One row: a generation number bumped in the same transaction as any change that can alter
    search results, so cached facet counts are never served stale."""

    __tablename__ = "catalog_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)


class Domain(Base):
    """The controlled, extensible domain taxonomy (platform admins add entries)."""

    __tablename__ = "domains"

    slug: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(500))


class Dataset(Base):
    __tablename__ = "datasets"
    __table_args__ = (
        UniqueConstraint("organization_id", "slug"),
        Index("ix_datasets_listing", "visibility", "published_at", "id"),
        Index("ix_datasets_listing_size", "visibility", "total_bytes", "id"),
        Index("ix_datasets_listing_hours", "visibility", "media_ms", "id"),
        # The price sorts' keys (no price sorts first ascending and last descending), so a price-
        # sorted search walks an index and stops at the page instead of sorting every match.
        Index("ix_datasets_listing_price_asc", "visibility", text("coalesce(min_price_minor, 4611686018427387904)"), "id"),
        Index("ix_datasets_listing_price_desc", "visibility", text("coalesce(min_price_minor, -1)"), "id"),
        # Full-text search on PostgreSQL: a GIN index over the stored, weighted tsvector.
        Index("ix_datasets_fts", "search_vector", postgresql_using="gin").ddl_if(dialect="postgresql"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"), index=True)
    slug: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(1000), default="")
    card_markdown: Mapped[str] = mapped_column(Text, default="")
    domain: Mapped[str] = mapped_column(ForeignKey("domains.slug"), index=True)
    visibility: Mapped[str] = mapped_column(str_enum(Visibility, "visibility"), default=Visibility.draft)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Denormalised for search: kept by the services when versions publish and offers change.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # PostgreSQL: title (A), summary and tags (B), card (C) as a stored tsvector, so matching
    # and ranking never re-parse text. SQLite keeps its FTS5 table instead and leaves this NULL.
    search_vector: Mapped[str | None] = mapped_column(Text().with_variant(TSVECTOR(), "postgresql"))
    published_at: Mapped[datetime | None]
    latest_version_id: Mapped[uuid.UUID | None]
    total_bytes: Mapped[int | None] = mapped_column(BigInteger)
    total_records: Mapped[int | None] = mapped_column(BigInteger)
    min_price_minor: Mapped[int | None] = mapped_column(BigInteger)
    price_currency: Mapped[str | None] = mapped_column(String(3))
    price_unit: Mapped[str | None] = mapped_column(String(16))  # the unit of min_price_minor: records, gib, downloads or term
    license_use_class: Mapped[str | None] = mapped_column(String(16))
    # The latest version's media figures (catalog.analysis.media_figures) and its hours of audio
    # and video in milliseconds, what search filters and sorts by.
    media: Mapped[dict[str, Any] | None]
    media_ms: Mapped[int | None] = mapped_column(BigInteger)

    facets: Mapped[list["DatasetFacet"]] = relationship(back_populates="dataset", lazy="raise", cascade="all, delete-orphan")
    versions: Mapped[list["DatasetVersion"]] = relationship(back_populates="dataset", lazy="raise")


class DatasetFacet(Base):
    """One (kind, value) of a dataset: modality, language or tag. A table, not a JSON column, so
    that filters and facet counts use an index on every backend."""

    __tablename__ = "dataset_facets"
    __table_args__ = (Index("ix_dataset_facets_kind_value", "kind", "value", "dataset_id"),)

    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)

    dataset: Mapped[Dataset] = relationship(back_populates="facets", lazy="raise")


class SearchPosting(Base):
    """One word of one dataset's index with its score (PostgreSQL): the narrow ranking table.

    Relevance is the sum of the query words' scores. Read through the index on (term, score,
    id), the best datasets for a word come first, so the top of a broad query is found without
    ranking every match: catalog/services/ranking.py stops as soon as no unseen dataset can beat
    the page. Kept in step with `search_vector` by `index_dataset`, for every dataset whatever
    its visibility: what is public is decided when candidates are joined to `datasets`."""

    __tablename__ = "search_postings"
    # The facet codes ride in the index: a query's facet counts are an index-only scan.
    __table_args__ = (Index("ix_search_postings_rank", "term", "score", "dataset_id", postgresql_include=["facets"]),)

    # No foreign key: a reindex writes tens of millions of rows, and a per-row key check would be
    # most of its cost. A trigger on `datasets` deletes a deleted dataset's rows (migration 0013).
    dataset_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(Text, primary_key=True)
    # An integer (1000 x the weight), so a sum is exact in any order and a cursor compares equal.
    score: Mapped[int] = mapped_column(Integer)
    # The dataset's public facet values as `facet_codes`, "*" included; NULL while it is not
    # public. Counting a query's facets reads these, never the datasets.
    facets: Mapped[list[int] | None] = mapped_column(ARRAY(Integer).with_variant(JSON(), "sqlite"))


class FacetCode(Base):
    """A small integer for each `kind:value` facet string (insert-only), so postings carry their
    dataset's facet values compactly."""

    __tablename__ = "facet_codes"

    code: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kv: Mapped[str] = mapped_column(Text, unique=True)


class SearchDoc(Base):
    """A public dataset's facet values as `kind:value` strings, one row per listed dataset with a
    published version (and no row otherwise). Triggers keep `facet_pairs` in step with it."""

    __tablename__ = "search_docs"

    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    facets: Mapped[list[str]] = mapped_column(ARRAY(Text).with_variant(JSON(), "sqlite"))


class FacetPair(Base):
    """Pre-aggregated facet counts: how many public datasets have facet value `b` among those that
    have `a` ("*" stands for all of them). The counts of a search filtered by at most one facet
    value are one indexed read, at any catalogue size. Maintained by database triggers on
    `search_docs` (migration 0013), so no write path can leave them behind."""

    __tablename__ = "facet_pairs"

    a: Mapped[str] = mapped_column(Text, primary_key=True)
    b: Mapped[str] = mapped_column(Text, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class SearchWord(Base):
    """The words "did you mean" corrects to: every word of datasets' titles, summaries and tags and
    of the domains' words. Insert-only (a superset of what is public): a suggestion is used only
    once a listed dataset is found to contain it. A trigram index finds near spellings on
    PostgreSQL without reading the whole vocabulary."""

    __tablename__ = "search_vocabulary"
    __table_args__ = (Index("ix_search_vocabulary_trgm", "word", postgresql_using="gin", postgresql_ops={"word": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),)

    word: Mapped[str] = mapped_column(String(100), primary_key=True)


class DatasetVersion(Base):
    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(64))
    changelog: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(str_enum(VersionStatus, "version_status"), default=VersionStatus.draft)
    status_reason: Mapped[str | None] = mapped_column(String(2000))
    ingest_report: Mapped[dict[str, Any] | None]
    manifest_digest: Mapped[str | None] = mapped_column(String(64))
    total_bytes: Mapped[int | None] = mapped_column(BigInteger)
    total_records: Mapped[int | None] = mapped_column(BigInteger)
    media: Mapped[dict[str, Any] | None]  # hours, sample rates, resolutions, speakers: catalog.analysis.media_figures
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]

    dataset: Mapped[Dataset] = relationship(back_populates="versions", lazy="raise")
    files: Mapped[list["VersionFile"]] = relationship(back_populates="version", lazy="raise", order_by="VersionFile.path")


class VersionFile(Base):
    __tablename__ = "version_files"
    __table_args__ = (UniqueConstraint("version_id", "path"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(1024))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    media_type: Mapped[str] = mapped_column(String(128))
    format: Mapped[str] = mapped_column(String(16))
    records: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(str_enum(FileStatus, "file_status"), default=FileStatus.pending)
    failure_reason: Mapped[str | None] = mapped_column(String(2000))
    upload_id: Mapped[str | None] = mapped_column(String(1024))
    part_size: Mapped[int | None] = mapped_column(BigInteger)
    # CRC-32 of each part of the open multipart upload, when the client declared them: the part
    # URLs are signed for them, so the store refuses a part damaged on the way.
    part_checksums: Mapped[list[str] | None]
    schema: Mapped[dict[str, Any] | None]
    stats: Mapped[dict[str, Any] | None]
    preview: Mapped[dict[str, Any] | None]
    # Milliseconds of audio or video in the file (a shard's: its members'), what per-hour offers
    # debit; measured at ingest (catalog.media).
    media_ms: Mapped[int | None] = mapped_column(BigInteger)
    # The file as a Parquet table (`catalog.tables`): a CSV or JSONL file's conversion, made at
    # ingest and content-addressed like any blob; a Parquet file's own bytes. None when the file
    # is not tabular or could not be read as a table (the ingest report says why).
    table_sha256: Mapped[str | None] = mapped_column(String(64))
    table_size: Mapped[int | None] = mapped_column(BigInteger)
    table_records: Mapped[int | None] = mapped_column(BigInteger)  # rows as the table's reader parses them
    table_schema: Mapped[dict[str, Any] | None]
    # Whether the manifest lists the table (made at ingest). A table made later for a version
    # published before tables existed is not listed: that version's root digest, quoted in
    # citations, BOMs and buyers' download records, must not change.
    table_listed: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    version: Mapped[DatasetVersion] = relationship(back_populates="files", lazy="raise")


class Blob(Base):
    """A verified object in the content-addressed store, shared by every file with its digest."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BlobHolder(Base):
    """An organisation that has proven it holds a blob's bytes, by uploading them itself.

    De-duplication saves storage, never grants access: a digest read from another vendor's
    public manifest must not let a vendor reference bytes it never had. Within an organisation
    re-declaring a digest it holds is free; across organisations the bytes are uploaded (and the
    duplicate copy dropped after verification), so no answer depends on what others store."""

    __tablename__ = "blob_holders"

    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256", ondelete="CASCADE"), primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def blob_key(sha256: str) -> str:
    """Objects are keyed by their SHA-256, fanned out so no prefix grows too large."""
    return f"blobs/sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def preview_key(sha256: str, kind: str, ext: str) -> str:
    """A media file's preview (clip, thumbnail or poster), made from and named by its content."""
    return f"previews/sha256/{sha256[:2]}/{sha256}.{kind}.{ext}"


def staging_key(file_id: uuid.UUID) -> str:
    """Uploads land here first; only verified bytes are copied to their content address."""
    return f"staging/{file_id}"


class AccessStatus(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"  # by the buyer, while pending


class AccessGate(Base):
    """A dataset that is "access on request": for its samples, as the gate to private offers,
    or both, with the questions the vendor asks and the response time it promises."""

    __tablename__ = "access_gates"

    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    samples: Mapped[bool] = mapped_column(default=False)  # samples only for approved requesters
    private_offers: Mapped[bool] = mapped_column(default=False)  # buyers ask; approval can make them a private offer
    fields: Mapped[list[Any]]  # [{name, label, type, required, options?, max_length?, terms?}]
    response_days: Mapped[int] = mapped_column(Integer, default=5)
    instructions: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccessRequest(Base):
    """A buyer organisation's request for access to a gated dataset, and the vendor's answer."""

    __tablename__ = "access_requests"
    __table_args__ = (
        # At most one open request per dataset and buyer, however many submit at once.
        Index("uq_access_requests_open", "dataset_id", "buyer_org_id", unique=True, postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'")),
        Index("ix_access_requests_vendor", "vendor_org_id", "created_at"),
        Index("ix_access_requests_buyer", "buyer_org_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    vendor_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    buyer_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    answers: Mapped[dict[str, Any]]
    # The SHA-256 of each terms text the requester ticked ({field name: digest}).
    accepted_terms: Mapped[dict[str, Any]]
    status: Mapped[AccessStatus] = mapped_column(str_enum(AccessStatus, "access_status"), default=AccessStatus.pending)
    reason: Mapped[str | None] = mapped_column(String(200))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    due_at: Mapped[datetime]  # created + the vendor's stated response time
    offer_id: Mapped[uuid.UUID | None]  # the private offer made on approval, if any
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetViewDay(Base):
    """How many times a dataset's page was seen on a day (by anyone but its own vendor): the
    "views" of the vendor's sales analytics. One row per dataset and day, counted up in place."""

    __tablename__ = "dataset_view_days"

    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
