"""De-duplication saves storage, never grants access (the cross-tenant attack of R2 1/11).

A vendor that reads another vendor's digest and size from a public manifest must not be able to
reference those bytes without sending them: not at declare, not at multipart completion, not at
ingest; and no answer may tell it whether another tenant stores a digest, or its size. Every
content-addressed path is crossed with a second tenant: declare, complete, preview, download and
manifest.
"""

from __future__ import annotations

import hashlib

from tests.catalog.helpers import create_dataset, create_version, declare, ensure_licensed, publish, published_dataset, upload_small
from tests.delivery.helpers import authorize, fetch
from tests.factories import bearer, make_tenant

SECRET = b'{"patient": "P-0091", "note": "confidential annotation"}\n' * 40


def _victim_and_attacker(client):
    victim, attacker = make_tenant(vendor=True), make_tenant(vendor=True)
    ds, v = published_dataset(client, victim.keys["owner"], {"secret.jsonl": SECRET})
    manifest = client.get(f"/api/v1/versions/{v['id']}/manifest").json
    entry = manifest["files"][0]
    assert entry["sha256"] == hashlib.sha256(SECRET).hexdigest()
    return victim, attacker, entry


def test_another_tenants_digest_is_not_already_stored_and_its_size_is_not_revealed(app, client):
    victim, attacker, entry = _victim_and_attacker(client)
    key = attacker.keys["owner"]
    v = create_version(client, key, create_dataset(client, key)["id"])
    r = client.post(f"/api/v1/versions/{v['id']}/files", json={"path": "stolen.jsonl", "size": entry["size"], "sha256": entry["sha256"]}, headers=bearer(key))
    assert r.status_code == 201 and r.json["already_stored"] is False and r.json["status"] == "pending"
    # A wrong size answers exactly like a digest nobody stores: no size oracle.
    wrong = client.post(f"/api/v1/versions/{v['id']}/files", json={"path": "probe.jsonl", "size": entry["size"] + 1, "sha256": entry["sha256"]}, headers=bearer(key))
    fresh = client.post(f"/api/v1/versions/{v['id']}/files", json={"path": "fresh.jsonl", "size": entry["size"] + 1, "sha256": "c" * 64}, headers=bearer(key))
    assert wrong.status_code == fresh.status_code == 201
    assert wrong.json["already_stored"] is fresh.json["already_stored"] is False
    assert set(wrong.json) == set(fresh.json)


def test_publishing_another_tenants_digest_without_its_bytes_fails_and_shows_nothing(app, client):
    victim, attacker, entry = _victim_and_attacker(client)
    key = attacker.keys["owner"]
    v = create_version(client, key, create_dataset(client, key)["id"])
    f = client.post(f"/api/v1/versions/{v['id']}/files", json={"path": "stolen.jsonl", "size": entry["size"], "sha256": entry["sha256"]}, headers=bearer(key)).json
    ensure_licensed(client, key, v["id"])
    # Publishing with the bytes never sent: refused up front or failed by ingest, never published.
    r = client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(key))
    if r.status_code == 202:
        assert r.json["status"] != "published"
    else:
        assert r.status_code in (400, 409), r.json
    got = client.get(f"/api/v1/versions/{v['id']}", headers=bearer(key)).json
    assert got["status"] == "draft" and got["manifest_digest"] is None
    # The preview of the victim's file never reaches the attacker's file.
    p = client.get(f"/api/v1/files/{f['id']}/preview", headers=bearer(key))
    assert p.status_code in (404, 409) or not (p.json.get("records") or []), p.json
    assert b"P-0091" not in p.get_data()
    # Multipart completion cannot turn the borrowed digest into stored bytes either.
    c = client.post(f"/api/v1/files/{f['id']}/multipart/complete", json={"parts": [{"part_number": 1, "etag": "x"}]}, headers=bearer(key))
    assert c.status_code in (400, 409)


def test_uploading_the_same_bytes_proves_possession_and_stores_them_once(app, client, store):
    victim, attacker, entry = _victim_and_attacker(client)
    key = attacker.keys["owner"]
    ds, v = published_dataset(client, key, {"mine.jsonl": SECRET})
    assert v["status"] == "published"
    keys = [o.key for o in store.list("blobs/") if o.key.endswith(entry["sha256"])]
    assert len(keys) == 1  # the duplicate copy was dropped after verification
    # Having uploaded them, the attacker's organisation now re-uses them for free (own-tenant dedup).
    v2 = create_version(client, key, ds["id"], "2.0.0")
    assert declare(client, key, v2["id"], "again.jsonl", SECRET).json["already_stored"] is True


def test_within_one_organisation_dedup_stays_free_for_every_member(app, client):
    vendor = make_tenant(vendor=True)
    ds, v = published_dataset(client, vendor.keys["owner"], {"a.jsonl": SECRET})
    v2 = create_version(client, vendor.keys["member"], ds["id"], "2.0.0")
    r = declare(client, vendor.keys["member"], v2["id"], "b.jsonl", SECRET)
    assert r.json["already_stored"] is True
    # Within the organisation a size contradiction is named (it reveals nothing of others).
    r = declare(client, vendor.keys["member"], v2["id"], "c.jsonl", SECRET, size=len(SECRET) + 1)
    assert r.status_code == 400 and "size" in r.json["errors"]
    upload_small(client, vendor.keys["member"], v2["id"], "d.jsonl", b'{"x": 1}\n')
    assert publish(client, vendor.keys["member"], v2["id"])["status"] == "published"


def test_buyer_of_the_attackers_listing_cannot_obtain_the_victims_bytes(app, client):
    """The end of the original attack: sell the borrowed digest, download it as a buyer."""
    from tests.commerce.helpers import order

    victim, attacker, entry = _victim_and_attacker(client)
    buyer = make_tenant()
    key = attacker.keys["owner"]
    ds = create_dataset(client, key)
    v = create_version(client, key, ds["id"])
    client.post(f"/api/v1/versions/{v['id']}/files", json={"path": "stolen.jsonl", "size": entry["size"], "sha256": entry["sha256"]}, headers=bearer(key))
    upload_small(client, key, v["id"], "decoy.jsonl", b'{"d": 1}\n')
    ensure_licensed(client, key, v["id"])
    client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(key))
    offer = client.post(f"/api/v1/datasets/{ds['id']}/offers", json={"title": "t", "license": "CC-BY-4.0", "pricing_unit": "records", "unit_price_minor": 1,
                                                                      "currency": "EUR"}, headers=bearer(key))
    if offer.status_code != 201:
        return  # nothing to sell: the attack ends here
    o = order(client, buyer.keys["owner"], offer.json, quantity=1000)
    if o.status_code != 201:
        return
    paid = client.post(f"/api/v1/orders/{o.json['id']}/mark-paid", headers=bearer(key))
    assert paid.status_code == 200
    r = authorize(client, buyer.keys["owner"], paid.json["grant_id"])
    assert r.status_code != 200 or all(f["sha256"] != entry["sha256"] for f in r.json["files"])
    if r.status_code == 200:
        for f in r.json["files"]:
            assert b"P-0091" not in fetch(app, client, f["url"])
