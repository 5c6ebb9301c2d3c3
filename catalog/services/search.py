"""Catalogue search: full-text query, filters, facet counts, sorting, cursor pagination.

PostgreSQL uses a GIN index over a stored, weighted tsvector (`search_vector`); SQLite uses
an FTS5 table kept in step by :func:`index_dataset`. Only listed datasets with a published
version are public. Cursors are signed: a tampered cursor is a 400, not a confusing page.
"""

from __future__ import annotations

import difflib
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
from sqlalchemy import ColumnElement, SQLColumnExpression, Text, any_, bindparam, cast, delete, func, insert, literal, literal_column, or_, select, text, tuple_, union_all, update
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY

from catalog import cjk
from catalog.analysis import MEDIA_FACET_KINDS
from catalog.models import CatalogState, Dataset, DatasetFacet, Domain, FacetCode, FacetPair, SearchDoc, SearchPosting, SearchWord, Visibility
from catalog.services import ranking
from catalog.synonyms import domain_words
from marketplace.identity.models import Organization
from marketplace.kernel.cursors import SignedCursor
from marketplace.kernel.db import get_session, insert_ignore_rows, transactional
from marketplace.kernel.errors import ValidationFailed

SORTS = ("relevance", "newest", "size_asc", "size_desc", "price_asc", "price_desc", "hours_desc", "hours_asc")
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


# A word's score in one dataset, from its positions and weights in the stored tsvector: where it
# appears most (title 1.0, summary/tags/domain words 0.4, card 0.2) plus a little for how often,
# times 1000 as an integer (migration 0013 holds the same expressions for its backfill).
_SCORE = ("round(1000 * (CASE WHEN 'A' = ANY(u.weights) THEN 1.0 WHEN 'B' = ANY(u.weights) THEN 0.4 "
          "WHEN 'C' = ANY(u.weights) THEN 0.2 ELSE 0.1 END + 0.1 * ln(greatest(coalesce(cardinality(u.positions), 1), 1))))::int")
_POSTINGS_ONE = ("INSERT INTO search_postings (dataset_id, term, score, facets) "
                 f"SELECT d.id, u.lexeme, {_SCORE}, CAST(:codes AS integer[]) FROM datasets d CROSS JOIN LATERAL unnest(d.search_vector) u WHERE d.id = :id")
# Every dataset's postings, public ones carrying their facet codes (search_docs is built first).
_CODES_ALL = "INSERT INTO facet_codes (kv) SELECT DISTINCT v FROM search_docs, unnest('{*}'::text[] || facets) v ORDER BY v ON CONFLICT (kv) DO NOTHING"
_POSTINGS_ALL = (
    "WITH dc AS (SELECT s.dataset_id, array_agg(c.code ORDER BY c.code) AS codes FROM search_docs s "
    "JOIN facet_codes c ON c.kv = ANY('{*}'::text[] || s.facets) GROUP BY s.dataset_id) "
    f"INSERT INTO search_postings (dataset_id, term, score, facets) SELECT d.id, u.lexeme, {_SCORE}, dc.codes "
    "FROM datasets d CROSS JOIN LATERAL unnest(d.search_vector) u LEFT JOIN dc ON dc.dataset_id = d.id WHERE d.search_vector IS NOT NULL ORDER BY 1, 2"
)
_VECTOR = (
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(summary, '') || ' ' || coalesce({tags}, '')), 'B') || {words} || "
    "setweight(to_tsvector('english', coalesce(card_markdown, '') || ' ' || {pairs}), 'C')"
)
# The domain's words (weighted like tags) as their own part of the vector: one parse per domain
# when the whole catalogue is reindexed, and the same vector when one dataset is.
_WORDS = "setweight(to_tsvector('english', {}), 'B')"


def index_dataset(ds: Dataset) -> None:
    """Keep the search index in step with the dataset: its text, its ranking postings, its public
    facet values (and so the pre-aggregated counts) and the "did you mean" vocabulary."""
    session = get_session()
    bump_generation()  # first: it also serialises catalogue writers (one row), see facet_pairs
    # The words buyers use for the dataset's domain, in several languages, weigh like its tags;
    # CJK text is indexed as character pairs too (catalog/cjk.py), with the card's weight.
    session.flush()
    facets = _facet_rows(ds.id)
    words, tags = domain_words(ds.domain), " ".join(v for k, v in facets if k == "tag")
    pairs = cjk.index_terms(" ".join([ds.title, ds.summary, tags, ds.card_markdown, words]))
    if _dialect() == "postgresql":
        session.execute(text(f"UPDATE datasets SET search_vector = {_VECTOR.format(tags=':tags', words=_WORDS.format(':words'), pairs=':pairs')} WHERE id = :id"),
                        {"id": ds.id, "tags": tags, "words": words, "pairs": pairs})
        public = _sync_doc(ds, facets)
        session.execute(delete(SearchPosting).where(SearchPosting.dataset_id == ds.id))
        session.execute(text(_POSTINGS_ONE), {"id": ds.id, "codes": _codes(["*", *public]) if public is not None else None})
    else:
        session.execute(text("DELETE FROM datasets_fts WHERE dataset_id = :id"), {"id": ds.id.hex})
        session.execute(text("INSERT INTO datasets_fts (dataset_id, body) VALUES (:id, :body)"), {"id": ds.id.hex, "body": f"{ds.search_text or ''}\n{words}\n{pairs}"})
        _sync_doc(ds, facets)
    insert_ignore_rows(SearchWord, [{"word": w} for w in _vocabulary_words(f"{ds.title} {ds.summary} {tags} {words}")])


def _facet_rows(dataset_id: uuid.UUID) -> list[tuple[str, str]]:
    rows = get_session().execute(select(DatasetFacet.kind, DatasetFacet.value).where(DatasetFacet.dataset_id == dataset_id).order_by(DatasetFacet.position))
    return [(k, v) for k, v in rows]


def doc_facets(ds: Dataset, facets: list[tuple[str, str]]) -> list[str]:
    """A public dataset's facet values as `kind:value` strings (vendor ids as 32 hex digits)."""
    values = {f"domain:{ds.domain}", f"vendor:{ds.organization_id.hex}"} | {f"{k}:{v}" for k, v in facets}
    if ds.license_use_class:
        values.add(f"license_class:{ds.license_use_class}")
    return sorted(values)


def _sync_doc(ds: Dataset, facets: list[tuple[str, str]]) -> list[str] | None:
    """One `search_docs` row while the dataset is public, none otherwise (triggers move the
    counts). Returns its public facet values, or None when it is not public."""
    session = get_session()
    current = session.scalar(select(SearchDoc.facets).where(SearchDoc.dataset_id == ds.id))
    if ds.visibility != Visibility.listed.value or ds.published_at is None:
        if current is not None:
            session.execute(delete(SearchDoc).where(SearchDoc.dataset_id == ds.id))
        return None
    wanted = doc_facets(ds, facets)
    if current is None:
        session.execute(insert(SearchDoc).values(dataset_id=ds.id, facets=wanted))
    elif list(current) != wanted:
        session.execute(update(SearchDoc).where(SearchDoc.dataset_id == ds.id).values(facets=wanted))
    return wanted


def _codes(kvs: list[str]) -> list[int]:
    """The codes of these facet strings, assigned on first sight (read each time, never cached:
    a code assigned in a transaction that rolled back does not exist)."""
    insert_ignore_rows(FacetCode, [{"kv": kv} for kv in sorted(set(kvs))])
    return sorted(get_session().scalars(select(FacetCode.code).where(FacetCode.kv.in_(kvs))))


def _vocabulary_words(text_: str) -> list[str]:
    return sorted({w for w in _words(text_) if 3 <= len(w) <= 100 and not w.isdigit()})


@transactional
def reindex_all() -> int:
    """Rebuild every dataset's index entry and the derived tables (after the domain words or the
    weighting change, or after rows were loaded in bulk). Set-based on PostgreSQL (a million
    datasets in about 20 minutes on the 2-core development machine, 45M postings): only datasets
    with CJK text (whose character pairs are computed here) are indexed one by one."""
    session = get_session()
    if _dialect() != "postgresql":
        n = 0
        for ds in session.scalars(select(Dataset)):
            index_dataset(ds)
            n += 1
        return n
    bump_generation()
    domains = [(d, domain_words(d)) for d in session.scalars(select(Domain.slug))]
    if domains:
        tags = "(SELECT string_agg(f.value, ' ' ORDER BY f.position) FROM dataset_facets f WHERE f.dataset_id = d.id AND f.kind = 'tag')"
        session.execute(text(
            "WITH w AS MATERIALIZED (SELECT domain, " + _WORDS.format("words") + " AS vec, pairs "
            "FROM unnest(CAST(:domains AS text[]), CAST(:words AS text[]), CAST(:pairs AS text[])) AS w(domain, words, pairs)) "
            "UPDATE datasets d SET search_vector = " + _VECTOR.format(tags=tags, words="coalesce((SELECT w.vec FROM w WHERE w.domain = d.domain), '')",
                                                                     pairs="coalesce((SELECT w.pairs FROM w WHERE w.domain = d.domain), '')")),
            {"domains": [d for d, _ in domains], "words": [w for _, w in domains], "pairs": [cjk.index_terms(w) for _, w in domains]})
    cjk_rows = session.scalars(select(Dataset).where(
        or_(Dataset.title.regexp_match(cjk.CJK_RUN.pattern), Dataset.summary.regexp_match(cjk.CJK_RUN.pattern), Dataset.card_markdown.regexp_match(cjk.CJK_RUN.pattern),
            Dataset.id.in_(select(DatasetFacet.dataset_id).where(DatasetFacet.kind == "tag", DatasetFacet.value.regexp_match(cjk.CJK_RUN.pattern)))))).all()
    for ds in cjk_rows:
        index_dataset(ds)
    # Loaded in key order with the ranking index dropped and rebuilt once (a sort, not millions of
    # random inserts). TRUNCATE and DROP INDEX hold the table until commit: searches wait for a
    # reindex, which is an upgrade step (README), so run it in a quiet hour on a large catalogue.
    rebuild_docs()
    session.execute(text(_CODES_ALL))
    session.execute(text("TRUNCATE search_postings"))
    session.execute(text("DROP INDEX ix_search_postings_rank"))
    session.execute(text(_POSTINGS_ALL))
    session.execute(text("CREATE INDEX ix_search_postings_rank ON search_postings (term, score, dataset_id) INCLUDE (facets)"))
    words: set[str] = set()
    for title, summary in session.execute(select(Dataset.title, Dataset.summary).execution_options(yield_per=5000)):
        words.update(_vocabulary_words(f"{title} {summary}"))
    for _, w in domains:
        words.update(_vocabulary_words(w))
    for (value,) in session.execute(select(DatasetFacet.value).where(DatasetFacet.kind == "tag").distinct()):
        words.update(_vocabulary_words(value))
    batch = sorted(words)
    for i in range(0, len(batch), 5000):
        insert_ignore_rows(SearchWord, [{"word": w} for w in batch[i:i + 5000]])
    return session.scalar(select(func.count()).select_from(Dataset)) or 0


def rebuild_docs() -> None:
    """Recompute `search_docs` and the pre-aggregated `facet_pairs` from the datasets, set-based
    (the row triggers are off meanwhile: one GROUP BY instead of a million upserts)."""
    session = get_session()
    session.execute(text("ALTER TABLE search_docs DISABLE TRIGGER facet_pairs_track"))
    session.execute(delete(SearchDoc))
    session.execute(delete(FacetPair))
    session.execute(text(
        "INSERT INTO search_docs (dataset_id, facets) SELECT d.id, ARRAY(SELECT DISTINCT v FROM unnest("
        "ARRAY['domain:' || d.domain, 'vendor:' || replace(d.organization_id::text, '-', ''), 'license_class:' || d.license_use_class] "
        "|| coalesce((SELECT array_agg(f.kind || ':' || f.value) FROM dataset_facets f WHERE f.dataset_id = d.id), '{}')) v "
        "WHERE v IS NOT NULL ORDER BY v) FROM datasets d WHERE d.visibility = 'listed' AND d.published_at IS NOT NULL"))
    session.execute(text(
        "INSERT INTO facet_pairs (a, b, n) SELECT x, y, count(*) FROM search_docs, "
        "unnest('{*}'::text[] || facets) x, unnest('{*}'::text[] || facets) y GROUP BY x, y"))
    session.execute(text("ALTER TABLE search_docs ENABLE TRIGGER facet_pairs_track"))


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
            sort: str = "relevance", cursor: str | None = None, limit: int = 20, any_word: bool = False,
            sample_rate: list[str] | None = None, resolution: list[str] | None = None, hours: list[str] | None = None,
            speakers: list[str] | None = None) -> dict[str, Any]:
    session = get_session()
    pg = _dialect() == "postgresql"
    conds: list[Any] = [Dataset.visibility == Visibility.listed.value, Dataset.published_at.is_not(None)]
    rank: ColumnElement[Any] | None = None
    terms = _fts_terms(q) if q else []
    if q and not terms:
        raise ValidationFailed("The query has no searchable words.", errors={"q": ["Use letters or digits."]})
    lexemes: list[str] = []
    if terms and pg:
        # The query's words as the index stores them (stemmed, stop words dropped), read with the
        # catalogue generation in one round trip; matching and ranking both use exactly these.
        generation, lexemes = session.execute(
            select(CatalogState.generation, func.tsvector_to_array(func.to_tsvector(literal_column("'english'"), " ".join(terms))))
            .where(CatalogState.id == 1)).one()
        lexemes = sorted(lexemes or [])
    else:
        generation = current_generation()
    measured = {"sample_rate": sample_rate, "resolution": resolution, "hours": hours, "speakers": speakers}
    filters = _filter_conds(domain, modality, language, tag, vendor, license_class, size_min, size_max, price_min, price_max, currency, measured)
    params: dict[str, Any] = {}
    if terms and pg:
        tsq = cast(literal((" | " if any_word else " & ").join(_tsquery_lexeme(x) for x in lexemes) or "''"), TSQUERY)
        match: list[Any] = [Dataset.search_vector.op("@@")(tsq)] if lexemes else [literal(False)]
    elif terms:
        rank_sub = (
            select(literal_column("dataset_id").label("dataset_id"), literal_column("bm25(datasets_fts)").label("score"))
            .select_from(text("datasets_fts")).where(text("datasets_fts MATCH :m")).subquery("fts")
        )
        params["m"] = (" OR " if any_word else " ").join(f'"{t}"' for t in terms)
        match = []
    else:
        match = []
    base = select(Dataset.id).where(*conds, *filters, *match)
    if terms and not pg:
        base = base.join(rank_sub, rank_sub.c.dataset_id == Dataset.id)  # SQLite stores UUIDs as 32 hex digits
        rank = -rank_sub.c.score
    elif terms:
        rank = ranking.score_of(lexemes)
    if sort == "relevance" and rank is None:
        sort = "newest"

    # sort key: one or two expressions, always ending in id, all in the same direction
    key: list[SQLColumnExpression[Any]]
    if sort == "relevance":
        assert rank is not None  # a relevance sort without a rank became "newest" above
        key, desc = [rank, Dataset.id], True
    elif sort == "newest":
        key, desc = [Dataset.published_at, Dataset.id], True
    elif sort in ("hours_asc", "hours_desc"):
        # Datasets without audio or video count as none (never NULL: the cursor compares keys).
        key, desc = [func.coalesce(Dataset.media_ms, 0), Dataset.id], sort == "hours_desc"
    elif sort in ("size_asc", "size_desc"):
        # listed + published implies total_bytes is set, so the plain column (and its index) sorts
        key, desc = [Dataset.total_bytes, Dataset.id], sort == "size_desc"
    else:
        # Literals, not parameters: the expression must read as the index's (ix_datasets_listing_price_*).
        key, desc = [func.coalesce(Dataset.min_price_minor, literal_column(str(_BIG) if sort == "price_asc" else "-1")), Dataset.id], sort == "price_desc"

    fingerprint = hashlib.sha256(json.dumps([q, domain, modality, language, tag, [str(v) for v in vendor or []], license_class,
                                             size_min, size_max, price_min, price_max, currency, sort, any_word,
                                             *([measured] if any(measured.values()) else [])], default=str).encode()).hexdigest()[:16]
    after_vals: list[Any] | None = None
    if cursor:
        after = CURSOR.load(cursor, bound=fingerprint).get("k")
        if not isinstance(after, list) or len(after) != len(key):
            raise ValidationFailed("The cursor is not valid for this search.", errors={"cursor": ["Invalid or tampered cursor; start again without it."]})
        after_vals = [_decode(v) for v in after]
    # Filters that are all facet values are answered from the postings' facet codes (PostgreSQL).
    no_ranges = all(v is None for v in (size_min, size_max, price_min, price_max, currency))
    kv_filters: list[list[str]] | None = None
    if no_ranges:
        kv_filters = [[f"{kind}:{v}" for v in values] for kind, values in
                      (("domain", domain), ("modality", modality), ("language", language), ("tag", tag), ("license_class", license_class),
                       *measured.items()) if values]
        if vendor:
            kv_filters.append([f"vendor:{v.hex}" for v in vendor])
    rows: list[Any] | None = None
    if sort == "relevance" and pg:
        # The narrow ranking table gives the top without ranking every match (catalog/services/ranking.py).
        # Words that rarely occur together (or filters that keep few) leave few matches: the GIN
        # index finds them at once, and ranking them directly beats reading the lists deep.
        def all_words(cap: int) -> int:  # how many match every word, counting up to cap
            every = cast(literal(" & ".join(_tsquery_lexeme(x) for x in lexemes)), TSQUERY)
            matching = select(Dataset.id).where(*conds, *filters, Dataset.search_vector.op("@@")(every)).limit(cap).subquery()
            return session.scalar(select(func.count()).select_from(matching)) or 0

        # Asked for any word only when no dataset has them all (search() tries that first): then
        # a dataset scores for at most all but one of the words, which bounds the lists tightly.
        # (Counted to the same cap as below: with LIMIT 1 the planner walks the whole catalogue
        # hoping for an early match, 40x slower when there is none.)
        at_most = len(lexemes) - 1 if any_word and len(lexemes) > 1 and all_words(ranking.FEW_MATCHES) == 0 else None
        top_after = (int(after_vals[0]), uuid.UUID(str(after_vals[1]))) if after_vals else None
        ranked = ranking.top(lexemes, any_word=any_word, conds=[*conds, *filters], after=top_after, n=limit + 1, at_most=at_most,
                             few=lambda: all_words(ranking.FEW_MATCHES) < ranking.FEW_MATCHES, kv_filters=kv_filters)
        if ranked is not None:
            rows = [(d, sc, d) for d, sc in ranked]
    if rows is None:
        page = base.add_columns(*[k.label(f"k{i}") for i, k in enumerate(key)])
        if after_vals is not None:
            page = page.where(tuple_(*key) < tuple_(*after_vals) if desc else tuple_(*key) > tuple_(*after_vals))
        page = page.order_by(*[k.desc() if desc else k.asc() for k in key]).limit(limit + 1)
        rows = list(session.execute(page, params).all())
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [r[0] for r in rows]
    next_cursor = None
    if more and rows:
        next_cursor = CURSOR.dump({"k": [_encode(v) for v in rows[-1][1:]]}, bound=fingerprint)

    items = _items(ids)
    facet_key = (generation, _filters_key(q, domain, modality, language, tag, vendor, license_class, size_min, size_max, price_min, price_max, currency,
                                          any_word, *([measured] if any(measured.values()) else [])))
    cached = _cache().get(facet_key)
    if cached is None:
        single = _single_facet(domain=domain, modality=modality, language=language, tag=tag, vendor=vendor, license_class=license_class, **measured)
        if not terms and single is not None and no_ranges:
            cached = _facets_from_pairs(single)
        elif terms and pg and kv_filters is not None:
            cached = _facets_of_words(lexemes, any_word, kv_filters)
        else:
            cached = _facets(base, params)
        _cache().put(facet_key, cached)
    total, facets = cached
    return {"items": items, "total": total, "facets": facets, "next_cursor": next_cursor}


def _tsquery_lexeme(lexeme: str) -> str:
    """One stored lexeme as a quoted tsquery operand (no parsing, no stemming: it is one already)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _filter_conds(domain: list[str] | None, modality: list[str] | None, language: list[str] | None, tag: list[str] | None,
                  vendor: list[uuid.UUID] | None, license_class: list[str] | None, size_min: int | None, size_max: int | None,
                  price_min: int | None, price_max: int | None, currency: str | None, measured: dict[str, list[str] | None]) -> list[Any]:
    conds: list[Any] = []
    for kind, values in (("modality", modality), ("language", language), ("tag", tag), *measured.items()):
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
    return conds


def _single_facet(**filters: list[Any] | None) -> str | None:
    """The one `kind:value` a search is filtered by ("*" for none), or None for anything more."""
    given = [(kind, values) for kind, values in filters.items() if values]
    if not given:
        return "*"
    if len(given) == 1 and len(given[0][1]) == 1:
        kind, (value,) = given[0]
        return f"vendor:{value.hex}" if kind == "vendor" else f"{kind}:{value}"
    return None


def _did_you_mean(terms: list[str]) -> str | None:
    """The query with each word the catalogue does not know replaced by the closest one it does
    ("radiolgy" -> "radiology"), or None when nothing close is known.

    Candidates come from the vocabulary table (through its trigram index on PostgreSQL, so the
    cost does not grow with the catalogue); a candidate is used only when a listed dataset
    contains it, so a draft's words are never suggested."""
    fixed, changed = [], False
    for t in terms:
        close = _closest(t) if len(t) >= 3 and not t.isdigit() and not _known(t) else None
        fixed.append(close or t)
        changed = changed or bool(close)
    return " ".join(fixed) if changed else None


def _closest(word: str) -> str | None:
    session = get_session()
    if _dialect() == "postgresql":
        near = list(session.scalars(select(SearchWord.word).where(SearchWord.word.op("%")(word))
                                    .order_by(func.similarity(SearchWord.word, word).desc(), SearchWord.word).limit(20)))
    else:
        near = _cache().vocabulary(current_generation(), lambda: list(session.scalars(select(SearchWord.word))))
    for candidate in difflib.get_close_matches(word, near, n=5, cutoff=0.75):
        if _known(candidate):
            return candidate
    return None


def _known(word: str) -> bool:
    """Whether a listed dataset is found by this word (stops at the first one)."""
    listed = (Dataset.visibility == Visibility.listed.value, Dataset.published_at.is_not(None))
    if _dialect() == "postgresql":
        q = select(Dataset.id).where(*listed, Dataset.search_vector.op("@@")(func.plainto_tsquery(literal_column("'english'"), word)))
    else:
        fts: Any = select(literal_column("dataset_id")).select_from(text("datasets_fts")).where(text("datasets_fts MATCH :m").bindparams(m=f'"{word}"'))
        q = select(Dataset.id).where(*listed, Dataset.id.in_(fts))
    return get_session().execute(q.limit(1)).first() is not None


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
    out: dict[uuid.UUID, dict[str, list[str]]] = {d: {"modality": [], "language": [], "tag": [], **{k: [] for k in MEDIA_FACET_KINDS}} for d in dataset_ids}
    if not dataset_ids:
        return out
    rows = get_session().execute(
        select(DatasetFacet.dataset_id, DatasetFacet.kind, DatasetFacet.value).where(DatasetFacet.dataset_id.in_(dataset_ids)).order_by(DatasetFacet.position)
    )
    for did, kind, value in rows:
        out[did][kind].append(value)
    return out


def public_cards(dataset_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """Search cards of the listed, published datasets among `dataset_ids`, in the order given
    (rows chosen elsewhere, such as the most licensed: never a draft or unlisted one)."""
    if not dataset_ids:
        return []
    listed = set(get_session().scalars(select(Dataset.id).where(Dataset.id.in_(dataset_ids), Dataset.visibility == Visibility.listed.value,
                                                                Dataset.published_at.is_not(None))))
    return _items([d for d in dict.fromkeys(dataset_ids) if d in listed])


def _items(ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """The result cards in one statement: only the columns a card shows (not the card text or the
    index), with the facet rows joined in their vendor's order."""
    if not ids:
        return []
    cols = (Dataset.id, Dataset.slug, Dataset.title, Dataset.summary, Dataset.domain, Dataset.organization_id, Dataset.total_bytes, Dataset.total_records,
            Dataset.min_price_minor, Dataset.price_currency, Dataset.price_unit, Dataset.license_use_class, Dataset.published_at, Dataset.latest_version_id,
            Dataset.media_ms)
    q = (select(*cols, Organization.name.label("vendor_name"), DatasetFacet.kind, DatasetFacet.value)
         .join(Organization, Organization.id == Dataset.organization_id).outerjoin(DatasetFacet, DatasetFacet.dataset_id == Dataset.id)
         .where(Dataset.id.in_(ids)).order_by(DatasetFacet.position))
    cards: dict[uuid.UUID, dict[str, Any]] = {}
    for r in get_session().execute(q):
        card = cards.get(r.id)
        if card is None:
            card = cards[r.id] = {
                "id": r.id, "slug": r.slug, "title": r.title, "summary": r.summary, "domain": r.domain,
                "modalities": [], "languages": [], "tags": [], "vendor": {"id": r.organization_id, "name": r.vendor_name},
                "total_bytes": r.total_bytes, "total_records": r.total_records, "min_price_minor": r.min_price_minor,
                "price_currency": r.price_currency, "price_unit": r.price_unit, "license_use_class": r.license_use_class, "published_at": r.published_at,
                "latest_version_id": r.latest_version_id, "media_ms": r.media_ms,
            }
        if r.kind in _CARD_LISTS:  # the measured media kinds are filters, not card lists
            card[_CARD_LISTS[r.kind]].append(r.value)
    return [cards[i] for i in ids]


_CARD_LISTS = {"modality": "modalities", "language": "languages", "tag": "tags"}


_FACET_KINDS = ("domain", "modality", "language", "tag", "vendor", "license_class", *MEDIA_FACET_KINDS)


def _facets(base: Any, params: dict[str, Any]) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    """The total and every facet's counts over the matches, in one statement over the narrow
    `search_docs` rows (each public dataset's facet values in one array)."""
    session = get_session()
    m = base.cte("m")
    if _dialect() == "postgresql":
        value = func.unnest(SearchDoc.facets).table_valued("v").render_derived()
        counted = select(value.c.v, func.count()).select_from(SearchDoc).join(m, m.c.id == SearchDoc.dataset_id).join(value, literal(True)).group_by(value.c.v)
    else:
        value = func.json_each(SearchDoc.facets).table_valued("value")  # SQLite takes no column list
        counted = select(value.c.value, func.count()).select_from(SearchDoc).join(m, m.c.id == SearchDoc.dataset_id).join(value, literal(True)).group_by(value.c.value)
    total_q = select(literal("*"), func.count()).select_from(m)
    rows = session.execute(union_all(total_q, counted), params).all()
    return _facet_answer(list(rows))


def _facets_of_words(lexemes: list[str], any_word: bool, kv_filters: list[list[str]]) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    """The counts of a query (PostgreSQL, facet filters only) from its words' postings alone: an
    index-only scan of small integers, never the datasets. Each kind's values are any-of, the
    kinds all-of, as in the search; every public dataset has the "*" code, whose count is the total."""
    if not lexemes:
        return _facet_answer([])
    conds: list[Any] = [SearchPosting.term == any_(bindparam("words", lexemes, type_=ARRAY(Text))), *ranking.facet_filter(SearchPosting.facets, kv_filters)]
    if len(lexemes) == 1:
        source = select(SearchPosting.facets.label("f")).where(*conds).subquery()
    else:
        per_dataset = select(func.min(SearchPosting.facets).label("f")).where(*conds).group_by(SearchPosting.dataset_id)
        if not any_word:
            per_dataset = per_dataset.having(func.count() == len(lexemes))
        source = per_dataset.subquery()
    code = func.unnest(source.c.f).table_valued("c").render_derived()
    counted = select(code.c.c, func.count().label("n")).select_from(source).join(code, literal(True)).group_by(code.c.c).subquery()
    rows = get_session().execute(select(FacetCode.kv, counted.c.n).join(counted, counted.c.c == FacetCode.code)).all()
    return _facet_answer(list(rows))


def _facets_from_pairs(a: str) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    """The counts of a search filtered by at most one facet value: pre-aggregated, one indexed read."""
    rows = get_session().execute(select(FacetPair.b, FacetPair.n).where(FacetPair.a == a, FacetPair.n > 0)).all()
    return _facet_answer(list(rows))


def _facet_answer(rows: list[Any]) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    """`kind:value` counts (and "*", the total) as the API's facets, with labels, 50 per kind."""
    session = get_session()
    total = 0
    buckets: dict[str, list[tuple[str, int]]] = {k: [] for k in _FACET_KINDS}
    for kv, n in rows:
        if kv == "*":
            total = n
            continue
        kind, _, value = kv.partition(":")
        if kind in buckets:
            buckets[kind].append((value, n))
    out: dict[str, list[dict[str, Any]]] = {}
    for kind, values in buckets.items():
        values.sort(key=lambda vc: (-vc[1], vc[0]))
        out[kind] = [{"value": v, "count": c} for v, c in values[:50]]
    if out["domain"]:
        labels = dict(session.execute(select(Domain.slug, Domain.label).where(Domain.slug.in_([f["value"] for f in out["domain"]]))).all())
        for f in out["domain"]:
            f["label"] = labels.get(f["value"], f["value"])
    if out["vendor"]:
        ids = [uuid.UUID(f["value"]) for f in out["vendor"]]
        names = dict(session.execute(select(Organization.id, Organization.name).where(Organization.id.in_(ids))).all())
        for f, i in zip(out["vendor"], ids, strict=True):
            f["value"] = str(i)
            f["label"] = names.get(i, "")
    return total, out
