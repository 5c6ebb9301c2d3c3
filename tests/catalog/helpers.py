"""Helpers that drive the catalogue API as a vendor's client would."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import random
import struct
from typing import Any
from urllib.parse import urlparse

import requests

from tests.factories import bearer, make_key, make_org, make_tenant, make_user


def create_dataset(client, key: str, **over: Any) -> dict:
    body = {"slug": over.pop("slug", "ds-" + hashlib.sha1(str(over).encode() + __import__("os").urandom(4)).hexdigest()[:8]),
            "title": "Clinical dialogue corpus", "domain": "healthcare", "summary": "Doctor-patient conversations",
            "modalities": ["text"], "languages": ["en"], "tags": ["medical"], "visibility": "listed"}
    body.update(over)
    r = client.post("/api/v1/datasets", json=body, headers=bearer(key))
    assert r.status_code == 201, r.json
    return r.json


def create_version(client, key: str, dataset_id: str, version: str = "1.0.0") -> dict:
    r = client.post(f"/api/v1/datasets/{dataset_id}/versions", json={"version": version, "changelog": "First release"}, headers=bearer(key))
    assert r.status_code == 201, r.json
    return r.json


def declare(client, key: str, version_id: str, path: str, data: bytes, *, sha256: str | None = None, size: int | None = None, **extra: Any):
    return client.post(f"/api/v1/versions/{version_id}/files", json=dict(path=path, size=len(data) if size is None else size,
                       sha256=sha256 or hashlib.sha256(data).hexdigest(), **extra), headers=bearer(key))


def upload_small(client, key: str, version_id: str, path: str, data: bytes, **kw: Any) -> dict:
    r = declare(client, key, version_id, path, data, **kw)
    assert r.status_code == 201, r.json
    if not r.json["already_stored"]:
        up = client.put(f"/api/v1/files/{r.json['id']}/content", data=data, headers=dict(bearer(key), **{"Content-Type": "application/octet-stream"}))
        assert up.status_code == 200, up.json
    return r.json


def put_part(app, client, url: str, data, headers: dict[str, str] | None = None) -> str:
    """PUT bytes to a presigned part URL: the S3 server over HTTP, or this app's signed fs URL."""
    public = app.config["SETTINGS"].public_url
    if url.startswith(public):
        r = client.put(urlparse(url).path, data=data, headers=headers or {})
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.headers["ETag"].strip('"')
    r = requests.put(url, data=data, headers=headers or {}, timeout=120)
    assert r.status_code == 200, r.text
    return r.headers["ETag"].strip('"')


def ensure_licensed(client, key: str, version_id: str, license: str = "CC-BY-4.0") -> None:
    """Publishing needs a licence and an attested provenance declaration; give the defaults a
    first-hand CC-BY dataset would have, unless the test set its own."""
    h = bearer(key)
    if client.get(f"/api/v1/versions/{version_id}/license", headers=h).status_code == 404:
        assert client.put(f"/api/v1/versions/{version_id}/license", json={"identifier": license}, headers=h).status_code == 200
    if client.get(f"/api/v1/versions/{version_id}/provenance", headers=h).status_code == 404:
        r = client.put(f"/api/v1/versions/{version_id}/provenance", headers=h, json={
            "sources": [{"kind": "first_hand", "name": "Collected by the vendor"}], "personal_data": {"status": "none"}, "attest": True})
        assert r.status_code == 201, r.json


def wait_while_processing(client, key: str, version_id: str, timeout: float) -> str:
    """Poll a version handed to a worker until it leaves `processing` (or time runs out)."""
    import time

    deadline = time.time() + timeout
    status = "processing"
    while time.time() < deadline and status == "processing":
        time.sleep(0.2)
        status = client.get(f"/api/v1/versions/{version_id}", headers=bearer(key)).json["status"]
    return status


def publish(client, key: str, version_id: str) -> dict:
    ensure_licensed(client, key, version_id)
    r = client.post(f"/api/v1/versions/{version_id}/publish", headers=bearer(key))
    assert r.status_code == 202, r.json
    return r.json


def published_dataset(client, key: str, files: dict[str, bytes], **over: Any) -> tuple[dict, dict]:
    ds = create_dataset(client, key, **over)
    v = create_version(client, key, ds["id"])
    for path, data in files.items():
        upload_small(client, key, v["id"], path, data)
    v = publish(client, key, v["id"])
    assert v["status"] == "published", v
    return ds, v


def _wav(seconds: float, rate: int = 48000, channels: int = 2) -> bytes:
    frames = int(seconds * rate)
    data = b"\x00\x00" * frames * channels
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2, channels * 2, 16)
    return b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data)) + data


# --------------------------------------------------------------------------- gated access

QUESTIONS = [
    {"name": "purpose", "label": "What will you use it for?", "type": "text", "max_length": 300},
    {"name": "sector", "type": "select", "options": ["hospital", "research", "industry"]},
    {"name": "country", "type": "country"},
    {"name": "start", "type": "date", "required": False},
    {"name": "dua", "label": "Data use agreement", "type": "checkbox", "terms": "We will not try to re-identify any patient."},
]
GOOD = {"purpose": "=HYPERLINK(\"http://x\") clinical NLP", "sector": "research", "country": "de", "start": "2027-01-31", "dua": True}


def gated(client, **gate):
    """A vendor, a buyer, a published dataset of the vendor gated with QUESTIONS, and its file id."""
    vendor, buyer = make_tenant(vendor=True), make_tenant()
    ds, v = published_dataset(client, vendor.keys["owner"], {"notes.jsonl": b'{"note": "patient A"}\n' * 5})
    body = {"samples": True, "private_offers": True, "questions": QUESTIONS, "response_days": 3, "instructions": "Hospitals and universities."}
    body.update(gate)
    r = client.put(f"/api/v1/datasets/{ds['id']}/access-gate", json=body, headers=bearer(vendor.keys["owner"]))
    assert r.status_code == 200, r.json
    files = client.get(f"/api/v1/versions/{v['id']}/files", headers=bearer(vendor.keys["owner"])).json
    return vendor, buyer, ds, files[0]["id"]


def ask(client, tenant, ds, answers=GOOD, role="member"):
    """Ask for access for `tenant`'s organisation, as its `role`."""
    return client.post(f"/api/v1/datasets/{ds['id']}/access-requests", json={"org_id": str(tenant.org.id), "answers": answers}, headers=bearer(tenant.keys[role]))


# --------------------------------------------------------------------------- overlap corpora

WORDS = ("patient reports chest pain radiating left arm since morning doctor orders ecg troponin aspirin given history of hypertension "
         "diabetes smoker denies fever cough nausea vomiting shortness breath clinic follow week review results medication dose").split()
CJK = "患者主诉胸痛向左臂放射自今晨起医生安排心电图检查肌钙蛋白阿司匹林高血压糖尿病吸烟史否认发热咳嗽恶心呕吐气短门诊随访"


def corpus(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        text = " ".join(rng.choice(WORDS) for _ in range(40))
        zh = "".join(rng.choice(CJK) for _ in range(30))
        out.append({"id": f"rec-{seed}-{i}", "text": text, "zh": zh, "label": rng.choice(["a", "b"])})
    return out


def jsonl(records: list[dict]) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in records)


def as_csv(records: list[dict], rename: dict[str, str]) -> bytes:
    buf = io.StringIO()
    cols = ["zh", "text", "id"]  # reordered, renamed below
    w = csv.writer(buf)
    w.writerow([rename.get(c, c) for c in cols])
    for r in records:
        w.writerow([r[c] for c in cols])
    return buf.getvalue().encode()


def launder(records: list[dict], edited: float, seed: int) -> list[dict]:
    """Another vendor's relisting: new ids, shuffled, `edited` of the records lightly edited
    (two words changed), the rest with case and width changed (undone by normalisation)."""
    rng = random.Random(seed)
    out = []
    for i, r in enumerate(records):
        words = r["text"].split()
        if i < int(len(records) * edited):
            for k in (5, 25):
                words[k] = "edited"
            text = " ".join(words)
        else:
            text = r["text"].upper().replace("A", "Ａ")  # fullwidth A: NFKC folds it back
        out.append({"id": f"relisted-{i}", "text": text, "zh": r["zh"], "label": r["label"]})
    rng.shuffle(out)
    return out


def publish_with(client, key: str, files: dict[str, bytes], *, fields: list[str] | None = None, **over):
    """Create, upload, choose the overlap text fields (optionally) and publish; returns (dataset, version) as ingest left it."""
    ds = create_dataset(client, key, **over)
    v = create_version(client, key, ds["id"])
    for path, data in files.items():
        upload_small(client, key, v["id"], path, data)
    if fields is not None:
        r = client.put(f"/api/v1/versions/{v['id']}/overlap/text-fields", json={"fields": fields}, headers=bearer(key))
        assert r.status_code == 200, r.json
    ensure_licensed(client, key, v["id"])
    r = client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(key))
    assert r.status_code == 202, r.json
    return ds, r.json


def officer_key() -> str:
    """A platform compliance officer's API key."""
    officer = make_user(platform_compliance=True)
    return make_key(officer, make_org(officer))


def set_overlap_threshold(app, monkeypatch, share: float) -> None:
    """The platform's overlap hold threshold, for one test."""
    monkeypatch.setitem(app.config, "SETTINGS", dataclasses.replace(app.config["SETTINGS"], overlap_block_share=share))
