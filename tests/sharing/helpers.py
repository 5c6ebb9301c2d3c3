"""Helpers for Delta Sharing tests: a bought grant with tabular files, and its profile."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

from tests.delivery.helpers import buy
from tests.factories import Tenant, bearer, make_tenant

JSONL_A = b"".join(json.dumps({"id": i, "text": f"\u75c5\u5386 {i}", "score": i / 4, "tags": ["a", "b"][: i % 3]}, ensure_ascii=False).encode() + b"\n"
                   for i in range(40))
JSONL_B = b"".join(json.dumps({"id": 100 + i, "text": f"note {i}", "score": 1.5, "tags": []}).encode() + b"\n" for i in range(25))
CSV = b"code,label\nA01,cholera\nB20,\"HIV, disease\"\nC00,NA\n"
TABLE_FILES = {"data/train.jsonl": JSONL_A, "data/test.jsonl": JSONL_B, "codes.csv": CSV, "README.md": b"# notes\n"}


def bought(*, quantity: int = 1000, unit: str = "records", files: dict[str, bytes] = TABLE_FILES, **offer: Any) -> tuple[Tenant, Tenant, Any, str]:
    vendor, buyer = make_tenant(vendor=True), make_tenant()
    pub, gid = buy(vendor, buyer, files=files, unit=unit, quantity=quantity, **offer)
    return vendor, buyer, pub, gid


def make_profile(base: str, key: str, gid: str, tmp: Path, **body: Any) -> tuple[Path, dict[str, Any]]:
    r = requests.post(f"{base}/api/v1/grants/{gid}/share-tokens", json=body, headers=bearer(key), timeout=30)
    assert r.status_code == 201, r.text
    made = r.json()
    path = tmp / f"{made['id']}.share"
    path.write_text(json.dumps(made["profile"]))
    return path, made


def call(base: str, token: str, path: str, method: str = "GET", **kw: Any) -> requests.Response:
    return requests.request(method, f"{base}/delta-sharing{path}", headers={"Authorization": f"Bearer {token}", **kw.pop("headers", {})}, timeout=30, **kw)


def balance(base: str, key: str, gid: str) -> int:
    return requests.get(f"{base}/api/v1/grants/{gid}", headers=bearer(key), timeout=30).json()["balance"]
