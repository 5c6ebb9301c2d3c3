"""A multi-GiB file (default 2 GiB) through presigned multipart upload and ingest, with the
service's resident memory sampled throughout. The service never holds the file, so its memory
should stay flat whatever the size. Prints JSON.
Usage: python benchmarks/large_upload.py [MiB]   (needs TEST_S3_ENDPOINT: run via `make bench`)
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import time
from pathlib import Path

import requests
from common import PeakRss, emit, make_app

MIB = 1024 * 1024
PART = 64 * MIB


def main() -> None:
    size = (int(sys.argv[1]) if len(sys.argv) > 1 else 2048) * MIB
    app = make_app(Path(tempfile.mkdtemp(prefix="bench-large-")))
    from tests.factories import bearer, make_tenant

    with app.app_context():
        t = make_tenant(vendor=True)
    key = t.keys["owner"]
    client = app.test_client()
    line = b'{"utterance": "' + b"u" * 1000 + b'", "speaker": 7}\n'
    block = (line * (PART // len(line) + 2))

    def part(n: int) -> bytes:
        start = (n - 1) * PART
        off = start % len(line)
        return block[off: off + min(PART, size - start)]

    parts = (size + PART - 1) // PART
    h = hashlib.sha256()
    for n in range(1, parts + 1):
        h.update(part(n))
    h_ = h.hexdigest()

    ds = client.post("/api/v1/datasets", json={"slug": "big", "title": "Big speech corpus", "domain": "speech-audio", "visibility": "listed"}, headers=bearer(key)).json
    v = client.post(f"/api/v1/datasets/{ds['id']}/versions", json={"version": "1"}, headers=bearer(key)).json
    f = client.post(f"/api/v1/versions/{v['id']}/files", json={"path": "all.jsonl", "size": size, "sha256": h_}, headers=bearer(key)).json
    with PeakRss() as memory:  # sampled through the upload and the ingest
        t0 = time.perf_counter()
        plan = client.post(f"/api/v1/files/{f['id']}/multipart", json={"part_size": PART}, headers=bearer(key)).json
        session = requests.Session()
        etags = []
        for p in plan["parts"]:
            r = session.put(p["url"], data=part(p["part_number"]), timeout=300)
            r.raise_for_status()
            etags.append({"part_number": p["part_number"], "etag": r.headers["ETag"].strip('"')})
        assert client.post(f"/api/v1/files/{f['id']}/multipart/complete", json={"parts": etags}, headers=bearer(key)).status_code == 200
        t1 = time.perf_counter()
        from tests.catalog.helpers import ensure_licensed

        ensure_licensed(client, key, v["id"])
        res = client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(key)).json
        t2 = time.perf_counter()
    got = client.get(f"/api/v1/versions/{v['id']}/files", headers=bearer(key)).json[0]
    emit("large_upload", {
        "size_mib": size // MIB,
        "status": res["status"],
        "digest_ok": got["sha256"] == h_,
        "records": got["records"],
        "upload_mib_s": round(size / MIB / (t1 - t0), 1),
        "ingest_and_publish_s": round(t2 - t1, 2),
        "service_rss_baseline_mib": round(memory.baseline / MIB),
        "service_rss_peak_growth_mib": round((memory.peak - memory.baseline) / MIB),
        "note": "the client and the service share this process; growth includes one 64 MiB part being sent",
    })


if __name__ == "__main__":
    main()
