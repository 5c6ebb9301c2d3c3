"""Catalogue search: full-text query, filters, facet counts, sorting, cursor pagination.

PostgreSQL uses a GIN index over a stored, weighted tsvector (`search_vector`); SQLite uses
an FTS5 table kept in step by :func:`index_dataset`. Only listed datasets with a published
version are public. Cursors are signed: a tampered cursor is a 400, not a confusing page.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import re
import secrets
import threading
import uuid
from collections import OrderedDict
from datetime import datetime
from typing import Any, Callable

from flask import current_app
from sqlalchemy import ColumnElement, Double, SQLColumnExpression, String, cast, func, literal_column, select, text, tuple_, union_all, update

from catalog import cjk
from catalog.models import CatalogState, Dataset, DatasetFacet, Domain, Visibility
from catalog.synonyms import domain_words
from marketplace.identity.models import Organization
from marketplace.kernel.cursors import SignedCursor
from marketplace.kernel.db import get_session, transactional
from marketplace.kernel.errors import ValidationFailed

SORTS = ("relevance", "newest", "size_asc", "size_desc", "price_asc", "price_desc")
MAX_LIMIT = 100
_BIG = 2**62


def _dialect() -> str:
    return get_session().get_bind().dialect.name


def bump_generation() -> None:
    """Invalidate cached facet counts (in the caller's transaction)."""
    # A random value, not +1: a bump in a transaction that rolls back must never be reused by a
    # later commit, or a cache filled inside the rolled-back transaction would look current.
    get_session().execute(update(CatalogState).where(CatalogState.id == 1).values(generation=secrets.randbits(62)))


def current_generation() -> int:
    return get_session().scalar(select(CatalogState.generation).where(CatalogState.id == 1)) or 0


class FacetCache:
    """Facet counts and totals per (generation, filters), per process.

    Counting every match is O(matches): at 100k listed datasets a broad query costs ~150 ms,
    while the page of results itself is an index walk. Counts only change when the catalogue
    does, and then the generation moves, so a cached answer is never stale.
    """

    def __init__(self, size: int = 2048):
        self.size = size
        self._data: OrderedDict[tuple[int, str], tuple[int, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0
        self._vocabulary: tuple[int, list[str]] | None = None

    def vocabulary(self, generation: int, build: Callable[[], list[str]]) -> list[str]:
        """The words "did you mean" suggests from, rebuilt when the catalogue changes."""
        with self._lock:
            if self._vocabulary is not None and self._vocabulary[0] == generation:
                return self._vocabulary[1]
        words = build()
        with self._lock:
            self._vocabulary = (generation, words)
        return words

    def get(self, key: tuple[int, str]) -> tuple[int, dict[str, Any]] | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
            return hit

    def put(self, key: tuple[int, str], value: tuple[int, dict[str, Any]]) -> None:
        with self._lock:
            self._data[key] = value
            while len(self._data) > self.size:
                self._data.popitem(last=False)


def _cache() -> FacetCache:
    return current_app.extensions.setdefault("facet_cache", FacetCache())


def index_dataset(ds: Dataset) -> None:
    """Keep the full-text index in step with the dataset's text."""
    session = get_session()
    bump_generation()
    # The words buyers use for the dataset's domain, in several languages, weigh like its tags;
    # CJK text is indexed as character pairs too (catalog/cjk.py), with the card's weight.
    session.flush()
    words, tags = domain_words(ds.domain), _tags_text(ds)
    pairs = cjk.index_terms(" ".join([ds.title, ds.summary, tags, ds.card_markdown, words]))
    if _dialect() == "postgresql":
        session.execute(text(
            "UPDATE datasets SET search_vector = "
            "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
            "setweight(to_tsvector('english', coalesce(summary, '') || ' ' || coalesce(:tags, '') || ' ' || :words), 'B') || "
            "setweight(to_tsvector('english', coalesce(card_markdown, '') || ' ' || :pairs), 'C') WHERE id = :id"),
            {"id": ds.id, "tags": tags, "words": words, "pairs": pairs})
        return
    session.execute(text("DELETE FROM datasets_fts WHERE dataset_id = :id"), {"id": ds.id.hex})
    session.execute(text("INSERT INTO datasets_fts (dataset_id, body) VALUES (:id, :body)"), {"id": ds.id.hex, "body": f"{ds.search_text or ''}\n{words}\n{pairs}"})


@transactional
def reindex_all() -> int:
    """Rebuild every dataset's index entry (after the domain words or the weighting change)."""
    n = 0
    for ds in get_session().scalars(select(Dataset)):
        index_dataset(ds)
        n += 1
    return n


def _tags_text(ds: Dataset) -> str:
    return " ".join(get_session().scalars(select(DatasetFacet.value).where(DatasetFacet.dataset_id == ds.id, DatasetFacet.kind == "tag")))


CURSOR = SignedCursor("catalog.search-cursor", invalid="The cursor is not valid for this search.")


def _words(text: str) -> list[str]:
    return cjk.query_terms(re.findall(r"\w+", text.lower()))


def _fts_terms(q: str) -> list[str]:
    return _words(q)[:20]


def search(principal: Any, *, q: str | None = None, cursor: str | None = None, limit: int = 20, **filters: Any) -> dict[str, Any]:
    """One page of public search results with facet counts over the whole filtered set.

    A query is tried as typed, every word required. When that finds nothing, the first of these
    that finds something answers, and says so: the query with misspelt words corrected to the
    catalogue's spelling (`corrected_to`), the corrected words any of them, the typed words any of
    them (`match: "any"`). When nothing finds anything, the answer carries the `suggestion`."""
    if not q:
        return dict(_search(principal, q=q, cursor=cursor, limit=limit, **filters), match="all")
    terms = _fts_terms(q)
    if not terms:
        raise ValidationFailed("The query has no searchable words.", errors={"q": ["Use letters or digits."]})
    several = len(terms) > 1

    def finds(query: str, any_word: bool) -> bool:
        # Totals are cached per catalogue generation and filters: each try is cheap once seen.
        return _search(principal, q=query, limit=1, any_word=any_word, **filters)["total"] > 0

    # The common case costs one search: as typed, every word. A cursor from a corrected or
    # any-word search does not fit this one; the tries below find the search it belongs to.
    try:
        typed = _search(principal, q=q, cursor=cursor, limit=limit, **filters)
    except ValidationFailed:
        if not cursor:
            raise
        typed = None
    if typed is not None and typed["total"] > 0:
        return dict(typed, match="all")
    suggestion = _did_you_mean(terms)
    tries: list[tuple[str, bool, bool]] = []  # (query, any word, corrected)
    if suggestion:
        tries += [(suggestion, False, True)] + ([(suggestion, True, True)] if several else [])
    if several:
        tries.append((q, True, False))
    found = next((t for t in tries if finds(t[0], t[1])), None)
    if found is None:
        out = typed if typed is not None and not cursor else _search(principal, q=q, cursor=cursor, limit=limit, **filters)
        return dict(out, match="all", **({"suggestion": suggestion} if suggestion else {}))
    query, any_word, corrected = found
    out = dict(_search(principal, q=query, cursor=cursor, limit=limit, any_word=any_word, **filters), match="any" if any_word else "all")
    if corrected:
        out["corrected_to"] = query
    return out


def _search(principal: Any, *, q: str | None = None, domain: list[str] | None = None, modality: list[str] | None = None,
            language: list[str] | None = None, tag: list[str] | None = None, vendor: list[uuid.UUID] | None = None,
            license_class: list[str] | None = None, size_min: int | None = None, size_max: int | None = None,
            price_min: int | None = None, price_max: int | None = None, currency: str | None = None,
            sort: str = "relevance", cursor: str | None = None, limit: int = 20, any_word: bool = False) -> dict[str, Any]:
    session = get_session()
    conds: list[Any] = [Dataset.visibility == Visibility.listed.value, Dataset.published_at.is_not(None)]
    rank: ColumnElement[Any] | None = None
    terms = _fts_terms(q) if q else []
    if q and not terms:
        raise ValidationFailed("The query has no searchable words.", errors={"q": ["Use letters or digits."]})
    if terms:
        if _dialect() == "postgresql":
            tsq: ColumnElement[Any] = func.plainto_tsquery(literal_column("'english'"), " ".join(terms))
            if any_word:  # tsquery || tsquery: either matches
                parts: list[ColumnElement[Any]] = [func.plainto_tsquery(literal_column("'english'"), t) for t in terms]
                tsq = functools.reduce(lambda a, b: a.op("||")(b), parts)
            conds.append(Dataset.search_vector.op("@@")(tsq))
            # float4 → float8: the cursor carries the rank through JSON as a double, and a real
            # compared with its own double rendering would not be equal.
            rank = cast(func.ts_rank(Dataset.search_vector, tsq), Double)
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
        params["m"] = (" OR " if any_word else " ").join(f'"{t}"' for t in terms)
        rank = -rank_sub.c.score
    if sort == "relevance" and rank is None:
        sort = "newest"

    # sort key: one or two expressions, always ending in id, all in the same direction
    key: list[SQLColumnExpression[Any]]
    if sort == "relevance":
        assert rank is not None  # a relevance sort without a rank became "newest" above
        key, desc = [rank, Dataset.id], True
    elif sort == "newest":
        key, desc = [Dataset.published_at, Dataset.id], True
    elif sort in ("size_asc", "size_desc"):
        # listed + published implies total_bytes is set, so the plain column (and its index) sorts
        key, desc = [Dataset.total_bytes, Dataset.id], sort == "size_desc"
    else:
        key, desc = [func.coalesce(Dataset.min_price_minor, _BIG if sort == "price_asc" else -1), Dataset.id], sort == "price_desc"

    fingerprint = hashlib.sha256(json.dumps([q, domain, modality, language, tag, [str(v) for v in vendor or []], license_class,
                                             size_min, size_max, price_min, price_max, currency, sort, any_word], default=str).encode()).hexdigest()[:16]
    page = base.add_columns(*[k.label(f"k{i}") for i, k in enumerate(key)])
    if cursor:
        after = CURSOR.load(cursor, bound=fingerprint).get("k")
        if not isinstance(after, list) or len(after) != len(key):
            raise ValidationFailed("The cursor is not valid for this search.", errors={"cursor": ["Invalid or tampered cursor; start again without it."]})
        after_vals = [_decode(v) for v in after]
        page = page.where(tuple_(*key) < tuple_(*after_vals) if desc else tuple_(*key) > tuple_(*after_vals))
    page = page.order_by(*[k.desc() if desc else k.asc() for k in key]).limit(limit + 1)
    rows = session.execute(page, params).all()
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [r[0] for r in rows]
    next_cursor = None
    if more and rows:
        next_cursor = CURSOR.dump({"k": [_encode(v) for v in rows[-1][1:]]}, bound=fingerprint)

    items = _items(ids)
    facet_key = (current_generation(), _filters_key(q, domain, modality, language, tag, vendor, license_class, size_min, size_max, price_min, price_max, currency,
                                                    any_word))
    cached = _cache().get(facet_key)
    if cached is None:
        cached = _facets(base, params)
        _cache().put(facet_key, cached)
    total, facets = cached
    return {"items": items, "total": total, "facets": facets, "next_cursor": next_cursor}


def _vocabulary() -> list[str]:
    """Every word of listed datasets' titles, summaries and tags, and of their domains' words."""
    session = get_session()
    listed = (Dataset.visibility == Visibility.listed.value, Dataset.published_at.is_not(None))
    words: set[str] = set()
    for title, summary, dom in session.execute(select(Dataset.title, Dataset.summary, Dataset.domain).where(*listed)):
        words.update(_words(f"{title} {summary}"))
        words.update(_words(domain_words(dom)))
    for (value,) in session.execute(select(DatasetFacet.value).join(Dataset, Dataset.id == DatasetFacet.dataset_id)
                                    .where(DatasetFacet.kind == "tag", *listed).distinct()):
        words.update(_words(value))
    return sorted(w for w in words if len(w) >= 3)


def _did_you_mean(terms: list[str]) -> str | None:
    """The query with each word the catalogue does not know replaced by the closest one it does
    ("radiolgy" -> "radiology"), or None when nothing close is known."""
    vocab = _cache().vocabulary(current_generation(), _vocabulary)
    known = set(vocab)
    fixed, changed = [], False
    for t in terms:
        close = [] if t in known or len(t) < 3 else difflib.get_close_matches(t, vocab, n=1, cutoff=0.75)
        fixed.append(close[0] if close else t)
        changed = changed or bool(close)
    return " ".join(fixed) if changed else None


def _filters_key(*filters: Any) -> str:
    return hashlib.sha256(json.dumps(filters, default=str).encode()).hexdigest()


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


def facets_of(dataset_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, list[str]]]:
    out: dict[uuid.UUID, dict[str, list[str]]] = {d: {"modality": [], "language": [], "tag": []} for d in dataset_ids}
    if not dataset_ids:
        return out
    rows = get_session().execute(
        select(DatasetFacet.dataset_id, DatasetFacet.kind, DatasetFacet.value).where(DatasetFacet.dataset_id.in_(dataset_ids)).order_by(DatasetFacet.position)
    )
    for did, kind, value in rows:
        out[did][kind].append(value)
    return out


def _items(ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    if not ids:
        return []
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


def _facets(base: Any, params: dict[str, Any]) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    """The total and every facet's counts in one statement over the matches, computed once
    (a materialised CTE) instead of once per facet."""
    session = get_session()
    m = base.add_columns(Dataset.domain, Dataset.organization_id, Dataset.license_use_class).cte("m").prefix_with("MATERIALIZED")
    lit = literal_column
    parts = [
        select(lit("'total'").label("kind"), lit("''").label("value"), func.count().label("n")).select_from(m),
        select(lit("'domain'"), m.c.domain, func.count()).group_by(m.c.domain),
        select(lit("'vendor'"), func.cast(m.c.organization_id, String), func.count()).group_by(m.c.organization_id),
        select(lit("'license_class'"), m.c.license_use_class, func.count()).where(m.c.license_use_class.is_not(None)).group_by(m.c.license_use_class),
        select(DatasetFacet.kind, DatasetFacet.value, func.count()).join(m, m.c.id == DatasetFacet.dataset_id).group_by(DatasetFacet.kind, DatasetFacet.value),
    ]
    rows = session.execute(union_all(*parts), params).all()
    total = 0
    buckets: dict[str, list[tuple[str, int]]] = {k: [] for k in ("domain", "modality", "language", "tag", "vendor", "license_class")}
    for kind, value, n in rows:
        if kind == "total":
            total = n
        else:
            buckets[kind].append((value, n))
    out: dict[str, list[dict[str, Any]]] = {}
    for kind, values in buckets.items():
        values.sort(key=lambda vc: (-vc[1], vc[0]))
        out[kind] = [{"value": v, "count": c} for v, c in values[:50]]
    labels = dict(session.execute(select(Domain.slug, Domain.label)).all())
    for f in out["domain"]:
        f["label"] = labels.get(f["value"], f["value"])
    if out["vendor"]:
        names = {str(i): n for i, n in session.execute(select(Organization.id, Organization.name).where(Organization.id.in_([uuid.UUID(_as_uuid(f["value"])) for f in out["vendor"]])))}
        for f in out["vendor"]:
            f["value"] = _as_uuid(f["value"])
            f["label"] = names.get(f["value"], "")
    return total, out


def _as_uuid(v: str) -> str:
    """Vendor ids come back as text: dashed on PostgreSQL, 32 hex digits on SQLite."""
    return str(uuid.UUID(v))
