"""The row factories build rows the services accept: what they make reads back through the API
exactly as what the API itself makes, and the services act on it (a download under a factory
grant, an invoice order marked paid, a declaration's lineage)."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from catalog.models import blob_key
from licensing.services import check_publishable
from marketplace.auditlog.services import seal
from marketplace.commerce import metering
from marketplace.commerce.models import Grant, QuotaEntry
from marketplace.kernel.db import get_session
from tests.catalog.helpers import published_dataset
from tests.commerce.helpers import order
from tests.delivery.helpers import authorize, fetch
from tests.factories import (
    PASSWORD,
    AuditEventFactory,
    DatasetVersionFactory,
    LicenseFactory,
    OfferFactory,
    OrderFactory,
    OrganizationFactory,
    ProvenanceDeclarationFactory,
    VersionFileFactory,
    bearer,
    make_tenant,
    make_tenant_rows,
    paid_grant,
    published_version,
)

FILES = {"train/a.jsonl": b'{"t": 1}\n' * 30, "readme.csv": b"k,v\n1,2\n"}
# Fields that differ between any two datasets, versions, files or grants, however made.
VOLATILE = {"id", "slug", "organization_id", "dataset_id", "version_id", "latest_version_id", "created_at", "updated_at", "published_at", "checked_at",
            "set_at", "attested_at", "attested_by", "buyer_org_id", "vendor_org_id", "offer_id", "starts_at", "accepted_by", "accepted_at", "order_id",
            "request_id", "grant_id", "number", "paid_at"}


def _stable(value):
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _public_view(client, key, dataset_id, version_id):
    """Everything the API says about a dataset and its version."""
    h = bearer(key)
    out = {"dataset": client.get(f"/api/v1/datasets/{dataset_id}").json, "version": client.get(f"/api/v1/versions/{version_id}").json,
           "files": client.get(f"/api/v1/versions/{version_id}/files", headers=h).json, "manifest": client.get(f"/api/v1/versions/{version_id}/manifest").json,
           "license": client.get(f"/api/v1/versions/{version_id}/license").json, "provenance": client.get(f"/api/v1/versions/{version_id}/provenance").json,
           "compatibility": client.get(f"/api/v1/versions/{version_id}/compatibility").json}
    out["compatibility"].pop("lineage")  # node ids are version ids
    # duties name the version by its label (slug@version), and slugs differ however made
    slug = out["dataset"]["slug"]
    out["compatibility"] = json.loads(json.dumps(out["compatibility"]).replace(slug, "<slug>"))
    return _stable(out)


def test_a_published_version_reads_back_as_one_published_over_the_api(app, client):
    http_vendor, rows_vendor = make_tenant(vendor=True), make_tenant_rows(vendor=True)
    ds, v = published_dataset(client, http_vendor.keys["owner"], FILES)
    pub = published_version(FILES, organization=rows_vendor.org)
    made = _public_view(client, rows_vendor.keys["owner"], pub.dataset.id, pub.version.id)
    assert made == _public_view(client, http_vendor.keys["owner"], ds["id"], v["id"])
    assert made["dataset"]["visibility"] == "listed" and made["version"]["status"] == "published" and made["manifest"]["root_digest"] == pub.version.manifest_digest
    check_publishable(None, pub.version.id)  # licence, attested declaration, lineage: what publishing asks for
    hits = client.get("/api/v1/datasets", query_string={"q": "clinical", "vendor": str(rows_vendor.org.id)}).json
    assert [i["id"] for i in hits["items"]] == [str(pub.dataset.id)]  # in the search index
    store = app.extensions["object_store"]
    for f in pub.files:
        assert hashlib.sha256(store.read(blob_key(f.sha256))).hexdigest() == f.sha256 == hashlib.sha256(FILES[f.path]).hexdigest()


def test_a_factory_grant_lets_its_buyer_download(app, client):
    vendor, buyer = make_tenant_rows(vendor=True), make_tenant_rows()
    pub = published_version(FILES, organization=vendor.org)
    grant = paid_grant(OfferFactory(dataset=pub.dataset), buyer.org, quantity=40)
    r = authorize(client, buyer.keys["member"], grant.id)
    assert r.status_code == 200, r.json
    assert {f["path"]: hashlib.sha256(fetch(app, client, f["url"])).hexdigest() for f in r.json["files"]} == {p: hashlib.sha256(b).hexdigest() for p, b in FILES.items()}
    get_session().expire_all()
    assert get_session().get(Grant, grant.id).balance == 40 - 31 == metering.ledger_balance(grant.id)


def test_a_paid_grant_reads_back_as_one_bought_over_the_api(app, client):
    vendor, buyer = make_tenant(vendor=True), make_tenant()
    ds, _ = published_dataset(client, vendor.keys["owner"], FILES)
    offer = client.post(f"/api/v1/datasets/{ds['id']}/offers", json={"title": "Research licence", "license": "CC-BY-4.0", "pricing_unit": "records",
                                                                   "unit_price_minor": 1, "currency": "EUR"}, headers=bearer(vendor.keys["owner"])).json
    o = order(client, buyer.keys["owner"], offer, quantity=100).json
    gid = client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vendor.keys["owner"])).json["grant_id"]
    made = paid_grant(OfferFactory(dataset=published_version(FILES, organization=vendor.org).dataset), buyer.org, quantity=100)

    def view(grant_id):
        h = bearer(buyer.keys["owner"])
        g = client.get(f"/api/v1/grants/{grant_id}", headers=h).json
        orders = [_stable(x) for x in client.get(f"/api/v1/orgs/{buyer.org.id}/orders", headers=h).json if x["grant_id"] == str(grant_id)]
        return _stable(g), orders

    assert view(made.id) == view(gid)
    assert view(made.id)[0]["status"] == "active" and view(made.id)[0]["balance"] == 100 and view(made.id)[1][0]["status"] == "paid"
    ledger = get_session().scalars(select(QuotaEntry).where(QuotaEntry.grant_id == made.id)).all()
    assert [(e.kind, e.amount, e.reason, e.balance_after) for e in ledger] == [("credit", 100, "order", 100)]


def test_rows_are_accepted_by_the_services(app, client):
    vendor, buyer = make_tenant_rows(vendor=True), make_tenant_rows()
    # the tenant's people and keys: each key acts for its role; passwords log in
    for role in ("owner", "admin", "member", "auditor"):
        me = client.get("/api/v1/me", headers=bearer(vendor.keys[role])).json
        assert [(o["id"], o["role"]) for o in me["organizations"]] == [(str(vendor.org.id), role)]
    assert client.post("/api/v1/auth/login", json={"email": vendor.auditor.email, "password": PASSWORD}).status_code == 200
    # a custom licence, offered; an invoice order awaiting payment, marked paid by the vendor
    lic = LicenseFactory(owner=vendor.org, terms={"commercial_use": "prohibited", "ai_training": "allowed", "redistribution": "prohibited"})
    assert client.get(f"/api/v1/licenses/{lic.identifier}").json["use_class"] == "non-commercial"
    pub = published_version(FILES, organization=vendor.org, license=lic)
    assert client.get(f"/api/v1/datasets/{pub.dataset.id}").json["license_use_class"] == "non-commercial"
    o = OrderFactory(offer=OfferFactory(dataset=pub.dataset, license=lic, unit_price_minor=3), buyer=buyer.org, quantity=7)
    assert client.get(f"/api/v1/orders/{o.id}", headers=bearer(buyer.keys["owner"])).json["amount_minor"] == 21
    paid = client.post(f"/api/v1/orders/{o.id}/mark-paid", headers=bearer(vendor.keys["owner"]))
    assert paid.status_code == 200 and client.get(f"/api/v1/grants/{paid.json['grant_id']}", headers=bearer(buyer.keys["owner"])).json["balance"] == 7
    # a declaration naming a registry source draws the lineage
    draft = DatasetVersionFactory(dataset=pub.dataset, version="2.0.0")
    ProvenanceDeclarationFactory(version=draft, declared={"sources": [{"kind": "registry", "name": "v1", "version_id": str(pub.version.id)}],
                                                          "personal_data": {"status": "none"}})
    lineage = client.get(f"/api/v1/versions/{draft.id}/compatibility", headers=bearer(vendor.keys["owner"])).json["lineage"]
    assert {"from": str(draft.id), "to": str(pub.version.id), "relation": "derived"} in lineage["edges"]
    # a declared file awaiting its bytes takes an upload
    f = VersionFileFactory(version=draft, path="more.jsonl", content=b'{"m": 1}\n')
    up = client.put(f"/api/v1/files/{f.id}/content", data=b'{"m": 1}\n', headers=dict(bearer(vendor.keys["owner"]), **{"Content-Type": "application/octet-stream"}))
    assert up.status_code == 200 and up.json["status"] == "uploaded"
    # audit events as rows are sealed and read like any other
    other = OrganizationFactory()
    ev = AuditEventFactory(subject_type="organization", subject_id=str(other.id), subject_org_id=vendor.org.id)
    seal(grace_seconds=0)
    events = client.get("/api/v1/audit/events", query_string={"org_id": str(vendor.org.id)}, headers=bearer(vendor.keys["auditor"])).json
    assert ev.id in [e["id"] for e in events["items"]]
    assert client.get(f"/api/v1/audit/events/{ev.id}/proof", headers=bearer(vendor.keys["auditor"])).status_code == 200
