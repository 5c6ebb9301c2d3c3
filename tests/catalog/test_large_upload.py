"""A large file through presigned multipart upload to the S3 server, verified by ingest, while
the service's memory stays flat (it never holds the file)."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import pytest

from tests.catalog.helpers import create_dataset, create_version, publish, put_part
from tests.factories import bearer, make_tenant

MIB = 1024 * 1024
SIZE = int(os.environ.get("MARKETPLACE_TEST_LARGE_MIB", "1024")) * MIB
PART = 8 * MIB
LINE = b'{"scene": "intersection", "lidar_points": 120000, "label": "pedestrian", "pad": "' + b"p" * 900 + b'"}\n'


TAIL = SIZE % len(LINE)  # the last line would be cut here: it is blank padding instead, so the file stays valid JSONL


def part_bytes(n: int) -> bytes:
    """Part n (1-based) of a deterministic JSONL file of SIZE bytes, made on demand."""
    start = (n - 1) * PART
    length = min(PART, SIZE - start)
    reps = (start % len(LINE) + length) // len(LINE) + 2
    data = (LINE * reps)[start % len(LINE): start % len(LINE) + length]
    pad_from = SIZE - TAIL  # where the padding line starts, in file offsets
    if TAIL and start + length > pad_from:
        cut = max(0, pad_from - start)
        pad = (b" " * (TAIL - 1) + b"\n")[max(0, start - pad_from):]
        data = data[:cut] + pad[: length - cut]
    return data


def rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class PeakRss(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = rss()
        self.stop = False

    def run(self) -> None:
        while not self.stop:
            self.peak = max(self.peak, rss())
            time.sleep(0.02)


@pytest.mark.postgres_only
def test_large_file_publishes_with_flat_memory(app, backend, client, store):
    t = make_tenant(vendor=True)
    key = t.keys["owner"]
    h = hashlib.sha256()
    parts = (SIZE + PART - 1) // PART
    for n in range(1, parts + 1):
        h.update(part_bytes(n))
    digest = h.hexdigest()
    records = SIZE // len(LINE)

    ds = create_dataset(client, key, domain="autonomous-driving", slug="drive-logs")
    v = create_version(client, key, ds["id"])
    f = client.post(f"/api/v1/versions/{v['id']}/files", json={"path": "logs/drive.jsonl", "size": SIZE, "sha256": digest}, headers=bearer(key)).json

    baseline = rss()
    watcher = PeakRss()
    watcher.start()
    try:
        plan = client.post(f"/api/v1/files/{f['id']}/multipart", json={"part_size": PART}, headers=bearer(key)).json
        assert plan["part_count"] == parts
        etags, first = [], 1
        while first <= parts:
            page = client.get(f"/api/v1/files/{f['id']}/multipart?first={first}&count=100", headers=bearer(key)).json
            for p in page["parts"]:
                etags.append({"part_number": p["part_number"], "etag": put_part(app, client, p["url"], part_bytes(p["part_number"]))})
            first += len(page["parts"])
        r = client.post(f"/api/v1/files/{f['id']}/multipart/complete", json={"parts": etags}, headers=bearer(key))
        assert r.status_code == 200, r.json
        res = publish(client, key, v["id"])
    finally:
        watcher.stop = True
        watcher.join()
    assert res["status"] == "published", res
    got = client.get(f"/api/v1/versions/{v['id']}/files").json[0]
    assert got["sha256"] == digest and got["size"] == SIZE and got["records"] == records
    growth = watcher.peak - baseline
    # The file is SIZE bytes; the process may hold a part being sent and an 8 MiB read buffer.
    assert growth < 96 * MIB, f"memory grew by {growth / MIB:.0f} MiB while a {SIZE / MIB:.0f} MiB file passed through"
    assert [u for u in store.list_multipart_uploads("staging/") if u.key == f"staging/{f['id']}"] == []
