"""Datasets, versions and files over HTTP: listing rules, immutability, uploads, ingest, manifests."""

from __future__ import annotations

import hashlib
import json
import os
import re

import pytest
from sqlalchemy import select

from catalog.models import staging_key
from catalog.storage import CRC32_HEADER
from catalog.storage.base import crc32_b64
from marketplace.kernel.audit import AuditEvent
from marketplace.kernel.db import get_session
from tests.catalog.helpers import create_dataset, create_version, declare, publish, published_dataset, put_part, upload_small
from tests.factories import bearer, make_tenant

MIB = 1024 * 1024
JSONL = b'{"speaker": "doctor", "text": "How are you feeling?", "turn": 1}\n{"speaker": "patient", "text": "Better", "turn": 2}\n{"speaker": "doctor", "text": "Good", "turn": 3}'


@pytest.fixture
def vendor(app):
    return make_tenant(vendor=True)


def test_only_approved_vendors_list_datasets(app, client, vendor):
    buyer = make_tenant()
    r = client.post("/api/v1/datasets", json={"slug": "x", "title": "X", "domain": "legal"}, headers=bearer(buyer.keys["owner"]))
    assert r.status_code == 403 and "vendor" in r.json["detail"]
    r = client.post("/api/v1/datasets", json={"slug": "x", "title": "X", "domain": "legal"}, headers=bearer(vendor.keys["auditor"]))
    assert r.status_code == 403
    ds = create_dataset(client, vendor.keys["member"], slug="contracts", domain="legal")
    assert ds["organization_id"] == str(vendor.org.id)
    r = client.post("/api/v1/datasets", json={"slug": "contracts", "title": "Again", "domain": "legal"}, headers=bearer(vendor.keys["owner"]))
    assert r.status_code == 409 and "slug" in r.json["errors"]


@pytest.mark.parametrize("field,value", [("domain", "astrology"), ("languages", ["english!"]), ("modalities", ["smell"]), ("slug", "Bad Slug"), ("tags", [""])])
def test_dataset_validation_names_the_field(app, client, vendor, field, value):
    body = {"slug": "ok", "title": "T", "domain": "legal", field: value}
    r = client.post("/api/v1/datasets", json=body, headers=bearer(vendor.keys["owner"]))
    assert r.status_code == 400 and field in r.json["errors"], r.json


def test_languages_are_normalised_bcp47(app, client, vendor):
    ds = create_dataset(client, vendor.keys["owner"], languages=["EN-gb", "zh-hant-tw", "de"])
    assert ds["languages"] == ["en-GB", "zh-Hant-TW", "de"]


def test_card_is_sanitised(app, client, vendor):
    ds = create_dataset(client, vendor.keys["owner"], card_markdown="# Card\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)> **ok**")
    html = client.get(f"/api/v1/datasets/{ds['id']}", headers=bearer(vendor.keys["owner"])).json["card_html"]
    assert "<h1>Card</h1>" in html and "<strong>ok</strong>" in html
    assert "<script" not in html  # shown as text, never as a tag
    assert not re.search(r"<[^>]+(onerror|href=\"javascript)", html)
    assert "&lt;script&gt;" in html


def test_drafts_are_private_and_other_tenants_get_404(app, client, vendor):
    ds = create_dataset(client, vendor.keys["owner"])
    other = make_tenant(vendor=True)
    for h in (bearer(other.keys["owner"]), {}):
        assert client.get(f"/api/v1/datasets/{ds['id']}", headers=h).status_code == 404
        assert client.get(f"/api/v1/datasets/{ds['id']}/versions", headers=h).status_code == 404
    r = client.patch(f"/api/v1/datasets/{ds['id']}", json={"title": "pwned"}, headers=bearer(other.keys["owner"]))
    assert r.status_code == 404
    assert client.post(f"/api/v1/datasets/{ds['id']}/versions", json={"version": "1"}, headers=bearer(other.keys["owner"])).status_code == 404
    assert client.get(f"/api/v1/orgs/{vendor.org.id}/datasets", headers=bearer(other.keys["owner"])).status_code == 404
    mine = client.get(f"/api/v1/orgs/{vendor.org.id}/datasets", headers=bearer(vendor.keys["auditor"])).json
    assert [d["id"] for d in mine] == [ds["id"]]


def test_small_upload_publish_manifest_preview(app, client, vendor, store):
    key = vendor.keys["owner"]
    csv_data = b'id,note,score\n1,"multi\nline",0.5\n2,plain,1.5\n'
    ds, v = published_dataset(client, key, {"dialogues/part-0.jsonl": JSONL, "meta/scores.csv": csv_data})
    files = {f["path"]: f for f in client.get(f"/api/v1/versions/{v['id']}/files").json}
    assert files["dialogues/part-0.jsonl"]["records"] == 3
    assert files["meta/scores.csv"]["records"] == 2
    assert files["dialogues/part-0.jsonl"]["schema"]["fields"] == [{"name": "speaker", "type": "string"}, {"name": "text", "type": "string"}, {"name": "turn", "type": "integer"}]
    assert all(f["status"] == "verified" for f in files.values())
    m = client.get(f"/api/v1/versions/{v['id']}/manifest").json
    canonical = json.dumps({"files": m["files"]}, sort_keys=True, separators=(",", ":")).encode()
    assert m["root_digest"] == hashlib.sha256(canonical).hexdigest() == v["manifest_digest"]
    assert [f["path"] for f in m["files"]] == ["dialogues/part-0.jsonl", "meta/scores.csv"]
    assert m["files"][0]["sha256"] == hashlib.sha256(JSONL).hexdigest()
    # stored content-addressed, staging cleaned up
    digest = hashlib.sha256(JSONL).hexdigest()
    assert store.read(f"blobs/sha256/{digest[:2]}/{digest[2:4]}/{digest}") == JSONL
    assert not store.exists(staging_key(files["dialogues/part-0.jsonl"]["id"]))
    # public now: anonymous sees the dataset and the preview
    assert client.get(f"/api/v1/datasets/{ds['id']}").status_code == 200
    prev = client.get(f"/api/v1/files/{files['dialogues/part-0.jsonl']['id']}/preview").json
    assert prev["records"][0]["speaker"] == "doctor" and len(prev["records"]) == 3
    # vendor redacts: masks a field, drops a record
    r = client.put(f"/api/v1/files/{files['dialogues/part-0.jsonl']['id']}/preview", json={"drop_fields": ["text"], "drop_records": [2]}, headers=bearer(key))
    assert r.status_code == 200
    prev = client.get(f"/api/v1/files/{files['dialogues/part-0.jsonl']['id']}/preview").json
    assert len(prev["records"]) == 2 and prev["records"][0]["text"] == "[redacted]" and prev["redacted"]
    pub = get_session().scalars(select(AuditEvent).where(AuditEvent.action == "version.publish")).all()
    assert pub and pub[-1].quantities["records"] == 5


def test_published_version_is_immutable(app, client, vendor):
    key = vendor.keys["owner"]
    _, v = published_dataset(client, key, {"a.jsonl": JSONL})
    assert declare(client, key, v["id"], "b.jsonl", b"{}\n").status_code == 409
    r = client.patch(f"/api/v1/versions/{v['id']}", json={"changelog": "rewrite history"}, headers=bearer(key))
    assert r.status_code == 409 and "new version" in r.json["detail"]
    fid = client.get(f"/api/v1/versions/{v['id']}/files").json[0]["id"]
    assert client.delete(f"/api/v1/versions/{v['id']}/files/{fid}", headers=bearer(key)).status_code == 409
    assert client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(key)).status_code == 409


def test_withdraw_needs_reason_and_deprecate(app, client, vendor):
    key = vendor.keys["owner"]
    _, v = published_dataset(client, key, {"a.jsonl": JSONL})
    assert client.post(f"/api/v1/versions/{v['id']}/withdraw", json={"reason": ""}, headers=bearer(key)).status_code == 400
    r = client.post(f"/api/v1/versions/{v['id']}/deprecate", json={"reason": "superseded by 2.0"}, headers=bearer(key))
    assert r.status_code == 200 and r.json["status"] == "deprecated"
    r = client.post(f"/api/v1/versions/{v['id']}/withdraw", json={"reason": "consent revoked by a contributor"}, headers=bearer(key))
    assert r.status_code == 200 and r.json["status"] == "withdrawn" and r.json["withdrawn_at"]


@pytest.mark.parametrize("path", ["../etc/passwd", "/abs/file.jsonl", "a/../../b", "bad\x00name", "tab\there", "C:/win.txt", "back\\slash", "  ", "x" * 1100])
def test_bad_paths_refused(app, client, vendor, path):
    ds = create_dataset(client, vendor.keys["owner"])
    v = create_version(client, vendor.keys["owner"], ds["id"])
    r = declare(client, vendor.keys["owner"], v["id"], path, b"data")
    assert r.status_code == 400 and "path" in r.json["errors"], r.json


def test_paths_are_normalised_and_duplicates_refused(app, client, vendor):
    ds = create_dataset(client, vendor.keys["owner"])
    v = create_version(client, vendor.keys["owner"], ds["id"])
    r = declare(client, vendor.keys["owner"], v["id"], "./train//part-0.jsonl", JSONL)
    assert r.status_code == 201 and r.json["path"] == "train/part-0.jsonl"
    r = declare(client, vendor.keys["owner"], v["id"], "train/part-0.jsonl", JSONL)
    assert r.status_code == 409


def test_wrong_digest_fails_ingest_with_reason_and_stays_draft(app, client, vendor, store):
    key = vendor.keys["owner"]
    ds = create_dataset(client, key)
    v = create_version(client, key, ds["id"])
    upload_small(client, key, v["id"], "good.jsonl", JSONL)
    bad = upload_small(client, key, v["id"], "bad.jsonl", b'{"a": 1}\n', sha256="0" * 64)
    res = publish(client, key, v["id"])
    assert res["status"] == "draft"
    assert "SHA-256 mismatch" in res["ingest_report"]["files"]["bad.jsonl"]["reason"]
    assert res["ingest_report"]["files"]["good.jsonl"]["status"] == "ok"
    files = {f["path"]: f for f in client.get(f"/api/v1/versions/{v['id']}/files", headers=bearer(key)).json}
    assert files["bad.jsonl"]["status"] == "failed" and files["good.jsonl"]["status"] != "verified"
    assert not store.exists(staging_key(bad["id"]))  # the wrong bytes are gone
    assert client.get(f"/api/v1/datasets/{ds['id']}").status_code == 404  # nothing public
    assert client.get(f"/api/v1/versions/{v['id']}/manifest", headers=bearer(key)).status_code == 409
    # the vendor fixes it: drop and re-declare, then publish
    assert client.delete(f"/api/v1/versions/{v['id']}/files/{bad['id']}", headers=bearer(key)).status_code == 204
    upload_small(client, key, v["id"], "bad.jsonl", b'{"a": 1}\n')
    assert publish(client, key, v["id"])["status"] == "published"


def test_small_upload_length_must_match(app, client, vendor):
    key = vendor.keys["owner"]
    ds = create_dataset(client, key)
    v = create_version(client, key, ds["id"])
    f = declare(client, key, v["id"], "a.jsonl", JSONL).json
    r = client.put(f"/api/v1/files/{f['id']}/content", data=JSONL[:-5], headers=dict(bearer(key), **{"Content-Type": "application/octet-stream"}))
    assert r.status_code == 400 and "size" in r.json["errors"]
    assert client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(key)).status_code == 409


def test_publish_needs_files(app, client, vendor):
    ds = create_dataset(client, vendor.keys["owner"])
    v = create_version(client, vendor.keys["owner"], ds["id"])
    r = client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(vendor.keys["owner"]))
    assert r.status_code == 400 and "files" in r.json["errors"]


def test_two_versions_sharing_a_file_store_it_once(app, client, vendor, store):
    key = vendor.keys["owner"]
    shared = b'{"shared": true}\n' * 1000
    ds, v1 = published_dataset(client, key, {"train.jsonl": shared, "v1-only.jsonl": b'{"v": 1}\n'})
    v2 = create_version(client, key, ds["id"], "2.0.0")
    r = declare(client, key, v2["id"], "renamed/train.jsonl", shared)
    assert r.status_code == 201 and r.json["already_stored"] is True
    upload_small(client, key, v2["id"], "v2-only.jsonl", b'{"v": 2}\n')
    assert publish(client, key, v2["id"])["status"] == "published"
    digest = hashlib.sha256(shared).hexdigest()
    blobs = [o.key for o in store.list("blobs/")]
    assert sum(1 for k in blobs if k.endswith(digest)) == 1
    v2_files = client.get(f"/api/v1/versions/{v2['id']}/files").json
    assert not any(store.exists(staging_key(f["id"])) for f in v2_files)  # (the store is shared by all tests)
    latest = client.get(f"/api/v1/datasets/{ds['id']}").json
    assert latest["latest_version_id"] == v2["id"]


def _multipart(app, client, key, file_id, data: bytes, part_size: int, *, skip: set[int] = frozenset(), tamper: int | None = None):
    r = client.post(f"/api/v1/files/{file_id}/multipart", json={"part_size": part_size}, headers=bearer(key))
    assert r.status_code == 201, r.json
    plan = r.json
    etags = []
    for p in plan["parts"]:
        if p["part_number"] in skip:
            continue
        chunk = data[p["offset"]:p["offset"] + p["size"]]
        if p["part_number"] == tamper:
            chunk = chunk[:-1]
        etags.append({"part_number": p["part_number"], "etag": put_part(app, client, p["url"], chunk)})
    return plan, etags


def test_multipart_upload_through_presigned_parts(app, client, vendor, store):
    key = vendor.keys["owner"]
    data = (b'{"frame": 1, "lidar": "' + b"x" * 200 + b'"}\n') * (11 * MIB // 220)
    ds = create_dataset(client, key, domain="autonomous-driving")
    v = create_version(client, key, ds["id"])
    f = declare(client, key, v["id"], "scenes/drive.jsonl", data).json
    # an interrupted client resumes: same upload, parts already received are listed
    plan, etags = _multipart(app, client, key, f["id"], data, 5 * MIB, skip={3})
    assert plan["part_count"] == 3
    again = client.post(f"/api/v1/files/{f['id']}/multipart", json={"part_size": 5 * MIB}, headers=bearer(key)).json
    assert again["upload_id"] == plan["upload_id"]
    assert [p["part_number"] for p in again["received"]] == [1, 2]
    p3 = again["parts"][2]
    etags.append({"part_number": 3, "etag": put_part(app, client, p3["url"], data[p3["offset"]:])})
    r = client.post(f"/api/v1/files/{f['id']}/multipart/complete", json={"parts": etags}, headers=bearer(key))
    assert r.status_code == 200, r.json
    res = publish(client, key, v["id"])
    assert res["status"] == "published", res
    got = client.get(f"/api/v1/versions/{v['id']}/files").json[0]
    assert got["sha256"] == hashlib.sha256(data).hexdigest() and got["records"] == data.count(b"\n")
    assert [u for u in store.list_multipart_uploads("staging/") if u.key == staging_key(f["id"])] == []


def test_multipart_with_part_checksums(app, client, vendor, store):
    """A client that declares each part's CRC-32 gets part URLs signed for them and the headers
    to send; a restart with the same checksums resumes, with other checksums starts afresh."""
    key = vendor.keys["owner"]
    data = os.urandom(11 * MIB)
    ds = create_dataset(client, key)
    v = create_version(client, key, ds["id"])
    f = declare(client, key, v["id"], "big.bin", data).json
    crcs = [crc32_b64(data[i:i + 5 * MIB]) for i in range(0, len(data), 5 * MIB)]
    start = f"/api/v1/files/{f['id']}/multipart"
    r = client.post(start, json={"part_size": 5 * MIB, "part_checksums": crcs[:2]}, headers=bearer(key))
    assert r.status_code == 400 and "3 parts" in r.json["errors"]["part_checksums"][0]
    r = client.post(start, json={"part_size": 5 * MIB, "part_checksums": ["not-a-crc", *crcs[1:]]}, headers=bearer(key))
    assert r.status_code == 400 and "part_checksums" in r.json["errors"]
    plan = client.post(start, json={"part_size": 5 * MIB, "part_checksums": crcs}, headers=bearer(key)).json
    assert [p["headers"] for p in plan["parts"]] == [{CRC32_HEADER: c} for c in crcs]
    first = plan["parts"][0]
    etags = [{"part_number": 1, "etag": put_part(app, client, first["url"], data[:5 * MIB], first["headers"])}]
    again = client.post(start, json={"part_size": 5 * MIB, "part_checksums": crcs}, headers=bearer(key)).json
    assert again["upload_id"] == plan["upload_id"] and [p["part_number"] for p in again["received"]] == [1]
    paged = client.get(start + "?first=2&count=2", headers=bearer(key)).json
    assert [p["headers"] for p in paged["parts"]] == [{CRC32_HEADER: c} for c in crcs[1:]]
    for p in paged["parts"]:
        etags.append({"part_number": p["part_number"], "etag": put_part(app, client, p["url"], data[p["offset"]:p["offset"] + p["size"]], p["headers"])})
    r = client.post(start + "/complete", json={"parts": etags}, headers=bearer(key))
    assert r.status_code == 200, r.json
    assert publish(client, key, v["id"])["status"] == "published"
    assert client.get(f"/api/v1/versions/{v['id']}/files").json[0]["sha256"] == hashlib.sha256(data).hexdigest()


def test_new_part_checksums_start_a_new_upload(app, client, vendor, store):
    key = vendor.keys["owner"]
    data = os.urandom(6 * MIB)
    ds = create_dataset(client, key)
    v = create_version(client, key, ds["id"])
    f = declare(client, key, v["id"], "big.bin", data).json
    start = f"/api/v1/files/{f['id']}/multipart"
    old = client.post(start, json={"part_size": 5 * MIB, "part_checksums": [crc32_b64(b"a"), crc32_b64(b"b")]}, headers=bearer(key)).json
    new = client.post(start, json={"part_size": 5 * MIB, "part_checksums": [crc32_b64(data[:5 * MIB]), crc32_b64(data[5 * MIB:])]}, headers=bearer(key)).json
    assert new["upload_id"] != old["upload_id"]
    open_ids = {u.upload_id for u in store.list_multipart_uploads("staging/")}
    assert new["upload_id"] in open_ids and old["upload_id"] not in open_ids
    plain = client.post(start, json={"part_size": 5 * MIB}, headers=bearer(key)).json  # and back to unchecked parts
    assert plain["upload_id"] != new["upload_id"] and all(p["headers"] == {} for p in plain["parts"])
    assert client.delete(start, headers=bearer(key)).status_code == 200


def test_missing_parts_named_then_abort_leaves_nothing(app, client, vendor, store):
    key = vendor.keys["owner"]
    data = b"a" * (11 * MIB)
    ds = create_dataset(client, key)
    v = create_version(client, key, ds["id"])
    f = declare(client, key, v["id"], "big.bin", data).json
    plan, etags = _multipart(app, client, key, f["id"], data, 5 * MIB, skip={2})
    r = client.post(f"/api/v1/files/{f['id']}/multipart/complete", json={"parts": etags}, headers=bearer(key))
    assert r.status_code == 400 and r.json["missing_parts"] == [2]
    assert client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(key)).status_code == 409
    assert client.delete(f"/api/v1/files/{f['id']}/multipart", headers=bearer(key)).status_code == 200
    assert [u for u in store.list_multipart_uploads("staging/") if u.upload_id == plan["upload_id"]] == []


def test_truncated_upload_is_discarded(app, client, vendor, store):
    key = vendor.keys["owner"]
    data = b"b" * (6 * MIB)
    ds = create_dataset(client, key)
    v = create_version(client, key, ds["id"])
    f = declare(client, key, v["id"], "big.bin", data).json
    plan, etags = _multipart(app, client, key, f["id"], data, 5 * MIB, tamper=2)
    r = client.post(f"/api/v1/files/{f['id']}/multipart/complete", json={"parts": etags}, headers=bearer(key))
    assert r.status_code == 400 and "size" in r.json["errors"]
    assert [u for u in store.list_multipart_uploads("staging/") if u.upload_id == plan["upload_id"]] == []
    files = client.get(f"/api/v1/versions/{v['id']}/files", headers=bearer(key)).json
    assert files[0]["status"] == "pending" and "declared" in files[0]["failure_reason"]


def test_too_many_parts_and_bad_part_sizes(app, client, vendor):
    key = vendor.keys["owner"]
    ds = create_dataset(client, key)
    v = create_version(client, key, ds["id"])
    f = declare(client, key, v["id"], "huge.bin", b"", size=60 * 1024**3, sha256="a" * 64).json
    r = client.post(f"/api/v1/files/{f['id']}/multipart", json={"part_size": 5 * MIB}, headers=bearer(key))
    assert r.status_code == 400 and "part_size" in r.json["errors"] and "10000" in r.json["errors"]["part_size"][0]
    assert client.post(f"/api/v1/files/{f['id']}/multipart", json={"part_size": 1024}, headers=bearer(key)).status_code == 400
    r = client.post(f"/api/v1/files/{f['id']}/multipart", json={}, headers=bearer(key))
    assert r.status_code == 201 and r.json["part_count"] <= 10000
    r = client.post(f"/api/v1/files/{f['id']}/multipart/complete", json={"parts": [{"part_number": n, "etag": "x"} for n in range(1, 10001)]}, headers=bearer(key))
    assert r.status_code == 400
    assert client.delete(f"/api/v1/files/{f['id']}/multipart", headers=bearer(key)).status_code == 200


def test_small_upload_limit_points_to_multipart(app, client, vendor):
    key = vendor.keys["owner"]
    ds = create_dataset(client, key)
    v = create_version(client, key, ds["id"])
    size = app.config["SETTINGS"].max_upload_bytes + 1
    f = declare(client, key, v["id"], "big.bin", b"", size=size, sha256="b" * 64).json
    r = client.put(f"/api/v1/files/{f['id']}/content", data=b"x" * 10, headers=dict(bearer(key), **{"Content-Type": "application/octet-stream"}))
    assert r.status_code == 413 and "multipart" in r.json["detail"]


def test_manifest_declares_utterances_of_media_files(app, client, vendor):
    from tests.catalog.helpers import _wav

    key = vendor.keys["owner"]
    manifest = (b'{"audio": "clips/a.wav", "start": 0, "end": 0.5, "text": "hello"}\n'
                b'{"audio": "clips/a.wav", "start": 0.5, "end": 1.0, "text": "world"}\n'
                b'{"audio": "b.wav", "text": "relative to the manifest folder"}\n'
                b'{"text": "a line that names no media file is not a segment"}\n')
    _, v = published_dataset(client, key, {"clips/a.wav": _wav(1.0), "clips/b.wav": _wav(0.5), "clips/c.wav": _wav(0.2), "clips/manifest.jsonl": manifest},
                             domain="speech-audio", modalities=["audio"])
    files = {f["path"]: f for f in client.get(f"/api/v1/versions/{v['id']}/files").json}
    assert files["clips/a.wav"]["records"] == 2 and files["clips/b.wav"]["records"] == 1 and files["clips/c.wav"]["records"] == 1
    assert files["clips/a.wav"]["stats"]["sample_rate"] == 48000
    assert v["total_records"] == 4  # 2 + 1 + 1 segments; the manifest's own lines are not counted twice
