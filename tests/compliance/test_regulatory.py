"""Regulatory documents from evidence: the EU AI Act Article 53(1)(d) training-content summary and
the Chinese generative-AI filing evidence pack, for a model a buyer trained on data licensed here
across modalities (text with a crawl, a synthetic part and a public dataset in its lineage; images;
speech), plus data it declares from elsewhere.

What is checked: the template's structure and size bands, that every value the platform fills has
evidence (and every evidence link answers), that nothing is filled without it, golden files of
both documents, the Word and HTML renderings, Chinese text, and that no document ever includes
another organisation's grants."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from pathlib import Path

import pytest

from marketplace.compliance.regulatory import BANDS, TBP, size_band
from tests.catalog.helpers import _wav, create_dataset, create_version, publish, upload_small
from tests.commerce.helpers import market, order
from tests.factories import bearer, make_tenant, media
from tests.licensing.helpers import declare

GOLDEN = Path(__file__).parent / "golden"
def _png(i: int) -> bytes:
    """A real PNG of its own (ingest measures images: a signature alone no longer passes)."""
    return media.image("PNG", (16 + i, 12))


def _published(client, key, *, title, files, sources, modalities, languages, license="CC-BY-4.0", **decl):
    ds = create_dataset(client, key, title=title, modalities=modalities, languages=languages)
    v = create_version(client, key, ds["id"])
    for path, data in files.items():
        upload_small(client, key, v["id"], path, data)
    assert client.put(f"/api/v1/versions/{v['id']}/license", json={"identifier": license}, headers=bearer(key)).status_code == 200
    r = declare(client, key, v["id"], sources, **decl)
    assert r.status_code == 201, r.json
    v = publish(client, key, v["id"])
    assert v["status"] == "published", v
    return ds, v


def _buy(client, vendor, buyer, ds, v, admin_key, license="CC-BY-4.0"):
    offer = client.post(f"/api/v1/datasets/{ds['id']}/offers", json={"title": "Commercial", "license": license, "pricing_unit": "downloads",
                                                                     "unit_price_minor": 100, "currency": "EUR"}, headers=bearer(vendor.keys["owner"]))
    assert offer.status_code == 201, offer.json
    offer = offer.json
    extra = {"accept_model_terms": offer["model_terms_sha256"]} if offer["model_terms_sha256"] else {}
    o = order(client, buyer.keys["owner"], offer, quantity=5, **extra)
    assert o.status_code == 201, o.json
    paid = client.post(f"/api/v1/orders/{o.json['id']}/mark-paid", headers=bearer(admin_key)).json
    r = client.post(f"/api/v1/grants/{paid['grant_id']}/downloads", json={}, headers=bearer(buyer.keys["owner"]))
    assert r.status_code == 200, r.json
    return paid["grant_id"]


@pytest.fixture
def world(app, client):
    text_vendor, buyer = market()
    media_vendor = make_tenant(vendor=True)
    notes = {"notes/part-0.jsonl": b'{"text": "Patient reports mild pain."}\n', "notes/part-1.jsonl": b'{"text": "Follow-up in two weeks."}\n'}
    text_ds, text_v = _published(
        client, text_vendor.keys["owner"], title="Clinical notes", files=notes, modalities=["text"], languages=["de", "en"], license="CC-BY-NC-4.0",
        sources=[{"kind": "first_hand", "name": "Notes written in our clinics"},
                 {"kind": "web_crawl", "name": "Health forum crawl", "crawl_start": "2024-01-01", "crawl_end": "2024-06-30", "domains": ["forum.example"],
                  "opt_outs_observed": ["robots-ai", "tdmrep"], "opt_outs_respected": True},
                 {"kind": "model", "name": "paraphrased notes", "model_name": "gpt-4o", "model_provider": "OpenAI", "license": "LicenseRef-OpenAI-Terms"},
                 {"kind": "external", "name": "MedQA", "license": "CC-BY-4.0", "url": "https://example.org/medqa"}],
        collection={"period_start": "2024-01-01", "period_end": "2024-06-30", "geography": ["DE"], "lawful_basis": "consent"},
        personal_data={"status": "anonymised", "anonymisation_method": "NER scrubbing and manual review"},
        annotation={"workforce": "12 trained nurses", "guidelines_url": "https://example.org/guidelines", "qa_method": "10% double review", "qa_pass_rate": 0.97})
    image_ds, image_v = _published(client, media_vendor.keys["owner"], title="Dermatology images", modalities=["image"], languages=[],
                                   files={f"img/{i}.png": _png(i) for i in range(3)}, sources=[{"kind": "first_hand", "name": "Clinic cameras"}])
    audio_ds, audio_v = _published(client, media_vendor.keys["owner"], title="Consultation audio", modalities=["audio"], languages=["de"],
                                   files={"a/0.wav": _wav(1.5, rate=16000, channels=1), "a/1.wav": _wav(0.5, rate=16000, channels=1)},
                                   sources=[{"kind": "first_hand", "name": "Recorded consultations"}],
                                   collection={"lawful_basis": "consent"}, personal_data={"status": "contains"})
    grants = {
        "text": _buy(client, text_vendor, buyer, text_ds, text_v, text_vendor.keys["admin"], license="CC-BY-NC-4.0"),
        "image": _buy(client, media_vendor, buyer, image_ds, image_v, media_vendor.keys["admin"]),
        "audio": _buy(client, media_vendor, buyer, audio_ds, audio_v, media_vendor.keys["admin"]),
    }
    k = buyer.keys["owner"]
    model = client.post(f"/api/v1/orgs/{buyer.org.id}/models", json={"name": "Aurora-Med", "version": "1.0", "provider": "Aurora Health GmbH",
                                                                      "release_date": "2026-11-15"}, headers=bearer(k))
    assert model.status_code == 201, model.json
    run = client.post(f"/api/v1/models/{model.json['id']}/runs", json={"name": "pre-training", "started_on": "2026-10-01", "ended_on": "2026-10-20"},
                      headers=bearer(k))
    assert run.status_code == 201, run.json
    rid = run.json["id"]
    inputs = [  # the offers follow the latest version: name it, or attach files and let them say which
        {"kind": "grant", "grant_id": grants["text"], "version_id": text_v["id"]},
        {"kind": "grant", "grant_id": grants["image"], "files": [{"path": f"img/{i}.png", "sha256": hashlib.sha256(_png(i)).hexdigest()} for i in range(3)]},
        {"kind": "grant", "grant_id": grants["audio"], "version_id": audio_v["id"]},
    ]
    for body in inputs:
        r = client.post(f"/api/v1/training-runs/{rid}/inputs", json=body, headers=bearer(k))
        assert r.status_code == 201, r.json
    return {"buyer": buyer, "model": model.json, "run": rid, "grants": grants, "versions": {"text": text_v, "image": image_v, "audio": audio_v},
            "vendors": (text_vendor, media_vendor)}


def _summary(client, world, fmt="json", key=None):
    return client.get(f"/api/v1/models/{world['model']['id']}/eu-training-summary?format={fmt}", headers=bearer(key or world["buyer"].keys["auditor"]))


def _tri_states(node, path=""):
    if isinstance(node, dict):
        if "value" in node and "evidence" in node:
            yield path, node
        for k, v in node.items():
            yield from _tri_states(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _tri_states(v, f"{path}/{i}")


def test_the_eu_summary_follows_the_template_and_prefills_from_evidence(client, world):
    r = _summary(client, world)
    assert r.status_code == 200, r.json
    doc = r.json
    assert list(doc)[-3:] == ["1_general_information", "2_data_sources", "3_processing"]
    g = doc["1_general_information"]
    assert g["1.1_provider"]["name"]["value"] == "Aurora Health GmbH" and g["1.1_provider"]["contact"]["value"] == TBP
    assert g["1.2_model"]["release_date"]["value"] == "2026-11-15"
    mods = {m["modality"]: m for m in g["1.3_modalities"]}
    # text: present, but tokens are never estimated from bytes
    assert mods["text"]["present"]["value"] == "yes" and mods["text"]["size"]["value"] == TBP and mods["text"]["size_band"] == TBP
    # images counted by file, audio measured from the WAV headers (1.5 s + 0.5 s)
    assert mods["image"]["size"]["value"] == 3 and mods["image"]["size_band"] == "less than 1 million images"
    assert mods["audio"]["size"]["value"] == pytest.approx(2 / 3600, abs=0.01) and mods["audio"]["size_band"] == "less than 10,000 hours"
    assert mods["video"]["present"]["value"] == TBP  # never "no": the platform cannot know
    assert g["1.4_languages"]["value"] == "de, en"
    assert g["1.5_latest_acquisition_date"]["value"] == g["1.5_latest_acquisition_date"]["evidence"][0]["label"].split()[-1][:10]
    s = doc["2_data_sources"]
    assert {d["dataset"] for d in s["2.2_private_datasets"]["licensed_through_this_marketplace"]} == {"Clinical notes", "Dermatology images", "Consultation audio"}
    assert [c["name"] for c in s["2.3_crawled_data"]["crawls"]] == ["Health forum crawl"]
    assert s["2.3_crawled_data"]["crawls"][0]["opt_outs_respected"] == "yes"
    assert [x["generating_model"] for x in s["2.5_synthetic_data"]["sources"]] == ["gpt-4o"]
    assert [x["name"] for x in s["2.1_public_datasets"]["within_licensed_datasets"]] == ["MedQA"]
    assert s["2.4_user_data"]["used"]["value"] == TBP
    p = doc["3_processing"]
    assert p["3.1_text_and_data_mining_opt_outs"]["value"] == "yes"
    assert p["3.2_removal_of_illegal_content"]["value"] == TBP
    assert "NER scrubbing" in p["3.3_other"]["measures"][0]["measure"]


def test_nothing_is_filled_without_evidence_and_every_link_answers(client, world):
    doc = _summary(client, world).json
    states = list(_tri_states(doc))
    assert len(states) > 15
    for path, node in states:
        assert node["value"] in (TBP, "yes", "no") or node["evidence"], path
        if node["value"] == TBP:
            assert node["evidence"] == [] or "3.1" in path, path
        else:
            assert node["evidence"], (path, node)
    links = {e["url"] for _, node in states for e in node["evidence"] if e["url"]}
    links |= {e["url"] for d in doc["2_data_sources"]["2.2_private_datasets"]["licensed_through_this_marketplace"] for e in d["evidence"]}
    assert any("/audit/events?" in u for u in links) and any("/manifest" in u for u in links) and any("/grants/" in u for u in links)
    for url in sorted(links):
        assert client.get(url, headers=bearer(world["buyer"].keys["owner"])).status_code == 200, url


def test_declared_inputs_say_so_and_make_the_provider_fill_the_rest(client, world):
    k = world["buyer"].keys["owner"]
    for body in ({"kind": "public", "name": "Common Crawl medical subset", "modality": "text", "size": 2_500_000_000, "languages": ["fr"],
                  "url": "https://example.org/cc-med"},
                 {"kind": "user", "name": "Opted-in app conversations", "modality": "text"}):
        r = client.post(f"/api/v1/training-runs/{world['run']}/inputs", json=body, headers=bearer(k))
        assert r.status_code == 201, r.json
    doc = _summary(client, world).json
    g = doc["1_general_information"]
    assert g["1.4_languages"]["value"] == "de, en, fr"
    # the platform did not see when declared data was acquired
    assert g["1.5_latest_acquisition_date"]["value"] == TBP and g["1.5_latest_acquisition_date"]["latest_seen_by_platform"]
    (public,) = doc["2_data_sources"]["2.1_public_datasets"]["datasets"]
    assert public["share"] == TBP and public["named_because"] == "its share is not known"  # the licensed text has no token count
    assert public["evidence"][0]["type"] == "declaration"
    assert doc["2_data_sources"]["2.4_user_data"]["used"]["value"] == "yes"
    assert doc["2_data_sources"]["2.4_user_data"]["used"]["evidence"][0]["type"] == "declaration"


@pytest.mark.parametrize("modality", sorted(BANDS))
def test_size_band_boundaries(modality):
    low, high, labels = BANDS[modality]
    assert size_band(modality, low - 1) == labels[0]
    assert size_band(modality, low) == labels[1]
    assert size_band(modality, high) == labels[1]
    assert size_band(modality, high + 1) == labels[2]
    assert size_band(modality, None) == TBP


def test_text_token_boundaries_as_the_template_states():
    assert size_band("text", 999_999_999) == "less than 1 billion tokens"
    assert size_band("text", 1_000_000_000) == "1 billion to 10 trillion tokens"


def test_word_and_html_renderings(client, world):
    from docx import Document

    r = _summary(client, world, "docx")
    assert r.status_code == 200 and r.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    d = Document(io.BytesIO(r.get_data()))
    headings = [p.text for p in d.paragraphs if p.style.name.startswith("Heading")]
    assert {"1 General information", "2 Data sources", "3 Processing"} <= set(headings) and "2.3 Crawled data" in headings
    text = "\n".join(p.text for p in d.paragraphs)
    assert "Aurora Health GmbH" in text and "Health forum crawl" in text and "[grant]" in text
    html = _summary(client, world, "html").get_data(as_text=True)
    assert '<a href="#2_data_sources">2 Data sources</a>' in html and "/manifest" in html and "Health forum crawl" in html


def test_the_chinese_filing_pack_per_source(client, world):
    r = client.get(f"/api/v1/models/{world['model']['id']}/cn-filing-evidence?lang=zh", headers=bearer(world["buyer"].keys["auditor"]))
    assert r.status_code == 200, r.json
    doc = r.json
    assert doc["document"].startswith("生成式人工智能服务备案") and "第七条" in doc["basis"] and "TC260-003" in doc["basis"]
    rows = {row["数据来源"].split(" ")[0]: row for row in doc["sources"]}
    notes = rows["Clinical"]
    assert notes["来源合法性"]["许可"].startswith("CC-BY-NC-4.0 v1") and notes["是否包含个人信息"] == "已匿名化" and notes["个人信息处理依据"] == "个人同意"
    assert notes["标注规则"] == "https://example.org/guidelines" and "12 trained nurses" in notes["标注人员培训与质量核验记录"]
    assert rows["Dermatology"]["个人信息处理依据"] == "待提供"  # no lawful basis declared: never guessed
    shares = [float(row["占训练语料比例（按字节）"].rstrip("%")) for row in doc["sources"]]
    assert sum(shares) == pytest.approx(100, abs=0.05)
    en = client.get(f"/api/v1/models/{world['model']['id']}/cn-filing-evidence?lang=en", headers=bearer(world["buyer"].keys["auditor"])).json
    assert en["sources"][0]["Legality of the source"]["Licence"].startswith("CC-BY-NC-4.0")
    html = client.get(f"/api/v1/models/{world['model']['id']}/cn-filing-evidence?lang=zh&format=html", headers=bearer(world["buyer"].keys["auditor"]))
    page = html.get_data(as_text=True)
    assert html.status_code == 200 and '<html lang="zh">' in page and "来源合法性" in page and "待提供" in page


def test_no_document_includes_another_organisations_grants(client, world):
    """A second buyer of the same dataset: its model shows its own grant only, and it cannot read
    the first buyer's model, attach the first buyer's grant, or see its documents."""
    text_vendor, _ = world["vendors"]
    other = make_tenant()
    ds_id = world["versions"]["text"]["dataset_id"]
    offer = client.get(f"/api/v1/datasets/{ds_id}/offers", headers=bearer(other.keys["owner"])).json[0]
    o = order(client, other.keys["owner"], offer, quantity=1, **({"accept_model_terms": offer["model_terms_sha256"]} if offer["model_terms_sha256"] else {}))
    paid = client.post(f"/api/v1/orders/{o.json['id']}/mark-paid", headers=bearer(text_vendor.keys["admin"])).json
    m = client.post(f"/api/v1/orgs/{other.org.id}/models", json={"name": "Rival", "version": "0.1", "provider": "Rival Ltd"}, headers=bearer(other.keys["owner"])).json
    run = client.post(f"/api/v1/models/{m['id']}/runs", json={"name": "ft"}, headers=bearer(other.keys["owner"])).json
    # the first buyer's grant is not the second buyer's to attach
    vid = world["versions"]["text"]["id"]
    r = client.post(f"/api/v1/training-runs/{run['id']}/inputs", json={"kind": "grant", "grant_id": world["grants"]["text"], "version_id": vid},
                    headers=bearer(other.keys["owner"]))
    assert r.status_code == 404
    assert client.post(f"/api/v1/training-runs/{run['id']}/inputs", json={"kind": "grant", "grant_id": paid["grant_id"], "version_id": vid},
                       headers=bearer(other.keys["owner"])).status_code == 201
    mine = client.get(f"/api/v1/models/{m['id']}/eu-training-summary", headers=bearer(other.keys["owner"])).json
    grants = {e["id"] for d in mine["2_data_sources"]["2.2_private_datasets"]["licensed_through_this_marketplace"] for e in d["evidence"] if e["type"] == "grant"}
    assert grants == {paid["grant_id"]}
    assert world["grants"]["text"] not in json.dumps(mine) and "Aurora" not in json.dumps(mine)
    mid = world["model"]["id"]
    for url in (f"/api/v1/models/{mid}", f"/api/v1/models/{mid}/eu-training-summary", f"/api/v1/models/{mid}/cn-filing-evidence", f"/api/v1/models/{mid}/bom",
                f"/api/v1/training-runs/{world['run']}"):
        assert client.get(url, headers=bearer(other.keys["owner"])).status_code == 404, url
    assert client.post(f"/api/v1/training-runs/{world['run']}/inputs", json={"kind": "other", "name": "x", "modality": "text"},
                       headers=bearer(other.keys["owner"])).status_code == 404
    # a vendor of the data sees nothing of its buyer's models either
    assert client.get(f"/api/v1/models/{mid}", headers=bearer(text_vendor.keys["owner"])).status_code == 404


def test_attached_files_must_match_the_manifest(client, world):
    k = world["buyer"].keys["owner"]
    url = f"/api/v1/training-runs/{world['run']}/inputs"
    wrong = client.post(url, json={"kind": "grant", "grant_id": world["grants"]["image"], "files": [{"path": "img/0.png", "sha256": "0" * 64}]}, headers=bearer(k))
    assert wrong.status_code == 400 and "img/0.png" in wrong.json["errors"]["files"][0]
    missing = client.post(url, json={"kind": "grant", "grant_id": world["grants"]["image"], "files": [{"path": "img/9.png", "sha256": "a" * 64}]}, headers=bearer(k))
    assert missing.status_code == 400
    for body, field in (({"kind": "grant"}, "grant_id"), ({"kind": "public", "name": "x"}, "modality"), ({"kind": "grant", "grant_id": world["grants"]["image"], "modality": "text"}, "modality"),
                        ({"kind": "other", "name": "x", "modality": "text", "grant_id": world["grants"]["image"]}, "kind"),
                        ({"kind": "other", "name": "x", "modality": "text", "size": 10**19}, "size"),
                        ({"kind": "other", "name": "\ud800", "modality": "text"}, "name")):
        r = client.post(url, json=body, headers=bearer(k))
        assert r.status_code == 400 and field in r.json["errors"], (body, r.json)


def test_the_model_bom_lists_exactly_the_inputs(client, world):
    bom = client.get(f"/api/v1/models/{world['model']['id']}/bom", headers=bearer(world["buyer"].keys["auditor"])).json
    assert bom["metadata"]["component"]["type"] == "machine-learning-model" and bom["metadata"]["component"]["name"] == "Aurora-Med"
    assert len(bom["components"]) == 3
    files = {c["name"]: [f["name"] for f in c["components"]] for c in bom["components"]}
    assert sorted(sum(files.values(), [])) == ["a/0.wav", "a/1.wav", "img/0.png", "img/1.png", "img/2.png", "notes/part-0.jsonl", "notes/part-1.jsonl"]
    props = {p["name"]: p["value"] for c in bom["components"] for p in c["properties"]}
    assert props["marketplace:training_run"] == "pre-training" and "marketplace:model_term:no-competing-models" in props


# --------------------------------------------------------------------------- golden files

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HEX = re.compile(r"\b[0-9a-f]{64}\b")
TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)?")
SLUG = re.compile(r"\bds-[0-9a-f]{8}\b")
ORG = re.compile(r"\bOrg-\d+-[0-9a-f]{6}\b")  # the factories' organisation names
EVENT = re.compile(r"/audit/events/\d+/proof")  # (kept for older documents)


def _normalised(doc: dict) -> str:
    text = json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False)
    today = doc["generated_at"][:10]
    for pattern, token in ((UUID, "<uuid>"), (HEX, "<sha256>"), (TIME, "<time>"), (SLUG, "<slug>"), (ORG, "<org>"), (EVENT, "/audit/events/<n>/proof")):
        text = pattern.sub(token, text)
    text = re.sub(r'"event_id": "\d+"', '"event_id": "<n>"', text)
    return text.replace(today, "<today>")


@pytest.mark.parametrize("name, url", [("eu_training_summary.json", "eu-training-summary"), ("cn_filing_evidence.zh.json", "cn-filing-evidence?lang=zh"),
                                       ("cn_filing_evidence.en.json", "cn-filing-evidence?lang=en")])
def test_golden_documents(client, world, name, url):
    """The documents for the seeded model, with ids, digests and times masked. A change to a
    document shows here as a diff to review; regenerate with UPDATE_GOLDEN=1 after reading it."""
    doc = client.get(f"/api/v1/models/{world['model']['id']}/{url}", headers=bearer(world["buyer"].keys["auditor"])).json
    got = _normalised(doc)
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(got + "\n", encoding="utf-8")
    assert got + "\n" == path.read_text(encoding="utf-8")


def test_a_model_named_with_control_characters_still_renders_as_word(client):
    """Found by schemathesis: a name XML cannot carry made the Word export fail with a 500."""
    from docx import Document

    t = make_tenant()
    m = client.post(f"/api/v1/orgs/{t.org.id}/models", json={"name": "Ctrl\x0bName\x1f", "version": "1", "provider": "P\x0c"}, headers=bearer(t.keys["owner"]))
    assert m.status_code in (201, 400), m.json
    if m.status_code == 201:
        r = client.get(f"/api/v1/models/{m.json['id']}/eu-training-summary?format=docx", headers=bearer(t.keys["owner"]))
        assert r.status_code == 200
        assert "Ctrl\ufffdName" in "\n".join(p.text for p in Document(io.BytesIO(r.get_data())).paragraphs)


def test_record_streams_are_evidence_of_acquisition(client, world):
    """Records streamed under a grant count: how many, and the stream's audit events as evidence."""
    k = world["buyer"].keys["owner"]
    text_vendor, _ = world["vendors"]
    v = world["versions"]["text"]
    offer = client.post(f"/api/v1/datasets/{v['dataset_id']}/offers", json={"title": "Per record", "license": "CC-BY-NC-4.0", "pricing_unit": "records",
                                                                          "unit_price_minor": 1, "currency": "EUR"}, headers=bearer(text_vendor.keys["owner"])).json
    o = order(client, k, offer, quantity=10, accept_model_terms=offer["model_terms_sha256"])
    gid = client.post(f"/api/v1/orders/{o.json['id']}/mark-paid", headers=bearer(text_vendor.keys["admin"])).json["grant_id"]
    r = client.get(f"/api/v1/grants/{gid}/records?path=notes/part-0.jsonl", headers=bearer(k))
    assert r.status_code == 200, r.json
    assert client.post(f"/api/v1/training-runs/{world['run']}/inputs", json={"kind": "grant", "grant_id": gid, "version_id": v["id"],
                                                                            "files": [{"path": "notes/part-0.jsonl", "sha256": hashlib.sha256(b'{"text": "Patient reports mild pain."}\n').hexdigest()}]},
                       headers=bearer(k)).status_code == 201
    doc = _summary(client, world).json
    (notes,) = [d for d in doc["2_data_sources"]["2.2_private_datasets"]["licensed_through_this_marketplace"] if d["dataset"] == "Clinical notes"
                and "Per record" not in d["licence"] and d["records_streamed"]]
    assert notes["records_streamed"] == 1 and notes["downloads_authorised"] == 0
    assert any(e["type"] == "audit" and "records streamed" in e["label"] for e in notes["evidence"])
    last = doc["1_general_information"]["1.5_latest_acquisition_date"]
    assert last["evidence"][0]["label"].startswith("records streamed") and "action=delivery.records" in last["evidence"][0]["url"]
    assert client.get(last["evidence"][0]["url"], headers=bearer(k)).json["items"]


def test_declared_token_counts_give_the_text_band_and_say_whose_count_it_is(client, world):
    """Tokens are never estimated: with the provider's count on the licensed text the band is
    filled, as declared; 999,999,999 tokens is below the 1 billion boundary, 1,000,000,000 is not.
    The same data attached to several runs is the same data: a recount replaces, never adds."""
    k = world["buyer"].keys["owner"]
    v = world["versions"]["text"]

    def text_size():
        return next(m for m in _summary(client, world).json["1_general_information"]["1.3_modalities"] if m["modality"] == "text")

    mine = [i for i in client.get(f"/api/v1/models/{world['model']['id']}", headers=bearer(k)).json["runs"][0]["inputs"] if i["grant_id"] == world["grants"]["text"]]
    assert client.delete(f"/api/v1/training-runs/{world['run']}/inputs/{mine[0]['id']}", headers=bearer(k)).status_code == 204
    r = client.post(f"/api/v1/training-runs/{world['run']}/inputs", json={"kind": "grant", "grant_id": world["grants"]["text"], "version_id": v["id"],
                                                                        "size": 999_999_999}, headers=bearer(k))
    assert r.status_code == 201, r.json
    text = text_size()
    assert text["size"]["value"] == 999_999_999 and text["size_band"] == "less than 1 billion tokens" and text["size"]["basis"] == "declared by the provider"
    assert any(e["type"] == "declaration" for e in text["size"]["evidence"])
    # attaching it again to the same run is refused; a second run reusing it does not double it
    again = client.post(f"/api/v1/training-runs/{world['run']}/inputs", json={"kind": "grant", "grant_id": world["grants"]["text"], "version_id": v["id"],
                                                                            "size": 999_999_999}, headers=bearer(k))
    assert again.status_code == 409
    run = client.post(f"/api/v1/models/{world['model']['id']}/runs", json={"name": "continued pre-training"}, headers=bearer(k)).json
    assert client.post(f"/api/v1/training-runs/{run['id']}/inputs", json={"kind": "grant", "grant_id": world["grants"]["text"], "version_id": v["id"],
                                                                         "size": 1_000_000_000}, headers=bearer(k)).status_code == 201
    text = text_size()
    assert text["size"]["value"] == 1_000_000_000 and text["size_band"] == "1 billion to 10 trillion tokens"
    doc = _summary(client, world).json
    (notes,) = [d for d in doc["2_data_sources"]["2.2_private_datasets"]["licensed_through_this_marketplace"] if d["dataset"] == "Clinical notes"]
    assert notes["runs"] == ["continued pre-training", "pre-training"] and notes["files"] == 2


def test_a_grant_input_is_a_version_the_grant_covers(client, world):
    """Found from outside: a grant held on 1.0.0 could be attached for 2.0.0 (model terms never
    accepted) or 3.0.0 (non-commercial, under a commercial grant), and the BOM then called that
    data commercial. Only versions the grant covers are licensed under it."""
    _, media_vendor = world["vendors"]
    k, vk = world["buyer"].keys["owner"], media_vendor.keys["owner"]
    ds_id = world["versions"]["image"]["dataset_id"]
    newer = create_version(client, vk, ds_id, "2.0.0")
    upload_small(client, vk, newer["id"], "img/9.png", _png(9))
    assert client.put(f"/api/v1/versions/{newer['id']}/license", json={"identifier": "CC-BY-NC-4.0"}, headers=bearer(vk)).status_code == 200
    assert declare(client, vk, newer["id"], [{"kind": "first_hand", "name": "Clinic cameras"}]).status_code == 201
    assert publish(client, vk, newer["id"])["status"] == "published"
    r = client.post(f"/api/v1/training-runs/{world['run']}/inputs", json={"kind": "grant", "grant_id": world["grants"]["image"], "version_id": newer["id"]},
                    headers=bearer(k))
    assert r.status_code == 400 and "does not cover" in r.json["errors"]["version_id"][0]
    # the offer, still open for "latest", says what it now sells: non-commercial data
    offer = client.get(f"/api/v1/datasets/{ds_id}/offers", headers=bearer(k)).json[0]
    assert offer["effective_terms"]["use_class"] == "non-commercial"


def test_input_names_are_what_people_can_read(client, world):
    k = world["buyer"].keys["owner"]
    org = world["buyer"].org.id
    for body, field in (({"name": "   ", "version": "1", "provider": "P"}, "name"), ({"name": "A\u202eB", "version": "1", "provider": "P"}, "name"),
                        ({"name": "A", "version": "1\n", "provider": "P"}, "version"), ({"name": "A", "version": "1", "provider": "P\x07"}, "provider")):
        r = client.post(f"/api/v1/orgs/{org}/models", json=body, headers=bearer(k))
        assert r.status_code == 400 and field in r.json["errors"], (body, r.json)
    same = client.post(f"/api/v1/orgs/{org}/models", json={"name": "Aurora-Med ", "version": "1.0", "provider": "P"}, headers=bearer(k))
    assert same.status_code == 409  # trailing space does not make another model
    r = client.post(f"/api/v1/training-runs/{world['run']}/inputs", json={"kind": "public", "name": "x", "modality": "text", "languages": ["en", "en"]}, headers=bearer(k))
    assert r.status_code == 400 and "languages" in r.json["errors"]
    r = client.post(f"/api/v1/training-runs/{world['run']}/inputs", json={"kind": "grant", "grant_id": world["grants"]["audio"], "version_id": world["versions"]["audio"]["id"],
                                                                        "languages": ["zz"]}, headers=bearer(k))
    assert r.status_code == 400 and "languages" in r.json["errors"]


def test_writing_a_run_needs_the_write_scope_only(client, world):
    from tests.factories import make_key

    buyer = world["buyer"]
    key = make_key(buyer.owner, buyer.org, scopes=["compliance:write"])
    r = client.post(f"/api/v1/models/{world['model']['id']}/runs", json={"name": "write-only key"}, headers=bearer(key))
    assert r.status_code == 201, r.json
