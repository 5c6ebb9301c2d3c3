"""Catalogue search latency at 1k, 10k and 100k listed datasets on PostgreSQL, next to a
get-by-id request measured in the same run at the same size.

Datasets are bulk-inserted (with facets and search text drawn from a domain vocabulary), then a
mix of searches is timed through the WSGI app: a plain listing with facets, a full-text query,
a query with a domain filter, and a language filter. Prints JSON.
Usage: python benchmarks/search.py [sizes...]  (default 1000 10000 100000)
"""

from __future__ import annotations

import random
import sys
import tempfile
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
LANGS = ["en", "de", "fr", "es", "sv", "ja", "zh", "ar", "pt", "hi"]


def seed(app, n: int, org_id: uuid.UUID, rng: random.Random) -> uuid.UUID:
    from sqlalchemy import insert

    from catalog.models import Dataset, DatasetFacet

    db = app.extensions["db"]
    now = datetime.now(timezone.utc)
    domains = list(VOCAB)
    rows, facets = [], []
    first = None
    for i in range(n):
        d = rng.choice(domains)
        words = VOCAB[d].split()
        title = " ".join(rng.sample(words, 3)).title() + f" corpus {i}"
        summary = " ".join(rng.sample(words, 6))
        did = uuid.uuid4()
        first = first or did
        rows.append(dict(id=did, organization_id=org_id, slug=f"ds-{did.hex[:12]}", title=title, summary=summary, card_markdown="",
                         domain=d, visibility="listed", created_at=now, updated_at=now, search_text=f"{title}\n{title}\n{summary}",
                         published_at=now - timedelta(seconds=rng.randint(0, 10**7)), total_bytes=rng.randint(10**6, 10**12),
                         total_records=rng.randint(10**3, 10**8), latest_version_id=None))
        facets.append(dict(dataset_id=did, kind="modality", value=rng.choice(["text", "audio", "image", "tabular"]), position=0))
        for j, lang in enumerate(rng.sample(LANGS, rng.randint(1, 3))):
            facets.append(dict(dataset_id=did, kind="language", value=lang, position=j))
    with db.engine.begin() as conn:
        for k in range(0, len(rows), 5000):
            conn.execute(insert(Dataset), rows[k:k + 5000])
        for k in range(0, len(facets), 10000):
            conn.execute(insert(DatasetFacet), facets[k:k + 10000])
        if db.dialect == "postgresql":
            # what catalog.services.search.index_dataset does per dataset, in bulk
            conn.exec_driver_sql(
                "UPDATE datasets SET search_vector = setweight(to_tsvector('english', title), 'A') || "
                "setweight(to_tsvector('english', summary), 'B') WHERE search_vector IS NULL")
            conn.exec_driver_sql(f"UPDATE catalog_state SET generation = {rng.randint(1, 2**62)}")
            conn.exec_driver_sql("ANALYZE datasets; ANALYZE dataset_facets")
    return first


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 10000, 100000]
    app = make_app(Path(tempfile.mkdtemp(prefix="bench-search-")))
    rng = random.Random(42)
    from marketplace.identity.models import Organization

    db = app.extensions["db"]
    with db.engine.begin() as conn:
        org_id = uuid.uuid4()
        conn.execute(Organization.__table__.insert().values(id=org_id, slug="bench-vendor", name="Bench Vendor", vendor_status="approved",
                                                            created_at=datetime.now(timezone.utc)))
    client = app.test_client()
    # A realistic mix: browsing with filters, one- and two-word queries, different sorts.
    qrng = random.Random(7)
    queries = ["/api/v1/datasets", "/api/v1/datasets?sort=size_desc"]
    for d, words in VOCAB.items():
        w = words.split()
        queries.append(f"/api/v1/datasets?domain={d}")
        queries.append(f"/api/v1/datasets?q={qrng.choice(w)}")
        queries.append(f"/api/v1/datasets?q={qrng.choice(w)}%20{qrng.choice(w)}&sort=newest")
        queries.append(f"/api/v1/datasets?q={qrng.choice(w)}&domain={d}&language={qrng.choice(LANGS)}")
    for lang in LANGS:
        queries.append(f"/api/v1/datasets?language={lang}&sort=size_desc&limit=50")
    have = 0
    report = []
    any_id = None
    for size in sizes:
        first = seed(app, size - have, org_id, rng)
        any_id = any_id or first
        have = size
        cold = []
        for q in queries:  # first time each query is seen since the catalogue changed
            cold += timed(lambda q=q: client.get(q), 1)
        samples = []
        for _ in range(10):
            for q in random.Random(size).sample(queries, len(queries)):
                r = client.get(q)
                assert r.status_code == 200, r.json
                samples += timed(lambda q=q: client.get(q), 1)
        by_id = timed(lambda any_id=any_id: client.get(f"/api/v1/datasets/{any_id}"), 200)
        s, b = percentiles(samples), percentiles(by_id)
        report.append({"datasets": size, "search": s, "search_first_seen": percentiles(cold), "get_by_id": b,
                       "search_p95_over_get_p95": round(s["p95_ms"] / b["p95_ms"], 2)})
    base = report[0]["search"]["p95_ms"]
    for r in report:
        r["p95_vs_smallest"] = round(r["search"]["p95_ms"] / base, 2)
    emit("search", {"database": db.dialect, "distinct_queries": len(queries), "sizes": report,
                    "target": "p95 at 100k <= 2x p95 at 1k (steady state: facet counts cached per catalogue generation)"})


if __name__ == "__main__":
    main()
