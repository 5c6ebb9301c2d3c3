"""The top of a relevance-ranked search without ranking every match (PostgreSQL).

A dataset's relevance to a query is the sum of its scores for the query's words, read from the
narrow ranking table `search_postings` (catalog/models.py). Each word's postings are read best
first through the index on (term, score, dataset_id); a dataset met in any list gets its exact
score from its own postings. Reading stops as soon as the page is certain: when the last
dataset of the page scores at least what a dataset seen in no list could still score (the sum of
each list's last score read; on an equal score, a dataset not yet met sorts after every dataset
read, because ties are broken by id the same way in every list). This is Fagin's threshold
algorithm, in two statements per round, so a broad word costs the same at 1k and at 1M datasets.

When the filters keep few of the best candidates, the lists would be read deep; past a bound
the caller ranks the (then few) filtered matches directly, with the same scores.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any, Callable, Sequence

from sqlalchemy import String, Text, Uuid, any_, bindparam, cast, func, literal, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY

from catalog.models import Dataset, FacetCode, SearchPosting
from marketplace.kernel.db import get_session

# How many postings per word the first round reads (times the page size), the growth per round,
# and the depth past which ranking the filtered matches directly is cheaper.
MIN_DEPTH = 50
FIRST_ROUND = 16  # several words: read deep (index-only, cheap) so that few candidates need resolving
ONE_WORD_FIRST_ROUND = 4  # one word: each posting read is joined to its dataset, so read little
GROWTH = 4
MAX_DEPTH = 20_000
# Below this many matches (all words required), ranking them directly is cheaper than the lists.
FEW_MATCHES = 300

def facet_filter(facets: Any, kv_filters: Sequence[Sequence[str]]) -> list[Any]:
    """Conditions on a postings `facets` column: the dataset is public, and for each filtered kind
    it has one of the values (as the search's filters: any value of a kind, every kind)."""
    return [facets.is_not(None), *[facets.op("&&")(select(func.array_agg(FacetCode.code)).where(FacetCode.kv.in_(list(kvs))).scalar_subquery())
                                   for kvs in kv_filters]]


def score_of(terms: Sequence[str]) -> Any:
    """A dataset's score for the terms: the same number the lists rank by (for the direct path)."""
    return (select(func.coalesce(func.sum(SearchPosting.score), 0)).where(SearchPosting.dataset_id == Dataset.id, SearchPosting.term == any_(_terms(terms)))
            .scalar_subquery())


def _terms(terms: Sequence[str]) -> Any:
    return bindparam("rank_terms", list(terms), type_=ARRAY(Text))


def top(terms: Sequence[str], *, any_word: bool, conds: Sequence[Any], after: tuple[int, uuid.UUID] | None,
        n: int, at_most: int | None = None, few: Callable[[], bool] = lambda: False,
        kv_filters: Sequence[Sequence[str]] | None = None) -> list[tuple[uuid.UUID, int]] | None:
    """The first `n` (dataset id, score) pairs, best first, of the datasets that match the terms
    (all of them, or any with `any_word`) and `conds`, after the cursor key `after`. `at_most`:
    no dataset has more than this many of the words (the caller knows none has them all).
    `kv_filters`: the filters are facet values only, so the postings' facet codes answer them
    and no dataset row is read (`conds` is used otherwise). None
    when ranking the matches directly is cheaper: the first round did not settle the page and
    `few()` says the matches are few, or the lists would be read past MAX_DEPTH."""
    if not terms:
        return []
    session = get_session()
    if len(terms) == 1:
        return _one_word(terms[0], conds=conds, after=after, n=n, kv_filters=kv_filters)
    depth, first_round = max(MIN_DEPTH, FIRST_ROUND * n), True
    cap = len(terms) if at_most is None else at_most
    while depth <= MAX_DEPTH:
        lists: dict[str, list[tuple[int, str]]] = {t: [] for t in terms}
        for term, dataset_id, score in session.execute(_heads(terms, depth, kv_filters)).all():
            if dataset_id is not None:
                lists[term].append((score, dataset_id))
        if not any_word and any(not postings for postings in lists.values()):
            return []  # a word no dataset has: nothing matches them all
        for postings in lists.values():
            postings.sort(reverse=True)
        complete = {t for t, postings in lists.items() if len(postings) < depth}
        last = {t: postings[-1] for t, postings in lists.items() if t not in complete}
        # What a dataset seen in no list can still score: every live list's last score, and on
        # that score it sorts below each list's last id. When all words are required and a list
        # is complete, every match is in it: nothing unseen can match.
        if complete and (not any_word or len(complete) == len(lists)):
            unseen: tuple[int, str] | None = None
        else:
            # To reach the sum it must tie every list it counts in: below all their last ids when
            # it counts in all of them, else below at least one of them (so, the largest).
            ids = [d for _, d in last.values()]
            unseen = (sum(sorted((sc for sc, _ in last.values()), reverse=True)[:cap]), min(ids) if cap >= len(last) else max(ids))
        seen: dict[str, dict[str, int]] = defaultdict(dict)
        for t, postings in lists.items():
            for sc, d in postings:
                seen[d][t] = sc
        resolve = _to_resolve(seen, terms, last, complete, unseen, any_word, cap)
        rows = _best(resolve, terms, any_word=any_word, conds=conds, after=after, n=n, kv_filters=kv_filters)
        if unseen is None or (len(rows) >= n and (rows[n - 1][1], str(rows[n - 1][0])) >= unseen):
            return rows
        if first_round and few():
            return None
        first_round = False
        depth *= GROWTH
    return None


def _heads(terms: Sequence[str], depth: int, kv_filters: Sequence[Sequence[str]] | None) -> Any:
    """Each word's best `depth` postings in one statement (a lateral index walk per word), only of
    datasets that pass the facet filters when those are all the filters: the lists then hold only
    what may be shown, and their bounds are tight."""
    word = func.unnest(bindparam("heads_terms", list(terms), type_=ARRAY(Text))).table_valued("term").render_derived(name="w")
    best = (select(SearchPosting.dataset_id, SearchPosting.score)
            .where(SearchPosting.term == word.c.term, *(facet_filter(SearchPosting.facets, kv_filters) if kv_filters is not None else ()))
            .order_by(SearchPosting.score.desc(), SearchPosting.dataset_id.desc()).limit(depth).lateral("h"))
    # Ids as text: canonical UUID text sorts as the UUIDs do, and Python compares and hashes
    # strings far faster than UUID objects (a round reads thousands).
    return select(word.c.term, cast(best.c.dataset_id, String), best.c.score).select_from(word.outerjoin(best, literal(True)))


def _to_resolve(seen: dict[str, dict[str, int]], terms: Sequence[str], last: dict[str, tuple[int, str]], complete: set[str],
                unseen: tuple[int, str] | None, any_word: bool, cap: int) -> set[str]:
    """The datasets met in some lists that can still outrank every dataset met in none, and so
    need their exact scores. A word a dataset was not met under scores at most that list's last
    score, and strictly less when its id is above the list's last id (on an equal score it would
    have been read). In a complete list, a word it was not met under is a word it does not have.
    (One loop over thousands of candidates per round: kept lean on purpose.)"""
    everything, live = len(terms), [(t, sc, last_id) for t, (sc, last_id) in last.items()]
    required_complete = [] if any_word else [t for t in terms if t in complete]
    out = set()
    for d, known in seen.items():
        if len(known) == everything:
            if unseen is None or (sum(known.values()), d) >= unseen:
                out.add(d)
            continue
        if any(t not in known for t in required_complete):
            continue  # lacks a required word
        if unseen is None:
            out.add(d)
            continue
        room = cap - len(known)
        bounds = sorted((sc if d < last_id else sc - 1 for t, sc, last_id in live if t not in known), reverse=True)[:room] if room > 0 else []
        if (sum(known.values()) + sum(bounds), d) >= unseen:
            out.add(d)
    return out


def _one_word(term: str, *, conds: Sequence[Any], after: tuple[int, uuid.UUID] | None, n: int,
              kv_filters: Sequence[Sequence[str]] | None) -> list[tuple[uuid.UUID, int]] | None:
    """One word: its postings already hold the exact scores, in order, so the page is the first
    `n` of them that pass the filters. Read in growing slices, so a filter that keeps few of them
    costs a bounded walk before the caller ranks the (then few) filtered matches directly."""
    session = get_session()
    depth = max(MIN_DEPTH, ONE_WORD_FIRST_ROUND * n)
    while depth <= MAX_DEPTH:
        head = select(SearchPosting.dataset_id, SearchPosting.score, SearchPosting.facets).where(SearchPosting.term == term)
        if after is not None:
            head = head.where(tuple_(SearchPosting.score, SearchPosting.dataset_id) < tuple_(*after))
        sliced = head.order_by(SearchPosting.score.desc(), SearchPosting.dataset_id.desc()).limit(depth).subquery()
        q = select(sliced.c.dataset_id, sliced.c.score).select_from(sliced)
        if kv_filters is not None:
            q = q.where(*facet_filter(sliced.c.facets, kv_filters))
        else:
            q = q.join(Dataset, Dataset.id == sliced.c.dataset_id).where(*conds)
        q = q.order_by(sliced.c.score.desc(), sliced.c.dataset_id.desc()).limit(n)
        rows = session.execute(q).all()
        if len(rows) >= n or (session.scalar(select(func.count()).select_from(sliced)) or 0) < depth:
            return [(d, int(sc)) for d, sc in rows]
        depth *= GROWTH
    return None


def _best(candidates: set[str], terms: Sequence[str], *, any_word: bool, conds: Sequence[Any], after: tuple[int, uuid.UUID] | None,
          n: int, kv_filters: Sequence[Sequence[str]] | None) -> list[tuple[uuid.UUID, int]]:
    """The candidates' exact scores, filtered (by their postings' facet codes, or by `conds` on
    their datasets) and after the cursor, best first."""
    if not candidates:
        return []
    scored = (
        select(SearchPosting.dataset_id.label("id"), func.sum(SearchPosting.score).label("s"), func.count().label("c"))
        .where(SearchPosting.dataset_id == any_(cast(bindparam("candidates", list(candidates), type_=ARRAY(Text)), ARRAY(Uuid()))),
               SearchPosting.term == any_(_terms(terms)), *(facet_filter(SearchPosting.facets, kv_filters) if kv_filters is not None else ()))
        .group_by(SearchPosting.dataset_id).subquery()
    )
    q = select(scored.c.id, scored.c.s)
    if kv_filters is None:
        q = q.join(Dataset, Dataset.id == scored.c.id).where(*conds)
    if not any_word:
        q = q.where(scored.c.c == len(terms))
    if after is not None:
        q = q.where(tuple_(scored.c.s, scored.c.id) < tuple_(*after))
    q = q.order_by(scored.c.s.desc(), scored.c.id.desc()).limit(n)
    return [(d, int(s)) for d, s in get_session().execute(q)]
