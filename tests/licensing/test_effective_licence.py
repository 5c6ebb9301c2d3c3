"""One effective licence behind every surface. A version whose own licence is more restrictive
than its lineage (a first-hand corpus the vendor licenses for non-commercial use only) must read
the same on the compatibility report, the dataset's badge, the NOTICE file, the Croissant export
(its ODRL usage policy), the compliance report, the offer gate and the offer itself. These surfaces once computed it separately: some
from the lineage alone (which said "commercial")."""

from __future__ import annotations

import json

from tests.catalog.helpers import create_dataset, create_version, ensure_licensed, publish, upload_small
from tests.factories import bearer, make_tenant


def test_every_surface_names_the_same_effective_use(client):
    vendor = make_tenant(vendor=True)
    k = vendor.keys["owner"]
    ds = create_dataset(client, k)
    v = create_version(client, k, ds["id"])
    upload_small(client, k, v["id"], "notes.jsonl", b'{"t": "hello"}\n')
    ensure_licensed(client, k, v["id"], license="CC-BY-NC-4.0")
    assert publish(client, k, v["id"])["status"] == "published"
    h = bearer(k)

    compat = client.get(f"/api/v1/versions/{v['id']}/compatibility", headers=h).json
    badge = client.get(f"/api/v1/datasets/{ds['id']}", headers=h).json["license_use_class"]
    notice = client.get(f"/api/v1/versions/{v['id']}/notice", headers=h).get_data(as_text=True)
    croissant = client.get(f"/api/v1/versions/{v['id']}/croissant", headers=h).get_data(as_text=True)
    report = json.loads(client.get(f"/api/v1/versions/{v['id']}/report", headers=h).get_data(as_text=True))

    assert compat["use_class"] == "non-commercial"
    assert badge == "non-commercial"
    assert "Effective use over the whole lineage: non-commercial." in notice
    policy = json.loads(croissant)["usageInfo"]
    assert "Use class over the own licence and the whole lineage: non-commercial" in policy["rdfs:comment"]
    assert {"@id": "odrl:commercialize"} in [r["odrl:action"] for r in policy["odrl:prohibition"]]
    assert report["effective"]["use_class"] == "non-commercial"

    # The offer gate asks the same function: a commercial licence over it is refused.
    r = client.post(f"/api/v1/datasets/{ds['id']}/offers", json={"title": "Commercial", "license": "CC-BY-4.0", "pricing_unit": "records",
                                                                "unit_price_minor": 1, "currency": "EUR"}, headers=h)
    assert r.status_code == 409 and "use-class-exceeds-upstream" in json.dumps(r.json)
    ok = client.post(f"/api/v1/datasets/{ds['id']}/offers", json={"title": "Research", "license": "CC-BY-NC-4.0", "pricing_unit": "records",
                                                                 "unit_price_minor": 1, "currency": "EUR"}, headers=h)
    assert ok.status_code == 201, ok.json
    assert ok.json["effective_terms"]["use_class"] == "non-commercial" and ok.json["effective_terms"]["commercial_use"] == "prohibited"
