"""Catalogue search: full-text query, filters, facet counts, sorting, cursor pagination.

PostgreSQL uses a GIN expression index over `to_tsvector('english', search_text)`; SQLite uses
an FTS5 table kept in step by :func:`index_dataset`. Only listed datasets with a published
version are public. Cursors are signed: a tampered cursor is a 400, not a confusing page.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, literal_column, select, text, tuple_

from catalog.models import Dataset, DatasetFacet, Domain, Visibility
from marketplace.core.db import get_session
from marketplace.core.errors import ValidationFailed
from marketplace.core.identity.models import Organization

SORTS = ("relevance", "newest", "size_asc", "size_desc", "price_asc", "price_desc")
MAX_LIMIT = 100
_BIG = 2**62


def _dialect() -> str:
    return get_session().get_bind().dialect.name


def index_dataset(ds: Dataset) -> None:
    """Keep the SQLite FTS5 table in step (PostgreSQL indexes the column expression itself)."""
    if _dialect() != "sqlite":
        return
    session = get_session()
    session.execute(text("DELETE FROM datasets_fts WHERE dataset_id = :id"), {"id": ds.id.hex})
    session.execute(text("INSERT INTO datasets_fts (dataset_id, body) VALUES (:id, :body)"), {"id": ds.id.hex, "body": ds.search_text or ""})


def _signer() -> URLSafeSerializer:
    from flask import current_app

    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="catalog.search-cursor")


def _fts_terms(q: str) -> list[str]:
    return re.findall(r"\w+", q.lower())[:20]


def search(principal: Any, *, q: str | None = None, domain: list[str] | None = None, modality: list[str] | None = None,
           language: list[str] | None = None, tag: list[str] | None = None, vendor: list[uuid.UUID] | None = None,
           license_class: list[str] | None = None, size_min: int | None = None, size_max: int | None = None,
           price_min: int | None = None, price_max: int | None = None, currency: str | None = None,
           sort: str = "relevance", cursor: str | None = None, limit: int = 20) -> dict[str, Any]:
    """One page of public search results with facet counts over the whole filtered set."""
    session = get_session()
    conds: list[Any] = [Dataset.visibility == Visibility.listed.value, Dataset.published_at.is_not(None)]
    rank = None
    terms = _fts_terms(q) if q else []
    if q and not terms:
        raise ValidationFailed("The query has no searchable words.", errors={"q": ["Use letters or digits."]})
    if terms:
        if _dialect() == "postgresql":
            tsv = func.to_tsvector(literal_column("'english'"), Dataset.search_text)
            tsq = func.websearch_to_tsquery(literal_column("'english'"), " ".join(terms))
            conds.append(tsv.op("@@")(tsq))
            rank = func.ts_rank_cd(tsv, tsq)
        else:
            rank_sub = (
                select(literal_column("dataset_id").label("dataset_id"), literal_column("bm25(datasets_fts)").label("score"))
                .select_from(text("datasets_fts")).where(text("datasets_fts MATCH :m")).subquery("fts")
            )
    for kind, values in (("modality", modality), ("language", language), ("tag", tag)):
        if values:
            conds.append(Dataset.id.in_(select(DatasetFacet.dataset_id).where(DatasetFacet.kind == kind, DatasetFacet.value.in_(values))))
    if domain:
        conds.append(Dataset.domain.in_(domain))
    if vendor:
        conds.append(Dataset.organization_id.in_(vendor))
    if license_class:
        conds.append(Dataset.license_use_class.in_(license_class))
    if size_min is not None:
        conds.append(Dataset.total_bytes >= size_min)
    if size_max is not None:
        conds.append(Dataset.total_bytes <= size_max)
    if price_min is not None:
        conds.append(Dataset.min_price_minor >= price_min)
    if price_max is not None:
        conds.append(Dataset.min_price_minor <= price_max)
    if currency:
        conds.append(Dataset.price_currency == currency.upper())

    base = select(Dataset.id).where(*conds)
    params: dict[str, Any] = {}
    if terms and _dialect() == "sqlite":
        base = base.join(rank_sub, rank_sub.c.dataset_id == Dataset.id)  # SQLite stores UUIDs as 32 hex digits
        params["m"] = " ".join(f'"{t}"' for t in terms)
        rank = -rank_sub.c.score
    if sort == "relevance" and rank is None:
        sort = "newest"

    # sort key: one or two expressions, always ending in id, all in the same direction
    if sort == "relevance":
        key, desc = [rank, Dataset.id], True
    elif sort == "newest":
        key, desc = [Dataset.published_at, Dataset.id], True
    elif sort in ("size_asc", "size_desc"):
        key, desc = [func.coalesce(Dataset.total_bytes, 0), Dataset.id], sort == "size_desc"
    else:
        key, desc = [func.coalesce(Dataset.min_price_minor, _BIG if sort == "price_asc" else -1), Dataset.id], sort == "price_desc"

    fingerprint = hashlib.sha256(json.dumps([q, domain, modality, language, tag, [str(v) for v in vendor or []], license_class,
                                             size_min, size_max, price_min, price_max, currency, sort], default=str).encode()).hexdigest()[:16]
    page = base.add_columns(*[k.label(f"k{i}") for i, k in enumerate(key)])
    if cursor:
        try:
            data = _signer().loads(cursor)
            assert data["f"] == fingerprint
            after = data["k"]
        except (BadSignature, AssertionError, KeyError, TypeError):
            raise ValidationFailed("The cursor is not valid for this search.", errors={"cursor": ["Invalid or tampered cursor; start again without it."]}) from None
        after_vals = [_decode(v) for v in after]
        page = page.where(tuple_(*key) < tuple_(*after_vals) if desc else tuple_(*key) > tuple_(*after_vals))
    page = page.order_by(*[k.desc() if desc else k.asc() for k in key]).limit(limit + 1)
    rows = session.execute(page, params).all()
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [r[0] for r in rows]
    next_cursor = None
    if more and rows:
        next_cursor = _signer().dumps({"f": fingerprint, "k": [_encode(v) for v in rows[-1][1:]]})

    items = _items(ids)
    filtered = base.subquery()
    total = session.scalar(select(func.count()).select_from(filtered), params) or 0
    facets = _facets(filtered, params)
    return {"items": items, "total": total, "facets": facets, "next_cursor": next_cursor}


def _encode(v: Any) -> Any:
    if isinstance(v, datetime):
        return {"t": v.isoformat()}
    if isinstance(v, uuid.UUID):
        return {"u": str(v)}
    return v


def _decode(v: Any) -> Any:
    if isinstance(v, dict) and "t" in v:
        return datetime.fromisoformat(v["t"])
    if isinstance(v, dict) and "u" in v:
        return uuid.UUID(v["u"])
    return v


def _items(ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    if not ids:
        return []
    from catalog.services.datasets import facets_of

    session = get_session()
    rows = {d.id: (d, name) for d, name in session.execute(select(Dataset, Organization.name).join(Organization, Organization.id == Dataset.organization_id).where(Dataset.id.in_(ids)))}
    f = facets_of(ids)
    out = []
    for i in ids:
        d, vendor_name = rows[i]
        out.append({
            "id": d.id, "slug": d.slug, "title": d.title, "summary": d.summary, "domain": d.domain,
            "modalities": f[i]["modality"], "languages": f[i]["language"], "tags": f[i]["tag"],
            "vendor": {"id": d.organization_id, "name": vendor_name},
            "total_bytes": d.total_bytes, "total_records": d.total_records, "min_price_minor": d.min_price_minor,
            "price_currency": d.price_currency, "license_use_class": d.license_use_class, "published_at": d.published_at,
            "latest_version_id": d.latest_version_id,
        })
    return out


def _facets(filtered: Any, params: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    session = get_session()
    out: dict[str, list[dict[str, Any]]] = {}
    rows = session.execute(
        select(Dataset.domain, Domain.label, func.count()).join(filtered, filtered.c.id == Dataset.id).join(Domain, Domain.slug == Dataset.domain)
        .group_by(Dataset.domain, Domain.label).order_by(func.count().desc(), Dataset.domain), params)
    out["domain"] = [{"value": v, "label": label, "count": c} for v, label, c in rows]
    for kind in ("modality", "language", "tag"):
        q = (select(DatasetFacet.value, func.count()).join(filtered, filtered.c.id == DatasetFacet.dataset_id).where(DatasetFacet.kind == kind)
             .group_by(DatasetFacet.value).order_by(func.count().desc(), DatasetFacet.value).limit(50))
        out[kind] = [{"value": v, "count": c} for v, c in session.execute(q, params)]
    rows = session.execute(
        select(Dataset.organization_id, Organization.name, func.count()).join(filtered, filtered.c.id == Dataset.id)
        .join(Organization, Organization.id == Dataset.organization_id).group_by(Dataset.organization_id, Organization.name)
        .order_by(func.count().desc(), Organization.name).limit(50), params)
    out["vendor"] = [{"value": str(v), "label": name, "count": c} for v, name, c in rows]
    rows = session.execute(select(Dataset.license_use_class, func.count()).join(filtered, filtered.c.id == Dataset.id)
                           .where(Dataset.license_use_class.is_not(None)).group_by(Dataset.license_use_class), params)
    out["license_class"] = [{"value": v, "count": c} for v, c in rows]
    return out
