"""Licensing over HTTP on both backends: registry, custom licences, a version's licence and
provenance, lineage compatibility through the registry, NOTICE; bad input changes nothing."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from sqlalchemy import func, select

from licensing.models import License, ProvenanceDeclaration, VersionLicense
from marketplace.kernel.db import get_session
from tests.catalog.helpers import create_dataset, create_version, publish, upload_small
from tests.factories import bearer, make_tenant
from tests.licensing.helpers import FIRST_HAND, declare, draft, released


@pytest.fixture
def vendors(app):
    return make_tenant(vendor=True), make_tenant(vendor=True)


def test_registry_is_public_and_pins_texts(client):
    r = client.get("/api/v1/licenses")
    ids = {lic["identifier"] for lic in r.json}
    for ident in ("CC0-1.0", "CC-BY-4.0", "CC-BY-SA-4.0", "CC-BY-NC-4.0", "CC-BY-NC-SA-4.0", "CC-BY-ND-4.0", "CC-BY-NC-ND-4.0", "ODC-By-1.0", "ODbL-1.0",
                  "PDDL-1.0", "CDLA-Permissive-2.0", "CDLA-Sharing-1.0", "C-UDA-1.0", "Apache-2.0", "MIT", "LicenseRef-OpenRAIL-M", "LicenseRef-MDL-Research"):
        assert ident in ids, ident
    lic = client.get("/api/v1/licenses/cc-by-sa-4.0").json
    assert lic["identifier"] == "CC-BY-SA-4.0" and lic["terms"]["share_alike"] is True and lic["use_class"] == "commercial"
    assert lic["text_sha256"] == hashlib.sha256(lic["text"].encode()).hexdigest()
    mdl = client.get("/api/v1/licenses/LicenseRef-MDL-Internal").json
    assert mdl["terms"]["mdl_data_rights"]["internal_use"] == "allowed" and mdl["terms"]["mdl_model_rights"]["commercialise_model"] == "prohibited"
    assert client.get("/api/v1/licenses/NOT-A-LICENSE").status_code == 404
    assert {x["identifier"] for x in client.get("/api/v1/licenses?use_class=non-commercial").json} >= {"CC-BY-NC-4.0", "LicenseRef-CSLU-Agreement"}
    # A model provider's terms: its own restrictions, versioned, with who publishes them and since when.
    openai = client.get("/api/v1/licenses/LicenseRef-OpenAI-Terms").json
    assert openai["version"] == 2 and openai["use_class"] == "commercial" and openai["terms"]["no_competing_models"] is True
    assert openai["provider"] == "OpenAI" and openai["effective_on"] == "2024-01-31" and openai["url"].startswith("https://openai.com/")
    first = client.get("/api/v1/licenses/LicenseRef-OpenAI-Terms?version=1").json
    assert first["use_class"] == "non-commercial" and first["text_sha256"] != openai["text_sha256"]


def test_normalise_endpoint(client):
    r = client.post("/api/v1/licenses/normalise", json={"text": "Creative Commons Attribution-NonCommercial 4.0 International Public License"})
    assert r.json["identifier"] == "CC-BY-NC-4.0" and r.json["use_class"] == "non-commercial"
    r = client.post("/api/v1/licenses/normalise", json={"text": "ask the authors"})
    assert r.json["unknown"] is True and r.json["use_class"] == "academic-only"


CUSTOM_TEXT = "ACME CLINICAL DATA LICENCE\n1. You may train models for internal use.\n2. No redistribution.\n"


def test_custom_licence_versions_never_change(app, client, vendors):
    a, _ = vendors
    body = {"slug": "clinical", "name": "ACME clinical data licence", "text": CUSTOM_TEXT,
            "terms": {"commercial_use": "allowed", "ai_training": "allowed", "redistribution": "prohibited", "attribution": True}}
    r = client.post("/api/v1/licenses", json=body, headers=bearer(a.keys["owner"]))
    assert r.status_code == 201, r.json
    ident = r.json["identifier"]
    assert ident == f"LicenseRef-{a.org.slug}-clinical" and r.json["version"] == 1
    assert r.json["text_sha256"] == hashlib.sha256(CUSTOM_TEXT.encode()).hexdigest()
    assert client.post("/api/v1/licenses", json=body, headers=bearer(a.keys["owner"])).status_code == 409
    r2 = client.post(f"/api/v1/licenses/{ident}/versions", json={"text": CUSTOM_TEXT + "3. Attribution required.\n", "terms": body["terms"]}, headers=bearer(a.keys["owner"]))
    assert r2.status_code == 201 and r2.json["version"] == 2
    v1 = client.get(f"/api/v1/licenses/{ident}?version=1").json
    assert v1["text"] == CUSTOM_TEXT and v1["text_sha256"] == r.json["text_sha256"]
    assert client.get(f"/api/v1/licenses/{ident}").json["version"] == 2


def test_other_vendor_cannot_version_my_licence(app, client, vendors):
    a, b = vendors
    body = {"slug": "mine", "name": "Mine", "text": CUSTOM_TEXT, "terms": {"commercial_use": "allowed"}}
    ident = client.post("/api/v1/licenses", json=body, headers=bearer(a.keys["owner"])).json["identifier"]
    r = client.post(f"/api/v1/licenses/{ident}/versions", json={"text": CUSTOM_TEXT, "terms": {}}, headers=bearer(b.keys["owner"]))
    assert r.status_code == 404
    buyer = make_tenant()
    assert client.post("/api/v1/licenses", json=dict(body, slug="x"), headers=bearer(buyer.keys["owner"])).status_code == 403


@pytest.mark.parametrize("terms,field", [
    ({"share_alike": True, "derivatives": "prohibited"}, "terms.share_alike"),
    ({"academic_only": True, "commercial_use": "allowed"}, "terms.academic_only"),
    ({"field_of_use": ["medical"], "field_of_use_exclusions": ["medical"]}, "terms.field_of_use_exclusions"),
    ({"term_months": 0}, "terms.term_months"),
    ({"ai_training": "prohibited", "mdl_data_rights": {"training": "allowed"}}, "terms.ai_training"),
    ({"commercial_use": "maybe"}, "terms"),
    ({"territory": ["Narnia"]}, "terms"),
])
def test_self_contradictory_terms_refused_and_nothing_created(app, client, vendors, terms, field):
    a, _ = vendors
    before = get_session().scalar(select(func.count()).select_from(License))
    r = client.post("/api/v1/licenses", json={"slug": "bad", "name": "Bad", "text": CUSTOM_TEXT, "terms": terms}, headers=bearer(a.keys["owner"]))
    assert r.status_code == 400
    assert any(k.startswith(field) for k in r.json["errors"]), r.json
    assert get_session().scalar(select(func.count()).select_from(License)) == before


def test_version_licence_rules(app, client, vendors):
    a, b = vendors
    v = draft(client, a.keys["owner"])
    r = client.put(f"/api/v1/versions/{v['id']}/license", json={"identifier": "CC-BY-FAKE-9.0"}, headers=bearer(a.keys["owner"]))
    assert r.status_code == 400 and "identifier" in r.json["errors"]
    assert get_session().get(VersionLicense, uuid.UUID(v["id"])) is None
    other = client.post("/api/v1/licenses", json={"slug": "b", "name": "B", "text": CUSTOM_TEXT, "terms": {}}, headers=bearer(b.keys["owner"])).json["identifier"]
    assert client.put(f"/api/v1/versions/{v['id']}/license", json={"identifier": other}, headers=bearer(a.keys["owner"])).status_code == 400
    assert client.put(f"/api/v1/versions/{v['id']}/license", json={"identifier": "CC-BY-4.0"}, headers=bearer(b.keys["owner"])).status_code == 404
    pub = released(client, a.keys["owner"], license="CC-BY-4.0", sources=[FIRST_HAND])
    r = client.put(f"/api/v1/versions/{pub['id']}/license", json={"identifier": "CC0-1.0"}, headers=bearer(a.keys["owner"]))
    assert r.status_code == 409
    assert client.get(f"/api/v1/versions/{pub['id']}/license").json["identifier"] == "CC-BY-4.0"


def test_provenance_history_and_attestation(app, client, vendors):
    a, _ = vendors
    v = draft(client, a.keys["owner"], "CC-BY-4.0")
    assert declare(client, a.keys["owner"], v["id"], [FIRST_HAND], attest=False).status_code == 400
    r1 = declare(client, a.keys["owner"], v["id"], [FIRST_HAND], collection={"period_start": "2024-01-01", "period_end": "2024-06-30", "geography": ["GB"], "lawful_basis": "consent"},
                 personal_data={"status": "anonymised", "anonymisation_method": "k-anonymity (k=10) + free-text scrubbing"},
                 annotation={"workforce": "12 nurses", "qa_method": "double annotation + adjudication", "qa_pass_rate": 0.97, "inter_annotator_agreement": 0.82, "agreement_metric": "Cohen's kappa"})
    assert r1.status_code == 201 and r1.json["revision"] == 1 and r1.json["attested_name"]
    body = dict(r1.json["body"])
    assert r1.json["digest"] == hashlib.sha256(__import__("json").dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
    r2 = declare(client, a.keys["owner"], v["id"], [FIRST_HAND, {"kind": "web_crawl", "name": "Patient forums", "crawl_start": "2023-01-01", "crawl_end": "2023-03-01",
                                                             "domains": ["forum.example"], "opt_outs_observed": ["robots-ai"], "opt_outs_respected": True}])
    assert r2.status_code == 201 and r2.json["revision"] == 2
    hist = client.get(f"/api/v1/versions/{v['id']}/provenance?history=true", headers=bearer(a.keys["owner"])).json
    assert [h["revision"] for h in hist] == [2, 1] and hist[1]["superseded_at"] and hist[0]["superseded_at"] is None
    cur = client.get(f"/api/v1/versions/{v['id']}/provenance", headers=bearer(a.keys["owner"])).json
    assert len(cur) == 1 and cur[0]["revision"] == 2


@pytest.mark.parametrize("source,field", [
    ({"kind": "licensed", "name": "Hospital X", "license": "CC-BY-4.0"}, "contract_reference"),
    ({"kind": "external", "name": "Corpus", "license": "MIT"}, "url"),
    ({"kind": "web_crawl", "name": "Crawl", "crawl_start": "2024-02-01", "crawl_end": "2024-01-01", "opt_outs_respected": True}, "crawl_end"),
    ({"kind": "web_crawl", "name": "Crawl", "crawl_start": "2024-01-01", "crawl_end": "2024-02-01"}, "opt_outs_respected"),
    ({"kind": "model", "name": "Synthetic", "license": "LicenseRef-OpenAI-Terms"}, "model_name"),
    ({"kind": "registry", "name": "Upstream"}, "version_id"),
    ({"kind": "teleported", "name": "?"}, "kind"),
    ({"kind": "web_crawl", "name": "Crawl", "crawl_start": "2024-01-01", "crawl_end": "2024-02-01", "opt_outs_respected": True, "opt_outs_observed": ["please-no"]}, "opt_outs_observed"),
])
def test_bad_sources_named_and_nothing_changes(app, client, vendors, source, field):
    a, _ = vendors
    v = draft(client, a.keys["owner"])
    r = declare(client, a.keys["owner"], v["id"], [source])
    assert r.status_code == 400 and field in str(r.json["errors"]), r.json
    assert get_session().scalar(select(func.count()).select_from(ProvenanceDeclaration).where(ProvenanceDeclaration.version_id == uuid.UUID(v["id"]))) == 0


def test_lineage_to_invisible_or_unpublished_versions_is_refused(app, client, vendors):
    a, b = vendors
    their_draft = draft(client, b.keys["owner"], "CC-BY-4.0")
    their_private = released(client, b.keys["owner"], license="CC-BY-4.0", sources=[FIRST_HAND], visibility="draft")
    mine = draft(client, a.keys["owner"], "CC-BY-4.0")
    for target in (their_draft["id"], their_private["id"], "00000000-0000-0000-0000-000000000001", mine["id"]):
        r = declare(client, a.keys["owner"], mine["id"], [{"kind": "registry", "name": "up", "version_id": target}])
        assert r.status_code == 400 and "sources.0.version_id" in r.json["errors"], r.json
    msgs = {str(declare(client, a.keys["owner"], mine["id"], [{"kind": "registry", "name": "up", "version_id": t}]).json["errors"]) for t in (their_draft["id"], "00000000-0000-0000-0000-000000000001")}
    assert len(msgs) == 1  # a hidden version and a missing one answer alike
    assert client.get(f"/api/v1/versions/{mine['id']}/provenance", headers=bearer(a.keys["owner"])).status_code == 404


def test_alpaca_style_lineage_through_the_registry(app, client, vendors):
    a, b = vendors
    seeds = released(client, a.keys["owner"], license="CC-BY-NC-4.0", sources=[FIRST_HAND], slug="seed-tasks")
    v = draft(client, b.keys["owner"], "CC-BY-4.0")
    r = declare(client, b.keys["owner"], v["id"], [
        {"kind": "registry", "name": "seed tasks", "version_id": seeds["id"]},
        {"kind": "model", "name": "generations", "model_name": "text-davinci-003", "model_provider": "OpenAI", "license": "OpenAI terms of use"},
    ])
    assert r.status_code == 201, r.json
    c = client.get(f"/api/v1/versions/{v['id']}/compatibility", headers=bearer(b.keys["owner"])).json
    assert c["use_class"] == "non-commercial"
    codes = {f["code"]: f for f in c["findings"]}
    assert codes["model-output-terms"]["path"][-1] == "text-davinci-003 (OpenAI)"
    assert any(f["code"] == "use-class-exceeds-upstream" for f in c["license_findings"])  # CC-BY over NC
    assert c["allowed_offer_kinds"] == ["academic-only", "non-commercial"]
    ok = client.get(f"/api/v1/versions/{v['id']}/compatibility?license=CC-BY-NC-4.0", headers=bearer(b.keys["owner"])).json
    assert ok["license_findings"] == []
    assert {n["label"] for n in c["lineage"]["nodes"]} >= {f"{seeds['slug']}@1.0.0", "text-davinci-003 (OpenAI)"}
    notice = client.get(f"/api/v1/versions/{v['id']}/notice", headers=bearer(b.keys["owner"])).get_data(as_text=True)
    assert f"{seeds['slug']}@1.0.0, licensed under CC-BY-NC-4.0" in notice and "compete" in notice


def test_share_alike_and_no_derivatives_upstreams(app, client, vendors):
    a, b = vendors
    sa = released(client, a.keys["owner"], license="CC-BY-SA-4.0", sources=[FIRST_HAND])
    nd = released(client, a.keys["owner"], license="CC-BY-ND-4.0", sources=[FIRST_HAND])
    v = draft(client, b.keys["owner"], "CC-BY-4.0")
    declare(client, b.keys["owner"], v["id"], [{"kind": "registry", "name": "sa", "version_id": sa["id"]}])
    c = client.get(f"/api/v1/versions/{v['id']}/compatibility", headers=bearer(b.keys["owner"])).json
    assert c["required_license"] == "CC-BY-SA-4.0" and any(f["code"] == "share-alike" for f in c["license_findings"])
    declare(client, b.keys["owner"], v["id"], [{"kind": "registry", "name": "nd", "version_id": nd["id"], "relation": "derived"}])
    c = client.get(f"/api/v1/versions/{v['id']}/compatibility", headers=bearer(b.keys["owner"])).json
    assert c["blocked"] and c["allowed_offer_kinds"] == [] and any(f["code"] == "no-derivatives" for f in c["findings"])


def test_chain_through_three_registry_versions(app, client, vendors):
    a, b = vendors
    base = released(client, a.keys["owner"], license="CC-BY-NC-SA-4.0", sources=[FIRST_HAND])
    mid = released(client, b.keys["owner"], license="CC-BY-NC-SA-4.0", sources=[{"kind": "registry", "name": "base", "version_id": base["id"]}])
    top = draft(client, a.keys["owner"], "CC-BY-NC-SA-4.0")
    declare(client, a.keys["owner"], top["id"], [{"kind": "registry", "name": "mid", "version_id": mid["id"]}])
    c = client.get(f"/api/v1/versions/{top['id']}/compatibility", headers=bearer(a.keys["owner"])).json
    assert c["use_class"] == "non-commercial" and c["license_findings"] == []
    # the two upstreams, then the version's own CC licence: crediting the vendor is a duty too
    assert [len(x["path"]) for x in c["attribution"]] == [2, 3, 1]
    assert c["attribution"][1]["path"][-1] == f"{base['slug']}@1.0.0"


def test_compatibility_of_unknown_licence_param_is_400(app, client, vendors):
    a, _ = vendors
    v = released(client, a.keys["owner"], license="CC-BY-4.0", sources=[FIRST_HAND])
    r = client.get(f"/api/v1/versions/{v['id']}/compatibility?license=WTFPL-99")
    assert r.status_code == 400 and "license" in r.json["errors"]


def test_publishing_needs_licence_and_provenance(app, client, vendors):
    a, _ = vendors
    ds = create_dataset(client, a.keys["owner"])
    v = create_version(client, a.keys["owner"], ds["id"])
    upload_small(client, a.keys["owner"], v["id"], "a.jsonl", b'{"a": 1}\n')
    r = client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(a.keys["owner"]))
    assert r.status_code == 400 and set(r.json["errors"]) == {"license", "provenance"}
    assert client.get(f"/api/v1/versions/{v['id']}", headers=bearer(a.keys["owner"])).json["status"] == "draft"


def test_publishing_under_a_licence_the_lineage_forbids_is_refused(app, client, vendors):
    a, b = vendors
    nc = released(client, a.keys["owner"], license="CC-BY-NC-4.0", sources=[FIRST_HAND])
    ds = create_dataset(client, b.keys["owner"])
    v = create_version(client, b.keys["owner"], ds["id"])
    upload_small(client, b.keys["owner"], v["id"], "a.jsonl", b'{"a": 2}\n')
    client.put(f"/api/v1/versions/{v['id']}/license", json={"identifier": "CC-BY-4.0"}, headers=bearer(b.keys["owner"]))
    declare(client, b.keys["owner"], v["id"], [{"kind": "registry", "name": "nc", "version_id": nc["id"]}])
    r = client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(b.keys["owner"]))
    assert r.status_code == 409 and r.json["findings"][0]["code"] == "use-class-exceeds-upstream"
    assert client.get(f"/api/v1/versions/{v['id']}", headers=bearer(b.keys["owner"])).json["status"] == "draft"
    # the vendor fixes the licence and publishes; search now files it as non-commercial
    client.put(f"/api/v1/versions/{v['id']}/license", json={"identifier": "CC-BY-NC-4.0"}, headers=bearer(b.keys["owner"]))
    assert publish(client, b.keys["owner"], v["id"])["status"] == "published"
    res = client.get("/api/v1/datasets?license_class=non-commercial").json
    assert ds["id"] in [i["id"] for i in res["items"]]
    assert all(i["license_use_class"] == "non-commercial" for i in res["items"])
    assert {f["value"] for f in client.get("/api/v1/datasets").json["facets"]["license_class"]} >= {"non-commercial"}
