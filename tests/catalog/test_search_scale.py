"""Search at scale keeps its answers exact: best-first ranking pages through exactly what ranking
every match gives, pre-aggregated facet counts equal counting the matches after every kind of
listing change (and under concurrent changes), a bulk reindex builds the index a dataset-by-
dataset one does, and "did you mean" never offers a word only a draft contains."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, text

from catalog.models import Dataset, DatasetFacet, FacetPair, SearchDoc, SearchPosting, SearchWord
from catalog.services import ranking
from catalog.services import search as search_svc
from marketplace.kernel.db import get_session
from tests.catalog.helpers import create_dataset, published_dataset
from tests.concurrency import race
from tests.factories import bearer, make_tenant

WORDS = "alpha beta gamma delta epsilon zeta theta kappa".split()


def _bulk(org_id: uuid.UUID, n: int, seed: int = 3) -> list[uuid.UUID]:
    """n datasets written as rows (some drafts, some unlisted, some never published), then the
    product's bulk reindex. Few words, so there are broad words and many equal scores."""
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    rows, facets, ids = [], [], []
    for i in range(n):
        did = uuid.UUID(int=rng.getrandbits(128), version=4)
        ids.append(did)
        vis = rng.choice(["listed"] * 6 + ["draft", "unlisted"])
        # Every tenth dataset speaks only of omega and sigma: words that never meet the others.
        apart = i % 10 == 5
        rows.append(dict(id=did, organization_id=org_id, slug=f"b-{i}", title="omega sigma" if apart else " ".join(rng.sample(WORDS, 2)),
                         summary=rng.choice(["omega", "sigma omega"]) if apart else " ".join(rng.choices(WORDS, k=3)),
                         card_markdown="" if apart else " ".join(rng.choices(WORDS, k=rng.randint(0, 6))), domain=rng.choice(["healthcare", "legal", "finance"]), visibility=vis,
                         created_at=now, updated_at=now, search_text="", published_at=None if i % 9 == 0 else now - timedelta(seconds=i),
                         total_bytes=rng.randint(1, 10**9), total_records=1, license_use_class=rng.choice(["commercial", "research", None])))
        for j, lang in enumerate(rng.sample(["en", "de", "fr"], rng.randint(1, 2))):
            facets.append(dict(dataset_id=did, kind="language", value=lang, position=j))
        if i % 4 == 0:
            facets.append(dict(dataset_id=did, kind="tag", value=rng.choice(WORDS), position=0))
    session = get_session()
    session.execute(insert(Dataset), rows)
    session.execute(insert(DatasetFacet), facets)
    search_svc.reindex_all()
    return ids


def _all_pages(q: str, limit: int = 7, **filters: Any) -> list[uuid.UUID]:
    out: list[uuid.UUID] = []
    cursor = None
    for _ in range(200):
        page = search_svc._search(None, q=q, cursor=cursor, limit=limit, **filters)
        out += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return out
    raise AssertionError("pagination did not end")


def _oracle(q: str, any_word: bool, domain: str | None = None, language: str | None = None) -> list[uuid.UUID]:
    """Ranking every match in Python from the raw rows: sum of the words' scores, then id."""
    session = get_session()
    lexemes = session.scalar(text("SELECT tsvector_to_array(to_tsvector('english', :q))"), {"q": q})
    scores: dict[uuid.UUID, list[int]] = {}
    for d, s in session.execute(select(SearchPosting.dataset_id, SearchPosting.score).where(SearchPosting.term.in_(lexemes))):
        scores.setdefault(d, []).append(s)
    public = {d.id: d for d in session.scalars(select(Dataset).where(Dataset.visibility == "listed", Dataset.published_at.is_not(None)))}
    langs: dict[uuid.UUID, set[str]] = {}
    for d, v in session.execute(select(DatasetFacet.dataset_id, DatasetFacet.value).where(DatasetFacet.kind == "language")):
        langs.setdefault(d, set()).add(v)
    keep = [(sum(s), d) for d, s in scores.items() if d in public and (any_word or len(s) == len(lexemes))
            and (domain is None or public[d].domain == domain) and (language is None or language in langs.get(d, set()))]
    return [d for _, d in sorted(keep, reverse=True)]


# Broad and narrow words, several words, and words no dataset has together (the any-word
# fallback's case, where a dataset scores for all but one word at most).
QUERIES = ["alpha", "alpha beta", "gamma delta epsilon", "zeta kappa", "theta", "alpha beta gamma delta", "alpha omega", "omega sigma alpha"]


@pytest.mark.postgres_only
@pytest.mark.parametrize("reading", ["one round", "many rounds", "uneven rounds", "direct"])
def test_best_first_ranking_pages_exactly_like_ranking_every_match(app, monkeypatch, reading):
    vendor = make_tenant(vendor=True)
    _bulk(vendor.org.id, 400)
    if reading == "many rounds":  # tiny slices: every query needs several rounds of the lists
        monkeypatch.setattr(ranking, "MIN_DEPTH", 2)
        monkeypatch.setattr(ranking, "FIRST_ROUND", 1)
        monkeypatch.setattr(ranking, "ONE_WORD_FIRST_ROUND", 1)
        monkeypatch.setattr(ranking, "GROWTH", 2)
    elif reading == "uneven rounds":  # slices that end inside runs of equal scores, at other places
        monkeypatch.setattr(ranking, "MIN_DEPTH", 3)
        monkeypatch.setattr(ranking, "FIRST_ROUND", 3)
        monkeypatch.setattr(ranking, "ONE_WORD_FIRST_ROUND", 2)
        monkeypatch.setattr(ranking, "GROWTH", 3)
        monkeypatch.setattr(ranking, "FEW_MATCHES", 1)  # never hand over to ranking directly
    elif reading == "direct":  # never read the lists: rank the matches directly
        monkeypatch.setattr(ranking, "MAX_DEPTH", 0)
    checked = 0
    for q in QUERIES:
        for any_word in (False, True):
            for filters in ({}, {"domain": "legal"}, {"language": "de"}, {"domain": "finance", "language": "fr"}):
                args = {k: [v] for k, v in filters.items()}
                got = _all_pages(q, any_word=any_word, **args)
                want = _oracle(q, any_word, **filters)
                assert got == want, (q, any_word, filters)
                assert search_svc._search(None, q=q, any_word=any_word, **args)["total"] == len(want)
                checked += len(want)
    assert checked > 2000  # the catalogue gives the queries plenty of matches to order


@pytest.mark.postgres_only
def test_a_tampered_relevance_cursor_is_refused(client, app):
    vendor = make_tenant(vendor=True)
    _bulk(vendor.org.id, 60)
    page = client.get("/api/v1/datasets?q=alpha&limit=3").json
    assert page["next_cursor"]
    forged = page["next_cursor"][:-3] + ("AAA" if not page["next_cursor"].endswith("AAA") else "BBB")
    r = client.get(f"/api/v1/datasets?q=alpha&limit=3&cursor={forged}")
    assert r.status_code == 400 and r.headers["Content-Type"].startswith("application/problem+json")


@pytest.mark.postgres_only
def test_bulk_reindex_builds_what_indexing_one_by_one_builds(app):
    vendor = make_tenant(vendor=True)
    ids = _bulk(vendor.org.id, 80)
    session = get_session()

    def snapshot() -> tuple[Any, ...]:
        postings = sorted(session.execute(select(SearchPosting.dataset_id, SearchPosting.term, SearchPosting.score).where(SearchPosting.dataset_id.in_(ids))).all())
        docs = sorted((d, tuple(f)) for d, f in session.execute(select(SearchDoc.dataset_id, SearchDoc.facets).where(SearchDoc.dataset_id.in_(ids))))
        pairs = sorted(session.execute(select(FacetPair.a, FacetPair.b, FacetPair.n).where(FacetPair.n != 0)).all())
        return postings, docs, pairs

    bulk = snapshot()
    assert bulk[0] and bulk[1] and bulk[2]
    for ds in session.scalars(select(Dataset).where(Dataset.id.in_(ids))):
        search_svc.index_dataset(ds)
    assert snapshot() == bulk


def _counts(client, query: str) -> tuple[int, dict[str, Any]]:
    r = client.get(f"/api/v1/datasets?{query}")
    assert r.status_code == 200, r.json
    return r.json["total"], r.json["facets"]


def _assert_pairs_equal_counting(client, vendors: list[Any]) -> None:
    """Every single-value filter (and none) answered from the pairs equals counting the matches
    (a size filter that keeps everything forces counting)."""
    queries = [""]
    _, facets = _counts(client, "")
    for kind, values in facets.items():
        for f in values:
            queries.append(f"{kind}={f['value']}")
    for v in vendors:
        queries.append(f"vendor={v.org.id}")
    # Word queries count from the postings' facet codes (PostgreSQL); a size filter forces
    # counting over the datasets instead.
    for words in ("notes", "lease", "lease clauses", "conversations notes", "conversations%20lease%20clauses", "call", "corpus"):
        queries += [f"q={words}", f"q={words}&language=en", f"q={words}&language=en&language=sv", f"q={words}&domain=legal&modality=text"]
    for q in queries:
        assert _counts(client, q) == _counts(client, f"{q}&size_min=0"), q


def test_pre_aggregated_counts_equal_counting_after_every_listing_change(app, client):
    med, vox = make_tenant(vendor=True), make_tenant(vendor=True)
    k1, k2 = med.keys["owner"], vox.keys["owner"]
    a, _ = published_dataset(client, k1, {"a.jsonl": b'{"n": 1}\n'}, title="Ward notes", domain="healthcare", modalities=["text"], languages=["en", "de"], tags=["icu"])
    b, _ = published_dataset(client, k2, {"b.jsonl": b'{"n": 1}\n'}, title="Lease clauses", domain="legal", modalities=["text", "tabular"], languages=["en"], tags=["lease", "nda"])
    c, _ = published_dataset(client, k2, {"c.jsonl": b'{"n": 1}\n'}, title="Call audio", domain="speech-audio", modalities=["audio"], languages=["sv"], tags=[])
    create_dataset(client, k1, title="Draft with facets", languages=["fr"], tags=["secret-tag"])  # never public: counted nowhere
    _assert_pairs_equal_counting(client, [med, vox])
    total, facets = _counts(client, "")
    assert total == 3 and {f["value"] for f in facets["tag"]} == {"icu", "lease", "nda"}

    changes = [
        (a["id"], k1, {"tags": ["icu", "cardiology"], "languages": ["fr"]}),  # facet values change
        (b["id"], k2, {"domain": "finance"}),  # domain changes
        (c["id"], k2, {"visibility": "unlisted"}),  # leaves search
        (c["id"], k2, {"visibility": "listed"}),  # comes back
        (a["id"], k1, {"visibility": "delisted"}),
    ]
    for dataset_id, key, body in changes:
        r = client.patch(f"/api/v1/datasets/{dataset_id}", json=body, headers=bearer(key))
        assert r.status_code == 200, r.json
        _assert_pairs_equal_counting(client, [med, vox])
    total, facets = _counts(client, "")
    assert total == 2 and {f["value"] for f in facets["domain"]} == {"finance", "speech-audio"}
    assert "secret-tag" not in str(facets) and "cardiology" not in str(facets)


def test_did_you_mean_never_offers_a_word_only_a_draft_has(app, client):
    med = make_tenant(vendor=True)
    key = med.keys["owner"]
    draft = create_dataset(client, key, title="Xylophonics archive", summary="Xylophonics", tags=[])
    res = client.get("/api/v1/datasets?q=xylophonix").json
    assert res["total"] == 0 and "suggestion" not in res and "corrected_to" not in res
    assert get_session().get(SearchWord, "xylophonics") is not None  # in the vocabulary, yet not offered
    published_dataset(client, key, {"x.jsonl": b'{"n": 1}\n'}, title="Xylophonics recordings", tags=[])
    res = client.get("/api/v1/datasets?q=xylophonix").json
    assert res.get("corrected_to") == "xylophonics" and res["total"] == 1
    assert draft["slug"] not in [i["slug"] for i in res["items"]]


@pytest.mark.postgres_only
def test_concurrent_listing_changes_keep_the_counts_exact(session_app):
    """20 vendors' datasets change facets at the same moment: the trigger-kept counts stay equal
    to counting, nothing deadlocks. The datasets leave search afterwards (committed data)."""
    client = session_app.test_client()
    with session_app.app_context():
        tenants = [make_tenant(vendor=True) for _ in range(4)]
        get_session().commit()
    made = []
    for i in range(20):
        t = tenants[i % 4]
        ds, _ = published_dataset(client, t.keys["owner"], {"f.jsonl": b'{"n": 1}\n'}, title=f"Race corpus {i}", domain="legal",
                                  languages=["en"], tags=[f"race-{uuid.uuid4().hex[:6]}"])
        made.append((ds["id"], t.keys["owner"]))

    def change(c: Any, i: int) -> int:
        ds_id, key = made[i]
        return c.patch(f"/api/v1/datasets/{ds_id}", json={"tags": ["race-shared", f"race-{i}"], "languages": ["de", "fr"], "domain": "finance"},
                       headers=bearer(key)).status_code

    try:
        assert race(session_app, 20, change) == [200] * 20
        with session_app.app_context():
            docs = {d: list(f) for d, f in get_session().execute(select(SearchDoc.dataset_id, SearchDoc.facets))}
            counted: dict[tuple[str, str], int] = {}
            for values in docs.values():
                for x in ["*", *values]:
                    for y in ["*", *values]:
                        counted[(x, y)] = counted.get((x, y), 0) + 1
            stored = {(a, b): n for a, b, n in get_session().execute(select(FacetPair.a, FacetPair.b, FacetPair.n).where(FacetPair.n != 0))}
            assert stored == counted
            assert stored[("tag:race-shared", "*")] == 20 and stored[("tag:race-shared", "domain:finance")] == 20
    finally:
        for ds_id, key in made:
            client.patch(f"/api/v1/datasets/{ds_id}", json={"visibility": "unlisted"}, headers=bearer(key))
        with session_app.app_context():
            assert get_session().scalar(select(SearchDoc.dataset_id).where(SearchDoc.dataset_id.in_([uuid.UUID(d) for d, _ in made]))) is None


@pytest.mark.postgres_only
def test_a_deleted_dataset_takes_its_postings_and_counts_with_it(app):
    """The ranking table has no foreign key (bulk loads would pay a check per row): a trigger
    removes a deleted dataset's postings, so word counts, which read postings alone, drop it."""
    vendor = make_tenant(vendor=True)
    _bulk(vendor.org.id, 30)
    session = get_session()
    gone = session.scalar(select(SearchPosting.dataset_id).where(SearchPosting.term == "alpha", SearchPosting.facets.is_not(None)).limit(1))
    before = search_svc._search(None, q="alpha")
    session.execute(delete(DatasetFacet).where(DatasetFacet.dataset_id == gone))
    session.execute(delete(Dataset).where(Dataset.id == gone))
    assert session.scalar(select(func.count()).select_from(SearchPosting).where(SearchPosting.dataset_id == gone)) == 0
    assert session.scalar(select(SearchDoc.dataset_id).where(SearchDoc.dataset_id == gone)) is None
    search_svc.bump_generation()  # as any listing change does
    after = search_svc._search(None, q="alpha")
    assert after["total"] == before["total"] - 1
    assert sum(f["count"] for f in after["facets"]["domain"]) == after["total"]


HOSTILE = ["'", "''", "\\", "a'b", "it's o'neil", "a\\'b", "!&|():*<->", "'alpha' & 'beta'", "alpha:*", "alpha | beta", "x" * 2000,
           "alpha " * 300, "%00", "医疗'影像", "ＡＬＰＨＡ", "a\u0301lpha", "\u202ealpha", "alpha\tbeta\ngamma", "-alpha", "\"alpha beta\""]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_queries_get_an_answer_or_a_clear_400(client, app, q):
    """Whatever a buyer types (quotes, backslashes, tsquery operators, huge or odd Unicode),
    search answers or names the problem; it never fails with a 500 or reads the text as syntax."""
    vendor = make_tenant(vendor=True)
    _bulk(vendor.org.id, 20)
    for sort in ("relevance", "newest", "price_asc"):
        r = client.get("/api/v1/datasets", query_string={"q": q, "sort": sort})
        assert r.status_code in (200, 400), (q, sort, r.status_code, r.data[:300])
        if r.status_code == 400:
            assert r.headers["Content-Type"].startswith("application/problem+json") and r.json["errors"]
        else:
            assert r.json["total"] >= len(r.json["items"])
    r = client.get("/api/v1/datasets", query_string={"q": "'alpha' & 'beta'"})
    assert r.status_code == 200 and r.json["total"] == client.get("/api/v1/datasets", query_string={"q": "alpha beta"}).json["total"]
