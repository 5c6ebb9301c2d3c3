"""Abuse cases beyond the fuzzer: URLs in provenance are recorded and never fetched, and a
decompression bomb in a Parquet file cannot blow up the preview."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import textwrap
import threading

from tests.catalog.helpers import create_dataset, create_version, publish, upload_small
from tests.factories import bearer, make_tenant


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _Counter.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    do_HEAD = do_POST = do_GET

    def log_message(self, *args) -> None:  # quiet
        pass


def test_urls_in_provenance_are_never_fetched(app, client):
    """Every URL a vendor declares points at a server we watch; declaring, evaluating, exporting,
    reporting, publishing and showing the dataset make no request to it (no SSRF)."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    _Counter.hits = []
    try:
        vendor = make_tenant(vendor=True)
        key = vendor.keys["owner"]
        ds = create_dataset(client, key, card_markdown=f"![logo]({base}/card-image.png) [source]({base}/card-link)")
        v = create_version(client, key, ds["id"])
        upload_small(client, key, v["id"], "a.jsonl", b'{"x": 1}\n')
        h = bearer(key)
        assert client.put(f"/api/v1/versions/{v['id']}/license", json={"identifier": "CC-BY-4.0"}, headers=h).status_code == 200
        body = {"sources": [{"kind": "external", "name": "Mirror", "url": f"{base}/dataset", "license": "CC-BY-4.0"}],
                "personal_data": {"status": "none"}, "annotation": {"guidelines_url": f"{base}/guidelines"}, "attest": True}
        assert client.put(f"/api/v1/versions/{v['id']}/provenance", json=body, headers=h).status_code == 201
        assert client.get(f"/api/v1/versions/{v['id']}/compatibility", headers=h).status_code == 200
        publish(client, key, v["id"])
        for path in ("notice", "croissant", "prov", "spdx", "report", "report?format=html"):
            assert client.get(f"/api/v1/versions/{v['id']}/{path}", headers=h).status_code == 200, path
        assert client.get(f"/datasets/{ds['id']}").status_code == 200
        assert client.post("/api/v1/licenses/normalise", json={"text": f"{base}/licence.txt"}, headers=h).status_code == 200
    finally:
        srv.shutdown()
    assert _Counter.hits == []


BOMB = textwrap.dedent("""
    import sys, pyarrow as pa, pyarrow.parquet as pq
    rows = 40_000_000  # 320 MB of int64 zeros, a few hundred kB compressed
    pq.write_table(pa.table({"z": pa.array([0] * 1, pa.int64()).take(pa.array([0] * rows))}), sys.argv[1], compression="zstd", row_group_size=rows)
""")

ANALYSE = textwrap.dedent("""
    import json, resource, sys
    import pyarrow.parquet  # loaded before measuring: only the analysis's own memory counts
    from catalog.analysis import Analysis, analyse_parquet
    path = sys.argv[1]
    data = open(path, "rb").read()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    a = Analysis()
    analyse_parquet(lambda start, length: data[start:start + length], len(data), a)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(json.dumps({"records": a.records, "preview": a.preview, "problems": a.problems, "grown_kib": grown, "size": len(data)}))
""")


def test_parquet_decompression_bomb_previews_a_few_rows_in_little_memory(tmp_path):
    """320 MB of values that run-length encoding stores in ~150 kB (and whose metadata says so):
    the preview decodes 20 rows, not the row group."""
    path = tmp_path / "bomb.parquet"
    subprocess.run([sys.executable, "-c", BOMB, str(path)], check=True)
    assert path.stat().st_size < 5 * 1024 * 1024  # the compressed file is small
    out = subprocess.run([sys.executable, "-c", ANALYSE, str(path)], check=True, capture_output=True, text=True)
    res = json.loads(out.stdout)
    assert res["records"] == 40_000_000 and res["preview"] == [{"z": 0}] * 20 and res["problems"] == []
    assert res["grown_kib"] < 64 * 1024, res  # inflating the row group would take 320 MB
