"""Catalogue search on PostgreSQL (GIN full-text) and SQLite (FTS5): results, facets, filters,
sorting and cursor pagination."""

from __future__ import annotations

import pytest

from tests.catalog.helpers import create_dataset, published_dataset
from tests.factories import bearer, make_tenant


@pytest.fixture
def catalogue(app, client):
    med = make_tenant(vendor=True)
    vox = make_tenant(vendor=True)
    k1, k2 = med.keys["owner"], vox.keys["owner"]
    d = {}
    d["icu"], _ = published_dataset(client, k1, {"notes.jsonl": b'{"n": 1}\n' * 10}, slug="icu-notes", title="ICU clinical notes",
                                    summary="De-identified intensive care notes", domain="healthcare", modalities=["text"], languages=["en"], tags=["clinical", "icu"])
    d["radiology"], _ = published_dataset(client, k1, {"reports.jsonl": b'{"r": 1}\n' * 500}, slug="radiology", title="Radiology reports",
                                          summary="Chest X-ray reports written by radiologists", domain="healthcare", modalities=["text", "image"], languages=["en", "de"], tags=["clinical"])
    d["speech"], _ = published_dataset(client, k2, {"a.jsonl": b'{"u": 1}\n' * 100}, slug="nordic-speech", title="Nordic call-centre speech",
                                       summary="48 kHz multi-speaker telephone conversations", domain="speech-audio", modalities=["audio"], languages=["sv", "nb"], tags=["telephony"])
    d["contracts"], _ = published_dataset(client, k2, {"c.jsonl": b'{"c": 1}\n' * 50}, slug="contracts", title="Commercial lease contracts",
                                          summary="Annotated clauses from lease agreements", domain="legal", modalities=["text"], languages=["en"], tags=["contracts"],
                                          visibility="unlisted")
    d["draft"] = create_dataset(client, k1, slug="draft-only", title="Clinical draft never published")
    return d, med, vox


def ids(result):
    return [i["slug"] for i in result["items"]]


def test_full_text_finds_title_summary_and_tags(client, catalogue):
    r = client.get("/api/v1/datasets?q=clinical")
    assert r.status_code == 200
    assert set(ids(r.json)) == {"icu-notes", "radiology"}  # not the draft, not the unlisted one
    assert ids(client.get("/api/v1/datasets?q=radiologists").json) == ["radiology"]  # stemmed summary word
    assert ids(client.get("/api/v1/datasets?q=telephony").json) == ["nordic-speech"]  # tag
    assert ids(client.get("/api/v1/datasets?q=lease").json) == []  # unlisted stays out of search
    assert client.get("/api/v1/datasets?q=zebra%20unicorn").json["total"] == 0


def test_public_listing_only_listed_with_published_version(client, catalogue):
    res = client.get("/api/v1/datasets?sort=newest").json
    assert set(ids(res)) == {"icu-notes", "radiology", "nordic-speech"}
    assert res["total"] == 3
    assert ids(res) == ["nordic-speech", "radiology", "icu-notes"]


def test_facets_and_counts(client, catalogue):
    res = client.get("/api/v1/datasets").json
    facets = {k: {f["value"]: f["count"] for f in v} for k, v in res["facets"].items()}
    assert facets["domain"] == {"healthcare": 2, "speech-audio": 1}
    assert facets["modality"] == {"text": 2, "image": 1, "audio": 1}
    assert facets["language"] == {"en": 2, "de": 1, "sv": 1, "nb": 1}
    assert sorted(facets["vendor"].values()) == [1, 2]
    filtered = client.get("/api/v1/datasets?domain=healthcare&modality=image").json
    assert ids(filtered) == ["radiology"] and filtered["total"] == 1
    assert {f["value"]: f["count"] for f in filtered["facets"]["language"]} == {"en": 1, "de": 1}


def test_filters(client, catalogue):
    d, med, vox = catalogue
    assert set(ids(client.get("/api/v1/datasets?language=en").json)) == {"icu-notes", "radiology"}
    assert ids(client.get(f"/api/v1/datasets?vendor={vox.org.id}").json) == ["nordic-speech"]
    assert ids(client.get("/api/v1/datasets?size_min=1000").json) == ["radiology"]
    assert set(ids(client.get("/api/v1/datasets?size_max=900").json)) == {"icu-notes", "nordic-speech"}
    assert ids(client.get("/api/v1/datasets?tag=icu").json) == ["icu-notes"]


def test_sorting_and_cursor_pagination(client, catalogue):
    by_size = ids(client.get("/api/v1/datasets?sort=size_desc").json)
    assert by_size == ["radiology", "nordic-speech", "icu-notes"]
    assert ids(client.get("/api/v1/datasets?sort=size_asc").json) == list(reversed(by_size))
    seen = []
    url = "/api/v1/datasets?sort=size_desc&limit=1"
    while url:
        page = client.get(url).json
        seen += ids(page)
        url = f"/api/v1/datasets?sort=size_desc&limit=1&cursor={page['next_cursor']}" if page["next_cursor"] else None
    assert seen == by_size
    rel = client.get("/api/v1/datasets?q=clinical&limit=1").json
    nxt = client.get(f"/api/v1/datasets?q=clinical&limit=1&cursor={rel['next_cursor']}").json
    assert len(ids(rel) + ids(nxt)) == 2 and set(ids(rel) + ids(nxt)) == {"icu-notes", "radiology"} and nxt["next_cursor"] is None


def test_tampered_or_foreign_cursor_is_400(client, catalogue):
    page = client.get("/api/v1/datasets?sort=size_desc&limit=1").json
    r = client.get(f"/api/v1/datasets?sort=size_desc&limit=1&cursor={page['next_cursor'][:-2]}xx")
    assert r.status_code == 400 and "cursor" in r.json["errors"]
    r = client.get(f"/api/v1/datasets?sort=newest&limit=1&cursor={page['next_cursor']}")
    assert r.status_code == 400


@pytest.mark.parametrize("query", ["sort=cheapest", "limit=0", "limit=1000", "size_min=-1", "vendor=not-a-uuid", "license_class=free", "bogus=1", "q=%21%21%21"])
def test_bad_search_parameters(client, query):
    r = client.get(f"/api/v1/datasets?{query}")
    assert r.status_code == 400, (query, r.json)
    assert r.headers["Content-Type"] == "application/problem+json"


def test_metadata_changes_reach_search(client, catalogue):
    d, med, _ = catalogue
    client.patch(f"/api/v1/datasets/{d['icu']['id']}", json={"summary": "Includes sepsis annotations"}, headers=bearer(med.keys["owner"]))
    assert ids(client.get("/api/v1/datasets?q=sepsis").json) == ["icu-notes"]
    before = {f["value"]: f["count"] for f in client.get("/api/v1/datasets").json["facets"]["domain"]}
    client.patch(f"/api/v1/datasets/{d['icu']['id']}", json={"visibility": "delisted"}, headers=bearer(med.keys["owner"]))
    assert ids(client.get("/api/v1/datasets?q=sepsis").json) == []
    # cached facet counts move with the catalogue
    after = client.get("/api/v1/datasets").json
    assert before["healthcare"] == 2 and {f["value"]: f["count"] for f in after["facets"]["domain"]}["healthcare"] == 1 and after["total"] == 2


def test_the_words_buyers_type_for_a_domain_find_it_in_several_languages(client, catalogue):
    """"medical" found nothing although healthcare data was listed: a dataset is also found by its
    domain's words (catalog/synonyms.py), in English, Chinese, Japanese and Korean."""
    for q in ("medical", "hospital", "医疗", "医療", "의료"):
        assert set(ids(client.get("/api/v1/datasets", query_string={"q": q}).json)) == {"icu-notes", "radiology"}, q
    for q in ("voice", "语音", "음성"):
        assert ids(client.get("/api/v1/datasets", query_string={"q": q}).json) == ["nordic-speech"], q
    # A domain word narrows like any other word: "medical reports" is the radiology reports only.
    assert ids(client.get("/api/v1/datasets", query_string={"q": "medical reports"}).json) == ["radiology"]
    assert client.get("/api/v1/datasets", query_string={"q": "legal"}).json["total"] == 0  # the legal dataset is unlisted


def test_reindex_brings_an_old_index_up_to_date(client, catalogue):
    """`marketplace search reindex` (catalog.services.search.reindex_all) rebuilds entries made
    before the domain words were indexed."""
    from sqlalchemy import text

    from catalog.services.search import reindex_all
    from marketplace.kernel.db import get_session

    session = get_session()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("UPDATE datasets SET search_vector = to_tsvector('english', title)"))
        session.execute(text("DELETE FROM search_postings WHERE term = 'medic'"))  # what the stale vectors held
    else:
        session.execute(text("UPDATE datasets_fts SET body = 'stale'"))
    session.commit()
    assert client.get("/api/v1/datasets", query_string={"q": "medical"}).json["total"] == 0
    assert reindex_all() >= 5
    assert set(ids(client.get("/api/v1/datasets", query_string={"q": "medical"}).json)) == {"icu-notes", "radiology"}


def test_several_words_that_match_nothing_together_fall_back_to_any(client, catalogue):
    """"legal contracts" found nothing when no dataset held both words; a buyer gets the datasets
    holding either, best first, and the answer says the match was partial."""
    r = client.get("/api/v1/datasets", query_string={"q": "icu telephony"}).json
    assert r["match"] == "any" and set(ids(r)) == {"icu-notes", "nordic-speech"} and r["total"] == 2
    r = client.get("/api/v1/datasets", query_string={"q": "icu notes"}).json
    assert r["match"] == "all" and ids(r) == ["icu-notes"]
    assert client.get("/api/v1/datasets", query_string={"q": "zebra unicorn"}).json["total"] == 0
    # pages of a partial match carry on as a partial match
    first = client.get("/api/v1/datasets", query_string={"q": "icu telephony", "limit": 1}).json
    nxt = client.get("/api/v1/datasets", query_string={"q": "icu telephony", "limit": 1, "cursor": first["next_cursor"]}).json
    assert nxt["match"] == "any" and len(ids(first) + ids(nxt)) == 2 and set(ids(first) + ids(nxt)) == {"icu-notes", "nordic-speech"}


def test_a_misspelt_query_finds_what_the_catalogue_spells_right(client, catalogue):
    """"radiolgy" found nothing, with no suggestion: a query that finds nothing as typed is
    corrected to the catalogue's spelling, and the answer says which spelling it used."""
    r = client.get("/api/v1/datasets", query_string={"q": "radiolgy"}).json
    assert r["corrected_to"] == "radiology" and r["total"] > 0 and ids(r)[0] == "radiology"
    r = client.get("/api/v1/datasets", query_string={"q": "telephny"}).json
    assert r["corrected_to"] == "telephony" and ids(r) == ["nordic-speech"]
    r = client.get("/api/v1/datasets", query_string={"q": "radiolgy reprts"}).json
    assert r["corrected_to"] == "radiology reports" and r["match"] == "all" and ids(r) == ["radiology"]
    # Corrected, but nothing within the filters: the suggestion alone, and no results.
    r = client.get("/api/v1/datasets", query_string={"q": "radiolgy", "domain": "speech-audio"}).json
    assert r["total"] == 0 and r["suggestion"] == "radiology" and "corrected_to" not in r
    r = client.get("/api/v1/datasets", query_string={"q": "xqzvw"}).json
    assert r["total"] == 0 and "suggestion" not in r and "corrected_to" not in r  # nothing close: no guess
    r = client.get("/api/v1/datasets", query_string={"q": "radiology"}).json
    assert "suggestion" not in r and "corrected_to" not in r  # found as typed


def test_chinese_japanese_and_korean_words_inside_running_text_are_found(client):
    """影像 inside a Chinese card found nothing: CJK text has no spaces, so it is indexed and
    searched as character pairs (catalog/cjk.py) on both backends."""
    k = make_tenant(vendor=True).keys["owner"]
    published_dataset(client, k, {"a.jsonl": b'{"a": 1}\n'}, slug="cn-imaging", title="胸部CT影像集", summary="放射科报告与图像",
                      card_markdown="本数据集包含医学影像数据，来自三家医院。", domain="healthcare")
    published_dataset(client, k, {"b.jsonl": b'{"b": 1}\n'}, slug="jp-contracts", title="契約書コーパス", summary="日本語の賃貸借契約",
                      card_markdown="不動産の契約書を収録しています。", domain="legal")
    published_dataset(client, k, {"c.jsonl": b'{"c": 1}\n'}, slug="kr-speech", title="한국어 콜센터 음성", summary="상담원 통화 녹음",
                      card_markdown="고객 상담 통화를 전사한 데이터입니다.", domain="speech-audio")

    def found(q: str) -> list[str]:
        return ids(client.get("/api/v1/datasets", query_string={"q": q}).json)

    assert found("影像") == ["cn-imaging"]  # inside the title and the card
    assert found("医学影像") == ["cn-imaging"]  # several pairs, all of them
    assert found("放射科") == ["cn-imaging"]
    assert found("賃貸借") == ["jp-contracts"]
    assert found("契約書") == ["jp-contracts"]
    assert found("상담") == ["kr-speech"]
    assert found("影像 radiology")[0] == "cn-imaging"  # mixed with an English domain word
    # Pairs that never occur together in one dataset match only partially (the any-word fallback).
    assert client.get("/api/v1/datasets", query_string={"q": "医学合同"}).json["match"] == "any"
    assert client.get("/api/v1/datasets", query_string={"q": "影像"}).json["match"] == "all"
