"""Compliance reports: provenance report (JSON, HTML) and the buyer's data bill of materials
(CycloneDX 1.6 validated against the official schema; SPDX 3.0.1 through its model bindings)."""

from __future__ import annotations

import io

from tests.delivery.helpers import buy
from tests.factories import bearer, make_tenant_rows


def setup(client):
    vendor, buyer = make_tenant_rows(vendor=True), make_tenant_rows()
    pub, gid = buy(vendor, buyer, quantity=100)
    client.post(f"/api/v1/grants/{gid}/downloads", json={"paths": ["train/a.jsonl"]}, headers=bearer(buyer.keys["member"]))
    return vendor, buyer, pub.version, gid


def test_provenance_report_json_and_html(app, client):
    vendor, buyer, v, gid = setup(client)
    r = client.get(f"/api/v1/versions/{v.id}/report", headers=bearer(vendor.keys["auditor"]))
    assert r.status_code == 200
    rep = r.json
    assert rep["version"]["manifest_digest"] == v.manifest_digest and rep["license"]["identifier"] == "CC-BY-4.0"
    assert rep["provenance"]["sources"][0]["kind"] == "first_hand" and rep["attestations"][0]["revision"] == 1
    assert rep["effective"]["use_class"] == "commercial" and rep["lineage"]["nodes"]
    assert rep["access"]["authorisations"] == 1 and rep["access"]["by_organisation"][0]["organization"] == buyer.org.name
    public = client.get(f"/api/v1/versions/{v.id}/report").json
    assert "access" not in public  # who accessed the data is for the vendor and compliance only
    html = client.get(f"/api/v1/versions/{v.id}/report?format=html").get_data(as_text=True)
    assert "<h1>Provenance report" in html and v.manifest_digest in html


def test_bom_cyclonedx_validates_against_the_official_schema(app, client):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    vendor, buyer, v, gid = setup(client)
    r = client.get(f"/api/v1/orgs/{buyer.org.id}/bom", headers=bearer(buyer.keys["auditor"]))
    assert r.status_code == 200 and r.mimetype == "application/vnd.cyclonedx+json"
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(r.get_data(as_text=True))
    assert errors is None, errors
    bom = r.json
    comp = bom["components"][0]
    assert comp["type"] == "data" and comp["version"] == "1.0.0" and comp["hashes"][0]["content"] == v.manifest_digest
    props = {p["name"]: p["value"] for p in comp["properties"]}
    assert props["marketplace:grant_id"] == gid and props["marketplace:quota_used"] == "30" and props["marketplace:effective_use_class"] == "commercial"
    assert comp["licenses"] == [{"license": {"id": "CC-BY-4.0"}}]


def test_bom_spdx_decodes(app, client):
    from spdx_python_model import v3_0_1 as s

    vendor, buyer, v, gid = setup(client)
    r = client.get(f"/api/v1/orgs/{buyer.org.id}/bom?format=spdx", headers=bearer(buyer.keys["owner"]))
    objset = s.SHACLObjectSet()
    s.JSONLDDeserializer().read(io.BytesIO(r.get_data()), objset)
    pkgs = list(objset.foreach_type(s.dataset_DatasetPackage))
    assert len(pkgs) == 1 and pkgs[0].verifiedUsing[0].hashValue == v.manifest_digest


def test_reports_do_not_leak_across_tenants(app, client):
    vendor, buyer, v, gid = setup(client)
    stranger = make_tenant_rows()
    for role in ("owner", "admin", "member", "auditor"):
        assert client.get(f"/api/v1/orgs/{buyer.org.id}/bom", headers=bearer(stranger.keys[role])).status_code == 404
        rep = client.get(f"/api/v1/versions/{v.id}/report", headers=bearer(stranger.keys[role]))
        assert rep.status_code == 200 and "access" not in rep.json and buyer.org.name not in rep.get_data(as_text=True)
    assert client.get(f"/api/v1/orgs/{buyer.org.id}/bom", headers=bearer(vendor.keys["owner"])).status_code == 404
