"""Exports validate with their official tooling: mlcroissant for Croissant 1.1, the `prov`
library (the PROV reference implementation) for PROV-JSON, and the SPDX 3.0.1 model bindings
generated from the SPDX SHACL model (spdx-python-model) for SPDX."""

from __future__ import annotations

import io
import json

import pytest

from tests.catalog.helpers import publish, upload_small
from tests.factories import bearer, make_tenant
from tests.licensing.helpers import FIRST_HAND, declare, draft, released


@pytest.fixture
def lineage(app, client):
    a, b = make_tenant(vendor=True), make_tenant(vendor=True)
    base = released(client, a.keys["owner"], license="CC-BY-SA-4.0", sources=[FIRST_HAND])
    v = draft(client, b.keys["owner"], "CC-BY-SA-4.0")
    upload_small(client, b.keys["owner"], v["id"], "train.jsonl", b'{"q": "?", "a": "!"}\n')
    r = declare(client, b.keys["owner"], v["id"], [
        {"kind": "registry", "name": "base", "version_id": base["id"]},
        {"kind": "model", "name": "paraphrases", "model_name": "llama-2-70b", "model_provider": "Meta", "license": "LicenseRef-Llama-2"},
        {"kind": "licensed", "name": "forums", "contract_reference": "LIC-2024-17", "license": "CC-BY-4.0"},
    ], collection={"period_start": "2024-01-01", "period_end": "2024-03-31", "geography": ["DE"], "lawful_basis": "legitimate_interest"},
        personal_data={"status": "anonymised", "anonymisation_method": "NER scrubbing + manual review"},
        annotation={"workforce": "5 linguists", "qa_method": "10% double review", "qa_pass_rate": 0.98},
        limitations="German only", biases="Forum users skew young and male")
    assert r.status_code == 201, r.json
    top = publish(client, b.keys["owner"], v["id"])
    assert top["status"] == "published"
    return base, top


def test_croissant_validates_with_mlcroissant(client, lineage):
    import mlcroissant as mlc

    base, top = lineage
    r = client.get(f"/api/v1/versions/{top['id']}/croissant")  # anonymous: public version
    assert r.status_code == 200 and r.mimetype == "application/ld+json"
    doc = r.json
    ds = mlc.Dataset(jsonld=doc)  # raises ValidationError on any error
    assert not ds.metadata.ctx.issues.errors
    assert doc["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    assert doc["license"] == "https://creativecommons.org/licenses/by-sa/4.0/"
    assert [d["sha256"] for d in doc["distribution"]] == [__import__("hashlib").sha256(b'{"q": "?", "a": "!"}\n').hexdigest()]
    assert "anonymised" in doc["rai:personalSensitiveInformation"] and doc["rai:dataBiases"].startswith("Forum users")
    assert doc["prov:wasDerivedFrom"] == [{"@id": f"http://localhost/api/v1/versions/{base['id']}"}]


def test_prov_json_round_trips_through_the_prov_library(client, lineage):
    from prov.model import ProvDocument

    base, top = lineage
    r = client.get(f"/api/v1/versions/{top['id']}/prov")
    assert r.status_code == 200
    text = r.get_data(as_text=True)
    doc = ProvDocument.deserialize(content=text, format="json")
    again = ProvDocument.deserialize(content=doc.serialize(format="json"), format="json")
    assert doc == again
    data = json.loads(text)
    assert any(f"versions/{base['id']}" in k for k in data["entity"])
    labels = {e.get("prov:label") for e in data["entity"].values()}
    assert "llama-2-70b (Meta)" in labels and "forums" in labels
    assert data["wasDerivedFrom"] and data["wasGeneratedBy"] and data["wasAttributedTo"]


def test_spdx_document_decodes_with_the_spdx_model(client, lineage):
    from spdx_python_model import v3_0_1 as s

    _, top = lineage
    r = client.get(f"/api/v1/versions/{top['id']}/spdx")
    assert r.status_code == 200
    objset = s.SHACLObjectSet()
    s.JSONLDDeserializer().read(io.BytesIO(r.get_data()), objset)
    pkgs = list(objset.foreach_type(s.dataset_DatasetPackage))
    assert len(pkgs) == 1 and pkgs[0].name and pkgs[0].verifiedUsing[0].hashValue == top["manifest_digest"]
    rels = {rel.relationshipType: rel for rel in objset.foreach_type(s.Relationship)}
    declared = rels[s.RelationshipType.hasDeclaredLicense].to[0]
    concluded = rels[s.RelationshipType.hasConcludedLicense].to[0]
    assert declared.simplelicensing_licenseExpression == "CC-BY-SA-4.0"
    assert concluded.simplelicensing_licenseExpression == "CC-BY-SA-4.0"
    # and re-encoding checks every SHACL cardinality and type the model defines
    out = io.BytesIO()
    s.JSONLDSerializer().write(objset, out)
    assert json.loads(out.getvalue())["@graph"]


def test_exports_of_unpublished_or_hidden_versions(app, client):
    a = make_tenant(vendor=True)
    v = draft(client, a.keys["owner"], "CC-BY-4.0")
    assert client.get(f"/api/v1/versions/{v['id']}/croissant").status_code == 404  # a draft is private
    assert client.get(f"/api/v1/versions/{v['id']}/croissant", headers=bearer(a.keys["owner"])).status_code == 409
