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

from sqlalchemy import Text, Uuid, any_, bindparam, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY

from catalog.models import Dataset, SearchPosting
from marketplace.kernel.db import get_session

# How many postings per word the first round reads (times the page size), the growth per round,
# and the depth past which ranking the filtered matches directly is cheaper.
MIN_DEPTH = 50
FIRST_ROUND = 48  # several words: read deep (index-only, cheap) so that few candidates need resolving
ONE_WORD_FIRST_ROUND = 4  # one word: each posting read is joined to its dataset, so read little
GROWTH = 4
MAX_DEPTH = 20_000
# Below this many matches (all words required), ranking them directly is cheaper than the lists.
FEW_MATCHES = 300

_HEADS = text(
    "SELECT t.term, h.dataset_id, h.score FROM unnest(CAST(:terms AS text[])) AS t(term) "
    "LEFT JOIN LATERAL (SELECT p.dataset_id, p.score FROM search_postings p WHERE p.term = t.term "
    "ORDER BY p.score DESC, p.dataset_id DESC LIMIT :depth) h ON true"
)


def score_of(terms: Sequence[str]) -> Any:
    """A dataset's score for the terms: the same number the lists rank by (for the direct path)."""
    return (select(func.coalesce(func.sum(SearchPosting.score), 0)).where(SearchPosting.dataset_id == Dataset.id, SearchPosting.term == any_(_terms(terms)))
            .scalar_subquery())


def _terms(terms: Sequence[str]) -> Any:
    return bindparam("rank_terms", list(terms), type_=ARRAY(Text))


def top(terms: Sequence[str], *, any_word: bool, conds: Sequence[Any], after: tuple[int, uuid.UUID] | None,
        n: int, at_most: int | None = None, few: Callable[[], bool] = lambda: False) -> list[tuple[uuid.UUID, int]] | None:
    """The first `n` (dataset id, score) pairs, best first, of the datasets that match the terms
    (all of them, or any with `any_word`) and `conds`, after the cursor key `after`. `at_most`:
    no dataset has more than this many of the words (the caller knows none has them all). None
    when ranking the matches directly is cheaper: the first round did not settle the page and
    `few()` says the matches are few, or the lists would be read past MAX_DEPTH."""
    if not terms:
        return []
    session = get_session()
    if len(terms) == 1:
        return _one_word(terms[0], conds=conds, after=after, n=n)
    depth, first_round = max(MIN_DEPTH, FIRST_ROUND * n), True
    cap = len(terms) if at_most is None else at_most
    while depth <= MAX_DEPTH:
        lists: dict[str, list[tuple[int, uuid.UUID]]] = {t: [] for t in terms}
        for term, dataset_id, score in session.execute(_HEADS, {"terms": list(terms), "depth": depth}).all():
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
            unseen: tuple[int, Any] | None = None
        else:
            unseen = (sum(sorted((sc for sc, _ in last.values()), reverse=True)[:cap]), min(d for _, d in last.values()))
        seen: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
        for t, postings in lists.items():
            for sc, d in postings:
                seen[d][t] = sc
        resolve = {d for d, known in seen.items() if _could_place(d, known, terms, last, complete, unseen, any_word, cap)}
        rows = _best(resolve, terms, any_word=any_word, conds=conds, after=after, n=n)
        if unseen is None or (len(rows) >= n and (rows[n - 1][1], rows[n - 1][0]) >= unseen):
            return rows
        if first_round and few():
            return None
        first_round = False
        depth *= GROWTH
    return None


def _could_place(d: uuid.UUID, known: dict[str, int], terms: Sequence[str], last: dict[str, tuple[int, uuid.UUID]], complete: set[str],
                 unseen: tuple[int, Any] | None, any_word: bool, cap: int) -> bool:
    """Whether a dataset met in some lists can still outrank every dataset met in none, and so
    needs its exact score. A word it was not met under scores at most that list's last score, and
    strictly less when its id is above the list's last id (on an equal score it would have been
    read). In a complete list, a word it was not met under is a word it does not have."""
    missing = []
    for t in terms:
        if t in known:
            continue
        if t in complete:
            if not any_word:
                return False  # lacks a required word
            continue
        sc, last_id = last[t]
        missing.append(sc if d < last_id else sc - 1)
    best = sum(known.values()) + sum(sorted(missing, reverse=True)[:max(0, cap - len(known))])
    return unseen is None or (best, d) >= unseen


def _one_word(term: str, *, conds: Sequence[Any], after: tuple[int, uuid.UUID] | None, n: int) -> list[tuple[uuid.UUID, int]] | None:
    """One word: its postings already hold the exact scores, in order, so the page is the first
    `n` of them that pass the filters. Read in growing slices, so a filter that keeps few of them
    costs a bounded walk before the caller ranks the (then few) filtered matches directly."""
    session = get_session()
    depth = max(MIN_DEPTH, ONE_WORD_FIRST_ROUND * n)
    while depth <= MAX_DEPTH:
        head = select(SearchPosting.dataset_id, SearchPosting.score).where(SearchPosting.term == term)
        if after is not None:
            head = head.where(tuple_(SearchPosting.score, SearchPosting.dataset_id) < tuple_(*after))
        sliced = head.order_by(SearchPosting.score.desc(), SearchPosting.dataset_id.desc()).limit(depth).subquery()
        q = (select(sliced.c.dataset_id, sliced.c.score).select_from(sliced)
             .join(Dataset, Dataset.id == sliced.c.dataset_id).where(*conds)
             .order_by(sliced.c.score.desc(), sliced.c.dataset_id.desc()).limit(n))
        rows = session.execute(q).all()
        if len(rows) >= n or (session.scalar(select(func.count()).select_from(sliced)) or 0) < depth:
            return [(d, int(sc)) for d, sc in rows]
        depth *= GROWTH
    return None


def _best(candidates: set[uuid.UUID], terms: Sequence[str], *, any_word: bool, conds: Sequence[Any], after: tuple[int, uuid.UUID] | None,
          n: int) -> list[tuple[uuid.UUID, int]]:
    """The candidates' exact scores, filtered by `conds` and the cursor, best first."""
    if not candidates:
        return []
    scored = (
        select(SearchPosting.dataset_id.label("id"), func.sum(SearchPosting.score).label("s"), func.count().label("c"))
        .where(SearchPosting.dataset_id == any_(bindparam("candidates", list(candidates), type_=ARRAY(Uuid()))),
               SearchPosting.term == any_(_terms(terms)))
        .group_by(SearchPosting.dataset_id).subquery()
    )
    q = select(scored.c.id, scored.c.s).join(Dataset, Dataset.id == scored.c.id).where(*conds)
    if not any_word:
        q = q.where(scored.c.c == len(terms))
    if after is not None:
        q = q.where(tuple_(scored.c.s, scored.c.id) < tuple_(*after))
    q = q.order_by(scored.c.s.desc(), scored.c.id.desc()).limit(n)
    return [(d, int(s)) for d, s in get_session().execute(q)]
