"""Upload and delivery against an S3 server that enforces what S3 enforces (SeaweedFS's S3
gateway): presigned part URLs signed for their CRC-32 refuse a damaged part, downloads verify,
tampered and expired URLs are refused, and a vendor cannot borrow another tenant's stored bytes.
PostgreSQL holds the data, as in production."""

from __future__ import annotations

import hashlib
import os
import time

import pytest
import requests

from catalog.storage.base import crc32_b64
from marketplace.app import create_app
from tests.catalog.helpers import create_dataset, create_version, ensure_licensed, publish
from tests.commerce.helpers import order
from tests.conftest import isolated
from tests.factories import bearer, make_tenant

MIB = 1024 * 1024
pytestmark = pytest.mark.postgres_only


@pytest.fixture
def sw_app(backend, make_settings, seaweed_endpoint, seaweed_bucket):
    app = create_app(make_settings(backend, storage_url=f"s3://{seaweed_bucket}?endpoint_url={seaweed_endpoint}&region=us-east-1",
                                   presign_ttl_seconds=3))
    with isolated(app) as a:
        yield a
    app.extensions["db"].engine.dispose()


def _upload(client, key, version_id, path, data, *, damage_first=False):
    part = 5 * MIB
    chunks = [data[i:i + part] for i in range(0, len(data), part)]
    f = client.post(f"/api/v1/versions/{version_id}/files", json={"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()},
                    headers=bearer(key)).json
    plan = client.post(f"/api/v1/files/{f['id']}/multipart", json={"part_size": part, "part_checksums": [crc32_b64(c) for c in chunks]},
                       headers=bearer(key)).json
    etags = []
    for n, chunk in enumerate(chunks, 1):
        # one URL at a time, just before use: they live only presign_ttl_seconds here
        p = client.get(f"/api/v1/files/{f['id']}/multipart?first={n}&count=1", headers=bearer(key)).json["parts"][0]
        if damage_first:
            bad = bytearray(chunk)
            bad[len(bad) // 2] ^= 1
            r = requests.put(p["url"], data=bytes(bad), headers=p["headers"], timeout=60)
            assert r.status_code == 400 and b"BadDigest" in r.content  # S3 checked the signed checksum
            damage_first = False
        r = requests.put(p["url"], data=chunk, headers=p["headers"], timeout=60)
        assert r.status_code == 200, r.text
        etags.append({"part_number": p["part_number"], "etag": r.headers["ETag"].strip('"')})
    assert plan["part_count"] == len(chunks)
    r = client.post(f"/api/v1/files/{f['id']}/multipart/complete", json={"parts": etags}, headers=bearer(key))
    assert r.status_code == 200, r.json
    return f


def test_upload_publish_buy_download_against_an_enforcing_s3(sw_app):
    client = sw_app.test_client()
    vendor, buyer = make_tenant(vendor=True), make_tenant()
    vk = vendor.keys["owner"]
    data = b"".join(b'{"i": %d, "pad": "%s"}\n' % (i, b"x" * 200) for i in range(60_000))  # ~13 MB, three parts
    ds = create_dataset(client, vk)
    v = create_version(client, vk, ds["id"])
    _upload(client, vk, v["id"], "train.jsonl", data, damage_first=True)
    ensure_licensed(client, vk, v["id"])
    assert publish(client, vk, v["id"])["status"] == "published"
    offer = client.post(f"/api/v1/datasets/{ds['id']}/offers", json={"title": "t", "license": "CC-BY-4.0", "pricing_unit": "downloads",
                                                                   "unit_price_minor": 1, "currency": "EUR"}, headers=bearer(vk)).json
    o = order(client, buyer.keys["owner"], offer, quantity=3).json
    gid = client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vk)).json["grant_id"]
    got = client.post(f"/api/v1/grants/{gid}/downloads", json={}, headers=bearer(buyer.keys["owner"])).json["files"][0]
    url = got["url"]
    body = requests.get(url, timeout=60).content
    assert hashlib.sha256(body).hexdigest() == got["sha256"] == hashlib.sha256(data).hexdigest()
    assert requests.get(url, headers={"Range": "bytes=0-9"}, timeout=60).content == data[:10]
    # another object under the same signature, or a changed signature: refused by the server
    tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0") if "X-Amz-Signature=0" not in url else url.replace("X-Amz-Signature=0", "X-Amz-Signature=1")
    assert requests.get(tampered, timeout=30).status_code == 403
    time.sleep(4)  # the URL lived 3 s
    r = requests.get(url, timeout=30)
    assert r.status_code == 403 and data[:20] not in r.content


def test_another_tenants_digest_cannot_be_published_against_an_enforcing_s3(sw_app):
    client = sw_app.test_client()
    victim, attacker = make_tenant(vendor=True), make_tenant(vendor=True)
    secret = os.urandom(6 * MIB)
    ds = create_dataset(client, victim.keys["owner"])
    v = create_version(client, victim.keys["owner"], ds["id"])
    _upload(client, victim.keys["owner"], v["id"], "secret.bin", secret)
    ensure_licensed(client, victim.keys["owner"], v["id"])
    assert publish(client, victim.keys["owner"], v["id"])["status"] == "published"
    ak = attacker.keys["owner"]
    v2 = create_version(client, ak, create_dataset(client, ak)["id"])
    r = client.post(f"/api/v1/versions/{v2['id']}/files", json={"path": "stolen.bin", "size": len(secret), "sha256": hashlib.sha256(secret).hexdigest()},
                    headers=bearer(ak))
    assert r.status_code == 201 and r.json["already_stored"] is False
    ensure_licensed(client, ak, v2["id"])
    r = client.post(f"/api/v1/versions/{v2['id']}/publish", headers=bearer(ak))
    assert r.status_code == 409 and "stolen.bin" in str(r.json)  # its bytes were never sent: not publishable
    assert client.get(f"/api/v1/versions/{v2['id']}", headers=bearer(ak)).json["status"] == "draft"


def test_a_part_sent_twice_completes_with_the_copy_the_client_names(sw_app):
    """SeaweedFS lists both copies of a re-sent part, in no telling order: completion matches the
    client's ETag against every copy, and the object is the bytes of the copy named."""
    client = sw_app.test_client()
    vendor = make_tenant(vendor=True)
    key = vendor.keys["owner"]
    data = os.urandom(5 * MIB) + os.urandom(1234)
    v = create_version(client, key, create_dataset(client, key)["id"])
    f = client.post(f"/api/v1/versions/{v['id']}/files", json={"path": "x.bin", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()},
                    headers=bearer(key)).json
    client.post(f"/api/v1/files/{f['id']}/multipart", json={"part_size": 5 * MIB}, headers=bearer(key))
    urls = client.get(f"/api/v1/files/{f['id']}/multipart?first=1&count=2", headers=bearer(key)).json["parts"]
    e1 = requests.put(urls[0]["url"], data=data[:5 * MIB], timeout=60).headers["ETag"].strip('"')
    requests.put(urls[1]["url"], data=b"a first, wrong attempt", timeout=60)
    e2 = requests.put(urls[1]["url"], data=data[5 * MIB:], timeout=60).headers["ETag"].strip('"')
    r = client.post(f"/api/v1/files/{f['id']}/multipart/complete", json={"parts": [{"part_number": 1, "etag": e1}, {"part_number": 2, "etag": e2}]},
                    headers=bearer(key))
    assert r.status_code == 200, r.json
    ensure_licensed(client, key, v["id"])
    assert publish(client, key, v["id"])["status"] == "published"  # ingest verified the SHA-256 of the bytes named
