"""Catalogue search latency at 1k, 10k, 100k and 1M listed datasets on PostgreSQL, next to a
get-by-id request measured in the same run at the same size.

Datasets and their facets are loaded with COPY (a million in a few minutes), then indexed by
the product's own set-based `marketplace search reindex` (catalog.services.search.reindex_all):
the weighted tsvector with the domain words in seven languages and CJK character pairs, the
ranking postings, the public facet rows with their pre-aggregated pair counts, and the "did you
mean" vocabulary. So every search feature is on while it is measured.

The mix, timed through the WSGI app: plain listings, a domain or a language filter, one- and
two-word queries under each sort, a query with two filters, a CJK domain word, a misspelt word
(corrected), and two words no dataset has together (the any-word fallback). `search_first_seen`
is each query's first run after the catalogue changed (facet counts not yet cached).
Usage: python benchmarks/search.py [sizes...]  (default 1000 10000 100000 1000000)
"""

from __future__ import annotations

import io
import random
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from common import emit, make_app, percentiles, timed

VOCAB = {
    "healthcare": "clinical radiology oncology cardiology icu triage discharge summary patient physician pathology ecg",
    "finance": "filings earnings transactions fraud ledger invoices credit risk trading esg audit",
    "legal": "contracts clauses lease litigation judgments statutes compliance discovery nda arbitration",
    "speech-audio": "speech telephony accents conversational diarization transcripts podcasts 48khz multispeaker dialects",
    "autonomous-driving": "lidar camera radar intersections pedestrians weather night highway annotation segmentation",
    "e-commerce": "products reviews catalog search queries clicks baskets returns listings pricing",
    "science": "chemistry proteins genomics papers abstracts spectra materials climate astronomy physics",
    "code": "repositories functions commits reviews bugs tests python rust typescript sql",
}
CJK_CARDS = {"healthcare": "医学影像与临床报告", "legal": "合同条款与判决书", "finance": "银行交易流水"}
LANGS = ["en", "de", "fr", "es", "sv", "ja", "zh", "ar", "pt", "hi"]


def _copy(conn, table: str, columns: list[str], rows: list[tuple]) -> None:
    """COPY rows into a table through psycopg, in COPY's text format."""
    buf = io.StringIO()
    for r in rows:
        buf.write("\t".join("\\N" if v is None else str(v).replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t") for v in r) + "\n")
    with conn.connection.driver_connection.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        cp.write(buf.getvalue())


def seed(app, n: int, org_id: uuid.UUID, rng: random.Random, start: int) -> tuple[uuid.UUID, float]:
    """Add n listed datasets and reindex; returns one id and the seconds the load and index took."""
    from catalog.services import search as search_svc
    from marketplace.kernel.db import unit_of_work

    db = app.extensions["db"]
    now = datetime.now(timezone.utc)
    domains = list(VOCAB)
    t0 = time.perf_counter()
    first = None
    with db.engine.begin() as conn:
        for lo in range(0, n, 50_000):
            rows, facets = [], []
            for i in range(start + lo, start + min(n, lo + 50_000)):
                d = domains[i % len(domains)] if i < len(domains) else rng.choice(domains)
                words = VOCAB[d].split()
                title = " ".join(rng.sample(words, 3)).title() + f" corpus {i}"
                summary = " ".join(rng.sample(words, 6))
                card = "Collected and reviewed by domain experts: " + " ".join(rng.sample(words, 5))
                if d in CJK_CARDS and i % 500 == 0:
                    card += " " + CJK_CARDS[d]
                did = uuid.UUID(int=rng.getrandbits(128), version=4)
                first = first or did
                published = (now - timedelta(seconds=rng.randint(0, 10**7))).isoformat()
                rows.append((did, org_id, f"ds-{did.hex[:16]}", title, summary, card, d, "listed", now.isoformat(), now.isoformat(),
                             f"{title}\n{title}\n{summary}", published, rng.randint(10**6, 10**12), rng.randint(10**3, 10**8),
                             rng.choice([None, rng.randint(100, 10**6)]), "USD", rng.choice(["commercial", "research", "noncommercial"])))
                facets.append((did, "modality", rng.choice(["text", "audio", "image", "tabular"]), 0))
                for j, lang in enumerate(rng.sample(LANGS, rng.randint(1, 3))):
                    facets.append((did, "language", lang, j))
                if i % 3 == 0:
                    facets.append((did, "tag", rng.choice(words), 0))
            _copy(conn, "datasets", ["id", "organization_id", "slug", "title", "summary", "card_markdown", "domain", "visibility", "created_at",
                                     "updated_at", "search_text", "published_at", "total_bytes", "total_records", "min_price_minor", "price_currency",
                                     "license_use_class"], rows)
            _copy(conn, "dataset_facets", ["dataset_id", "kind", "value", "position"], facets)
    with app.app_context(), unit_of_work():
        search_svc.reindex_all()
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    assert first is not None
    return first, time.perf_counter() - t0


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 10000, 100000, 1000000]
    app = make_app(Path(tempfile.mkdtemp(prefix="bench-search-")))
    rng = random.Random(42)
    from sqlalchemy import insert

    from catalog.models import Domain
    from marketplace.identity.models import Organization

    db = app.extensions["db"]
    assert db.dialect == "postgresql", "set TEST_DATABASE_URL (make bench does)"
    with db.engine.begin() as conn:
        org_id = uuid.uuid4()
        conn.execute(Organization.__table__.insert().values(id=org_id, slug="bench-vendor", name="Bench Vendor", vendor_status="approved",
                                                            created_at=datetime.now(timezone.utc)))
        have = {r[0] for r in conn.execute(Domain.__table__.select())}
        missing = [{"slug": d, "label": d.title()} for d in VOCAB if d not in have]
        if missing:
            conn.execute(insert(Domain), missing)
    client = app.test_client()
    # Time the facet counting itself on first sight (pre-aggregated or counted), apart from the
    # request around it.
    from catalog.services import search as search_svc

    facet_times: list[float] = []

    def timing(f):
        def timed_facets(*a, **k):
            t = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                facet_times.append(time.perf_counter() - t)
        return timed_facets

    search_svc._facets = timing(search_svc._facets)
    search_svc._facets_from_pairs = timing(search_svc._facets_from_pairs)
    search_svc._facets_of_words = timing(search_svc._facets_of_words)
    # A realistic mix: browsing with filters, one- and two-word queries, different sorts, and
    # the paths buyers hit when they type: CJK, a typo, two words no dataset has together.
    qrng = random.Random(7)
    queries = ["/api/v1/datasets", "/api/v1/datasets?sort=size_desc"]
    for d, words in VOCAB.items():
        w = words.split()
        queries.append(f"/api/v1/datasets?domain={d}")
        queries.append(f"/api/v1/datasets?q={qrng.choice(w)}")
        queries.append(f"/api/v1/datasets?q={qrng.choice(w)}%20{qrng.choice(w)}&sort=newest")
        queries.append(f"/api/v1/datasets?q={qrng.choice(w)}%20{qrng.choice(w)}")
        queries.append(f"/api/v1/datasets?q={qrng.choice(w)}&domain={d}&language={qrng.choice(LANGS)}")
    for lang in LANGS:
        queries.append(f"/api/v1/datasets?language={lang}&sort=size_desc&limit=50")
    queries += ["/api/v1/datasets?q=%E5%8C%BB%E7%96%97",  # 医疗: the healthcare domain word in Chinese
                "/api/v1/datasets?q=%E5%BD%B1%E5%83%8F",  # 影像 inside some cards
                "/api/v1/datasets?q=radiolgy",  # misspelt: corrected to radiology
                "/api/v1/datasets?q=lidar%20arbitration",  # no dataset has both: any-word fallback
                "/api/v1/datasets?q=medical&sort=price_asc"]
    have_n = 0
    report = []
    any_id = None
    for size in sizes:
        first, load_s = seed(app, size - have_n, org_id, rng, have_n)
        any_id = any_id or first
        have_n = size
        cold: list[float] = []
        facet_times.clear()
        for q in queries:  # first time each query is seen since the catalogue changed
            r = None

            def get(q=q):
                nonlocal r
                r = client.get(q)
            cold += timed(get, 1)
            assert r is not None and r.status_code == 200 and r.json["total"] > 0, (q, r and r.json)
        samples = []
        for _ in range(10):
            for q in random.Random(size).sample(queries, len(queries)):
                samples += timed(lambda q=q: client.get(q), 1)
        by_id = timed(lambda any_id=any_id: client.get(f"/api/v1/datasets/{any_id}"), 300)
        s, b = percentiles(samples), percentiles(by_id)
        report.append({"datasets": size, "load_and_index_s": round(load_s, 1), "search": s, "search_first_seen": percentiles(cold),
                       "facet_counts_first_seen": percentiles(facet_times), "get_by_id": b,
                       "search_p95_over_get_p95": round(s["p95_ms"] / b["p95_ms"], 2)})
        print(report[-1], file=sys.stderr, flush=True)
    base = report[0]["search"]["p95_ms"]
    for r in report:
        r["p95_vs_smallest"] = round(r["search"]["p95_ms"] / base, 2)
    emit("search", {"database": db.dialect, "distinct_queries": len(queries), "sizes": report,
                    "targets": "p95 at 100k <= 1.5x p95 at 1k; at 1M <= 2x; search p95 <= 3x get-by-id p95 at 100k; first-seen p95 <= 50 ms at 100k"})


if __name__ == "__main__":
    main()
