"""Licence verdicts as a new user met them, through the API and the pages, plus one lineage
scenario per model-provider entry of the registry.

- free text that mixed a restriction with a permissive name let restricted data publish under a
  commercial licence; a licence name inside a host name was read as that licence;
- unknown duties were recorded as "no duty";
- the "you may" table showed only the own licence;
- model-output terms were collapsed into "non-commercial", and nobody accepted them at checkout;
- a third-party contract the platform cannot read gave no way forward.
"""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from licensing.compat import Node, Source, resolve_effective
from licensing.registry_data import MODEL_PROVIDER_TERMS, STANDARD
from licensing.terms import Terms
from marketplace.commerce.models import Order
from marketplace.kernel.db import get_session
from tests.catalog.helpers import create_dataset, create_version, publish, upload_small
from tests.commerce.helpers import market, order
from tests.concurrency import race
from tests.factories import bearer, make_tenant
from tests.licensing.helpers import declare

REG = {e["identifier"]: Terms.from_dict(e["terms"]) for e in STANDARD}


def version_with(client, key, *, license: str, sources: list, visibility: str = "listed") -> tuple[dict, dict]:
    ds = create_dataset(client, key, visibility=visibility)
    v = create_version(client, key, ds["id"])
    upload_small(client, key, v["id"], "data.jsonl", b'{"a": 1}\n')
    assert client.put(f"/api/v1/versions/{v['id']}/license", json={"identifier": license}, headers=bearer(key)).status_code == 200
    r = declare(client, key, v["id"], sources)
    assert r.status_code == 201, r.json
    return ds, v


@pytest.mark.parametrize("text", ["Non-commercial use only. Code: MIT license", "Research use only; code under Apache 2.0",
                                  "http://moments.csail.mit.edu/", "仅供学术研究，代码遵循 MIT 许可证"])
def test_free_text_never_turns_restricted_data_commercial(client, text):
    vendor = make_tenant(vendor=True)
    k = vendor.keys["owner"]
    ds, v = version_with(client, k, license="CC-BY-4.0", sources=[{"kind": "external", "name": "Moments corpus", "license": text, "url": "https://example.org/moments"}])
    comp = client.get(f"/api/v1/versions/{v['id']}/compatibility", headers=bearer(k)).json
    assert comp["use_class"] in ("non-commercial", "academic-only") and "commercial" not in comp["allowed_offer_kinds"]
    assert "use-class-exceeds-upstream" in {f["code"] for f in comp["license_findings"]}
    r = client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(k))
    assert r.status_code == 409 and "use-class-exceeds-upstream" in json.dumps(r.json)
    # what the normaliser read, and where, is on the endpoint a vendor uses to check
    n = client.post("/api/v1/licenses/normalise", json={"text": text}).json
    assert n["identifier"] is None and n["matches"]
    assert all(text[m["start"]:m["end"]] == m["text"] for m in n["matches"])


def test_unknown_duties_are_shown_as_treat_as_required_and_contracts_get_a_way_forward(client):
    vendor = make_tenant(vendor=True)
    k = vendor.keys["owner"]
    _, v = version_with(client, k, license="CC0-1.0",
                        sources=[{"kind": "licensed", "name": "Hospital archive", "license": "see our agreement", "contract_reference": "MSA-2024-17"}])
    comp = client.get(f"/api/v1/versions/{v['id']}/compatibility", headers=bearer(k)).json
    assert comp["attribution_duty"] == comp["share_alike_duty"] == "unknown, treat as required"
    assert comp["effective_terms"]["attribution"] == "unknown, treat as required"
    unknown = next(f for f in comp["findings"] if f["code"] == "unknown-license")
    assert "custom licence" in unknown["message"] and "POST /api/v1/licenses" in unknown["message"]
    # the vendor registers the contract's terms and names it: the verdict follows them
    r = client.post("/api/v1/licenses", json={"slug": "hospital-msa", "name": "Hospital archive MSA", "text": "Contract terms as agreed in MSA-2024-17, clause 4.",
                                              "terms": {"commercial_use": "allowed", "ai_training": "allowed", "derivatives": "allowed",
                                                        "redistribution": "allowed", "attribution": True}}, headers=bearer(k))
    assert r.status_code == 201, r.json
    ident = r.json["identifier"]
    assert declare(client, k, v["id"], [{"kind": "licensed", "name": "Hospital archive", "license": ident, "contract_reference": "MSA-2024-17"}]).status_code == 201
    comp = client.get(f"/api/v1/versions/{v['id']}/compatibility?license=CC-BY-4.0", headers=bearer(k)).json
    assert "unknown-license" not in {f["code"] for f in comp["findings"]}
    assert comp["attribution_duty"] == "required" and comp["share_alike_duty"] == "none"
    assert [a["status"] for a in comp["attribution"]] == ["required"]
    assert comp["license_findings"] == []  # now a commercial licence may be offered over it


def test_the_you_may_table_reads_the_effective_terms(client):
    """The own licence says AI training is fine; the generating model's terms forbid one use of it:
    the table must say so beside it, and a derived upstream's non-commercial licence shows too."""
    vendor = make_tenant(vendor=True)
    k = vendor.keys["owner"]
    ds, v = version_with(client, k, license="CC-BY-4.0", sources=[{"kind": "model", "name": "synthetic dialogues", "model_name": "gpt-4o",
                                                                    "model_provider": "OpenAI", "license": "LicenseRef-OpenAI-Terms"}])
    assert publish(client, k, v["id"])["status"] == "published"
    page = client.get(f"/datasets/{ds['id']}").get_data(as_text=True)
    assert "Use it to develop models that compete with OpenAI" in page
    section = page[page.index('id="lic-h"'):page.index('id="prov-h"')]
    assert "every generating model" in section and "you may not" in section


def test_model_terms_are_accepted_explicitly_at_checkout_and_kept_on_the_grant(app, client):
    vendor, buyer = market()
    k = vendor.keys["owner"]
    ds, v = version_with(client, k, license="CC-BY-4.0", sources=[{"kind": "model", "name": "distilled QA", "model_name": "Llama-3.1-70B",
                                                                    "model_provider": "Meta", "license": "Llama 3.1 Community License"}])
    assert publish(client, k, v["id"])["status"] == "published"
    comp = client.get(f"/api/v1/versions/{v['id']}/compatibility", headers=bearer(buyer.keys["member"])).json
    assert comp["use_class"] == "commercial"
    codes = {m["code"] for m in comp["model_terms"]}
    assert {"model-attribution", "model-name-prefix", "user-limit"} <= codes and "no-competing-models" not in codes
    digest = comp["model_terms_sha256"]
    assert digest and len(digest) == 64
    offer = client.post(f"/api/v1/datasets/{ds['id']}/offers", json={"title": "Commercial", "license": "CC-BY-4.0", "pricing_unit": "records",
                                                                     "unit_price_minor": 1, "currency": "EUR"}, headers=bearer(k))
    assert offer.status_code == 201, offer.json  # commercially usable: the terms are not a class
    offer = offer.json
    r = order(client, buyer.keys["member"], offer, quantity=10)
    assert r.status_code == 400 and "accept_model_terms" in r.json["errors"] and digest in r.json["errors"]["accept_model_terms"][0]
    assert "Built with Llama" in r.json["errors"]["accept_model_terms"][0]
    r = order(client, buyer.keys["member"], offer, quantity=10, accept_model_terms="0" * 64)
    assert r.status_code == 400 and "accept_model_terms" in r.json["errors"]
    # the same Idempotency-Key cannot be replayed to accept different terms
    r = order(client, buyer.keys["member"], offer, quantity=10, accept_model_terms=digest, key="k-1")
    assert r.status_code == 201, r.json
    assert {m["code"] for m in r.json["accepted_model_terms"]} == codes
    assert order(client, buyer.keys["member"], offer, quantity=10, key="k-1").status_code == 409
    paid = client.post(f"/api/v1/orders/{r.json['id']}/mark-paid", headers=bearer(vendor.keys["admin"])).json
    g = client.get(f"/api/v1/grants/{paid['grant_id']}", headers=bearer(buyer.keys["member"])).json
    assert {m["code"] for m in g["accepted_model_terms"]} == codes
    # the organisation's BOM carries each model term as a property of the held version
    bom = client.get(f"/api/v1/orgs/{buyer.org.id}/bom?format=cyclonedx", headers=bearer(buyer.keys["auditor"])).json
    props = {p["name"] for c in bom["components"] for p in c["properties"]}
    assert {"marketplace:model_term:model-attribution", "marketplace:model_term:model-name-prefix"} <= props


def test_a_dataset_without_model_terms_needs_no_extra_acceptance(app, client):
    vendor, buyer = market()
    ds, v = version_with(client, vendor.keys["owner"], license="CC-BY-4.0", sources=[{"kind": "first_hand", "name": "our own"}])
    assert publish(client, vendor.keys["owner"], v["id"])["status"] == "published"
    offer = client.post(f"/api/v1/datasets/{ds['id']}/offers", json={"title": "Commercial", "license": "CC-BY-4.0", "pricing_unit": "records",
                                                                     "unit_price_minor": 1, "currency": "EUR"}, headers=bearer(vendor.keys["owner"])).json
    r = order(client, buyer.keys["member"], offer, quantity=10)
    assert r.status_code == 201 and r.json["accepted_model_terms"] is None


def _custom_licence(client, key, slug: str, **terms) -> str:
    body = {"slug": slug, "name": f"Terms {slug}", "text": f"The licensee agrees to the terms of {slug}, clause by clause.",
            "terms": {"commercial_use": "allowed", "ai_training": "allowed", "derivatives": "allowed", "redistribution": "allowed", "attribution": True, **terms}}
    r = client.post("/api/v1/licenses", json=body, headers=bearer(key))
    assert r.status_code == 201, r.json
    return r.json["identifier"]


def test_offers_and_grants_carry_the_terms_under_their_own_licence(app, client):
    """An offer's licence may add model-output terms of its own: the offer shows the terms the
    buyer gets under it (its licence over the whole lineage), the order needs that digest, not
    the own licence's, and the grant shows the same effective terms afterwards."""
    vendor, buyer = market()
    k = vendor.keys["owner"]
    ds, v = version_with(client, k, license="CC-BY-4.0", sources=[{"kind": "model", "name": "synthetic dialogues", "model_name": "gpt-4o",
                                                                    "model_provider": "OpenAI", "license": "LicenseRef-OpenAI-Terms"}])
    assert publish(client, k, v["id"])["status"] == "published"
    stricter = _custom_licence(client, k, "no-rivals", no_improving_other_models=True, model_name_prefix="Acme-")
    plain = client.post(f"/api/v1/datasets/{ds['id']}/offers", json={"title": "Plain", "license": "CC-BY-4.0", "pricing_unit": "records",
                                                                     "unit_price_minor": 1, "currency": "EUR"}, headers=bearer(k)).json
    strict = client.post(f"/api/v1/datasets/{ds['id']}/offers", json={"title": "Strict", "license": stricter, "pricing_unit": "records",
                                                                      "unit_price_minor": 1, "currency": "EUR"}, headers=bearer(k))
    assert strict.status_code == 201, strict.json
    strict = strict.json
    listed = {o["title"]: o for o in client.get(f"/api/v1/datasets/{ds['id']}/offers", headers=bearer(buyer.keys["member"])).json}
    own = client.get(f"/api/v1/versions/{v['id']}/compatibility", headers=bearer(buyer.keys["member"])).json
    assert listed["Plain"]["model_terms_sha256"] == own["model_terms_sha256"]
    assert {m["code"] for m in listed["Plain"]["model_terms"]} == {"no-competing-models"}
    assert {m["code"] for m in listed["Strict"]["model_terms"]} == {"no-competing-models", "no-improving-other-models", "model-name-prefix"}
    assert listed["Strict"]["model_terms_sha256"] != own["model_terms_sha256"]
    assert listed["Strict"]["effective_terms"]["no_improving_other_models"] is True
    assert listed["Plain"]["effective_terms"]["no_improving_other_models"] is False
    # compatibility asked about the offer's licence gives the same digest as the offer
    asked = client.get(f"/api/v1/versions/{v['id']}/compatibility?license={stricter}", headers=bearer(buyer.keys["member"])).json
    assert asked["model_terms_sha256"] == listed["Strict"]["model_terms_sha256"]
    # the own licence's digest does not buy the stricter offer
    r = order(client, buyer.keys["member"], strict, quantity=5, accept_model_terms=own["model_terms_sha256"])
    assert r.status_code == 400 and listed["Strict"]["model_terms_sha256"] in r.json["errors"]["accept_model_terms"][0]
    r = order(client, buyer.keys["member"], strict, quantity=5, accept_model_terms=listed["Strict"]["model_terms_sha256"])
    assert r.status_code == 201, r.json
    assert r.json["accepted_model_terms"] == listed["Strict"]["model_terms"]
    paid = client.post(f"/api/v1/orders/{r.json['id']}/mark-paid", headers=bearer(vendor.keys["admin"])).json
    g = client.get(f"/api/v1/grants/{paid['grant_id']}", headers=bearer(buyer.keys["member"])).json
    assert g["effective_terms"] == listed["Strict"]["effective_terms"] and g["accepted_model_terms"] == listed["Strict"]["model_terms"]
    assert client.get(f"/api/v1/grants/{paid['grant_id']}", headers=bearer(vendor.keys["owner"])).json["effective_terms"]["no_competing_models"] is True
    # another tenant sees neither the grant nor its terms
    other = make_tenant()
    assert client.get(f"/api/v1/grants/{paid['grant_id']}", headers=bearer(other.keys["owner"])).status_code == 404
    # the NOTICE file lists the model-output terms with the path that imposes them
    notice = client.get(f"/api/v1/versions/{v['id']}/notice", headers=bearer(buyer.keys["member"])).get_data(as_text=True)
    assert "Model-output terms" in notice and "develop models that compete with OpenAI" in notice and "gpt-4o (OpenAI)" in notice
    assert plain["model_terms_sha256"] == own["model_terms_sha256"]  # the create answer carries them too


@pytest.mark.postgres_only
def test_concurrent_orders_with_model_terms_place_one_order(session_app):
    """24 callers with one Idempotency-Key, half accepting the model-output terms and half not:
    exactly one order, with the terms recorded; the others replay it or are refused."""
    with session_app.app_context():
        client = session_app.test_client()
        vendor, buyer = market()
        k = vendor.keys["owner"]
        # (unlisted: committed data must not show in other tests' searches)
        ds, v = version_with(client, k, license="CC-BY-4.0", sources=[{"kind": "model", "name": "synthetic", "model_name": "claude",
                                                                        "model_provider": "Anthropic", "license": "LicenseRef-Anthropic-Terms"}],
                             visibility="unlisted")
        assert publish(client, k, v["id"])["status"] == "published"
        offer = client.post(f"/api/v1/datasets/{ds['id']}/offers", json={"title": "t", "license": "CC-BY-4.0", "pricing_unit": "records",
                                                                         "unit_price_minor": 2, "currency": "EUR"}, headers=bearer(k)).json
        session_app.extensions["db"].remove()
    digest = offer["model_terms_sha256"]
    assert digest
    key = f"mt-{uuid.uuid4().hex}"
    res = race(session_app, 24, lambda c, i: order(c, buyer.keys["owner"], offer, quantity=3, key=key, **({"accept_model_terms": digest} if i % 2 else {})))
    accepted = [r for i, r in enumerate(res) if i % 2]
    refused = [r for i, r in enumerate(res) if not i % 2]
    assert all(r.status_code in (200, 201) for r in accepted), sorted({(r.status_code, str(r.json)[:120]) for r in accepted})
    assert sum(r.status_code == 201 for r in accepted) == 1 and len({r.json["id"] for r in accepted}) == 1
    assert all(r.status_code in (400, 409) for r in refused), sorted({r.status_code for r in refused})
    with session_app.app_context():
        orders = list(get_session().scalars(select(Order).where(Order.buyer_org_id == buyer.org.id)))
        assert len(orders) == 1 and orders[0].accepted_model_terms == offer["model_terms"]
        session_app.extensions["db"].remove()


# --------------------------------------------------------------------------- one scenario per provider

# identifier → (use class of generated data sold under its own licence, model-term codes), stated
# from the providers' texts (README: "Model providers' terms"), not read back from the registry.
PROVIDERS = {
    "LicenseRef-OpenAI-Terms": ("commercial", {"no-competing-models"}),
    "LicenseRef-Anthropic-Terms": ("commercial", {"no-competing-models"}),
    "LicenseRef-Google-Gemini-API-Terms": ("commercial", {"no-competing-models"}),
    "LicenseRef-Google-Cloud-Terms": ("commercial", {"no-competing-models"}),
    "LicenseRef-Llama-2": ("commercial", {"no-improving-other-models", "user-limit"}),
    "LicenseRef-Meta-Llama-3": ("commercial", {"no-improving-other-models", "model-attribution", "model-name-prefix", "user-limit"}),
    "LicenseRef-Meta-Llama-3.1": ("commercial", {"model-attribution", "model-name-prefix", "user-limit"}),
    "LicenseRef-Meta-Llama-3.2": ("commercial", {"model-attribution", "model-name-prefix", "user-limit"}),
    "LicenseRef-Meta-Llama-3.3": ("commercial", {"model-attribution", "model-name-prefix", "user-limit"}),
    "LicenseRef-Mistral-Terms": ("commercial", set()),
    "LicenseRef-Mistral-Research-License": ("academic-only", set()),
    "LicenseRef-Qwen-License": ("commercial", {"no-improving-other-models", "user-limit"}),
    "LicenseRef-Qwen-License-2024": ("commercial", {"model-attribution", "user-limit"}),
    "LicenseRef-Qwen-Research": ("academic-only", {"model-attribution"}),
    "LicenseRef-DeepSeek-License": ("commercial", set()),
    "LicenseRef-DeepSeek-Platform-Terms": ("commercial", set()),
}


def test_every_model_provider_entry_has_a_scenario_and_a_dated_source():
    assert set(PROVIDERS) == {e["identifier"] for e in MODEL_PROVIDER_TERMS}
    for e in MODEL_PROVIDER_TERMS:
        assert e["provider"] and e["url"].startswith("https://") and ("effective" in e)


@pytest.mark.parametrize("identifier", sorted(PROVIDERS))
def test_model_provider_lineage(identifier):
    """Data generated by the model, refined in a second dataset: the terms travel two hops, with
    the path, and the use class is the provider's, not a blanket non-commercial."""
    use_class, codes = PROVIDERS[identifier]
    generated = Node(key="gen", label="generated@1", license_identifier="CC-BY-4.0", terms=REG["CC-BY-4.0"],
                     sources=[Source(kind="model", label="the model", license_identifier=identifier, terms=REG[identifier], provider="Provider X")])
    refined = Node(key="ref", label="refined@1", license_identifier="CC-BY-4.0", terms=REG["CC-BY-4.0"],
                   sources=[Source(kind="registry", label="generated@1", upstream=generated)])
    res = resolve_effective(refined)
    assert res.use_class == use_class
    assert {m["code"] for m in res.model_terms} == codes
    for m in res.model_terms:
        assert m["path"] == ["refined@1", "generated@1", "the model"] and m["text"]
    eff = res.effective_terms()
    assert eff["no_competing_models"] == ("no-competing-models" in codes)
    assert eff["commercial_use"] == ("allowed" if use_class == "commercial" else "prohibited")


def test_a_grant_for_latest_never_takes_terms_its_holder_did_not_accept(app, client):
    """Found from outside: a grant for "latest" was delivered a newer version generated by Llama
    3.1 (model terms never accepted), then a CC-BY-NC version under a commercial licence. Such a
    grant now stays on the version it had until its holder accepts the new terms; a version its
    licence does not allow it never follows."""
    vendor, buyer = market()
    k, bk = vendor.keys["owner"], buyer.keys["owner"]
    ds = create_dataset(client, k)

    def release(number, license, sources):
        v = create_version(client, k, ds["id"], number)
        upload_small(client, k, v["id"], "data.jsonl", f'{{"v": "{number}"}}\n'.encode())
        assert client.put(f"/api/v1/versions/{v['id']}/license", json={"identifier": license}, headers=bearer(k)).status_code == 200
        assert declare(client, k, v["id"], sources).status_code == 201
        assert publish(client, k, v["id"])["status"] == "published"
        return v

    v1 = release("1.0.0", "CC-BY-4.0", [{"kind": "first_hand", "name": "ours"}])
    offer = client.post(f"/api/v1/datasets/{ds['id']}/offers", json={"title": "Latest", "license": "CC-BY-4.0", "pricing_unit": "downloads",
                                                                     "unit_price_minor": 1, "currency": "EUR", "term_days": 365}, headers=bearer(k)).json
    o = order(client, bk, offer, quantity=10)
    gid = client.post(f"/api/v1/orders/{o.json['id']}/mark-paid", headers=bearer(vendor.keys["admin"])).json["grant_id"]
    v2 = release("2.0.0", "CC-BY-4.0", [{"kind": "model", "name": "synthetic", "model_name": "Llama-3.1-70B", "model_provider": "Meta",
                                          "license": "LicenseRef-Meta-Llama-3.1"}])
    g = client.get(f"/api/v1/grants/{gid}", headers=bearer(bk)).json
    assert g["held_version_id"] == v1["id"] and g["accepted_model_terms"] is None
    assert g["effective_terms"]["model_terms"] == []  # the terms of what it delivers: version 1
    d = client.post(f"/api/v1/grants/{gid}/downloads", json={}, headers=bearer(bk))
    assert d.status_code == 200 and d.json["version"] == "1.0.0"
    # the holder accepts the new terms, by digest, and follows the latest again
    need = client.post(f"/api/v1/grants/{gid}/follow-latest", json={}, headers=bearer(bk))
    assert need.status_code == 400 and "Built with Llama" in need.json["errors"]["accept_model_terms"][0]
    digest = client.get(f"/api/v1/versions/{v2['id']}/compatibility?license=CC-BY-4.0", headers=bearer(bk)).json["model_terms_sha256"]
    assert client.post(f"/api/v1/grants/{gid}/follow-latest", json={"accept_model_terms": "0" * 64}, headers=bearer(bk)).status_code == 400
    assert client.post(f"/api/v1/grants/{gid}/follow-latest", json={"accept_model_terms": digest}, headers=bearer(vendor.keys["owner"])).status_code in (403, 404)
    ok = client.post(f"/api/v1/grants/{gid}/follow-latest", json={"accept_model_terms": digest}, headers=bearer(bk))
    assert ok.status_code == 200 and ok.json["held_version_id"] is None and {m["code"] for m in ok.json["accepted_model_terms"]} >= {"model-attribution"}
    assert client.post(f"/api/v1/grants/{gid}/downloads", json={}, headers=bearer(bk)).json["version"] == "2.0.0"
    # a non-commercial version is never delivered under the commercial grant
    release("3.0.0", "CC-BY-NC-4.0", [{"kind": "first_hand", "name": "ours"}])
    g = client.get(f"/api/v1/grants/{gid}", headers=bearer(bk)).json
    assert g["held_version_id"] == v2["id"]
    assert client.post(f"/api/v1/grants/{gid}/downloads", json={}, headers=bearer(bk)).json["version"] == "2.0.0"
    refused = client.post(f"/api/v1/grants/{gid}/follow-latest", json={}, headers=bearer(bk))
    assert refused.status_code == 409 and refused.json["findings"]
    # the bill of materials lists what the grant covers, never the version it was held back from
    bom = client.get(f"/api/v1/orgs/{buyer.org.id}/bom", headers=bearer(buyer.keys["auditor"])).json
    assert sorted(c["version"] for c in bom["components"]) == ["1.0.0", "2.0.0"]
    assert client.post(f"/api/v1/grants/{gid}/follow-latest", json={}, headers=bearer(make_tenant().keys["owner"])).status_code == 404


def test_following_the_latest_again_keeps_the_terms_accepted_before(app, client):
    """Found from outside: a second follow-latest replaced the accepted terms, so the version
    delivered under the first ones no longer counted as covered."""
    vendor, buyer = market()
    k, bk = vendor.keys["owner"], buyer.keys["owner"]
    ds = create_dataset(client, k)

    def release(number, sources):
        v = create_version(client, k, ds["id"], number)
        upload_small(client, k, v["id"], "data.jsonl", f'{{"v": "{number}"}}\n'.encode())
        assert client.put(f"/api/v1/versions/{v['id']}/license", json={"identifier": "CC-BY-4.0"}, headers=bearer(k)).status_code == 200
        assert declare(client, k, v["id"], sources).status_code == 201
        assert publish(client, k, v["id"])["status"] == "published"
        return v

    release("1.0.0", [{"kind": "first_hand", "name": "ours"}])
    offer = client.post(f"/api/v1/datasets/{ds['id']}/offers", json={"title": "Latest", "license": "CC-BY-4.0", "pricing_unit": "downloads",
                                                                     "unit_price_minor": 1, "currency": "EUR"}, headers=bearer(k)).json
    gid = client.post(f"/api/v1/orders/{order(client, bk, offer, quantity=5).json['id']}/mark-paid", headers=bearer(vendor.keys["admin"])).json["grant_id"]
    v2 = release("2.0.0", [{"kind": "model", "name": "a", "model_name": "gpt-4o", "model_provider": "OpenAI", "license": "LicenseRef-OpenAI-Terms"}])
    d2 = client.get(f"/api/v1/versions/{v2['id']}/compatibility?license=CC-BY-4.0", headers=bearer(bk)).json["model_terms_sha256"]
    assert client.post(f"/api/v1/grants/{gid}/follow-latest", json={"accept_model_terms": d2}, headers=bearer(bk)).status_code == 200
    v3 = release("3.0.0", [{"kind": "model", "name": "b", "model_name": "claude", "model_provider": "Anthropic", "license": "LicenseRef-Anthropic-Terms"}])
    d3 = client.get(f"/api/v1/versions/{v3['id']}/compatibility?license=CC-BY-4.0", headers=bearer(bk)).json["model_terms_sha256"]
    g = client.post(f"/api/v1/grants/{gid}/follow-latest", json={"accept_model_terms": d3}, headers=bearer(bk)).json
    assert {m["text"] for m in g["accepted_model_terms"]} >= {"Do not use it to develop models that compete with OpenAI",
                                                               "Do not use it to develop models that compete with Anthropic"}
    m = client.post(f"/api/v1/orgs/{buyer.org.id}/models", json={"name": "M", "version": "1", "provider": "B"}, headers=bearer(bk)).json
    run = client.post(f"/api/v1/models/{m['id']}/runs", json={"name": "r"}, headers=bearer(bk)).json
    url = f"/api/v1/training-runs/{run['id']}/inputs"
    assert client.post(url, json={"kind": "grant", "grant_id": gid, "version_id": v2["id"]}, headers=bearer(bk)).status_code == 201
    # by files alone: the newest version the grant covers that holds them (all three hold data.jsonl? no: each its own)
    import hashlib

    body = {"kind": "grant", "grant_id": gid, "files": [{"path": "data.jsonl", "sha256": hashlib.sha256(b'{"v": "3.0.0"}\n').hexdigest()}]}
    assert client.post(url, json=body, headers=bearer(bk)).json["version_id"] == v3["id"]
