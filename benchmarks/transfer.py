"""CLI/SDK upload and download of a 1 GiB file against the S3 server, next to boto3's transfer
manager moving the same bytes in the same run (same part size, same concurrency). Ours also
hashes the file before upload (SHA-256, and a CRC-32 per part, as boto3 sends) and verifies the
SHA-256 of the download. Prints JSON.
Usage: python benchmarks/transfer.py [MiB] [workers]"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import emit, make_app

MIB = 1024 * 1024


def main() -> None:
    size_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    tmp = Path(tempfile.mkdtemp(prefix="bench-transfer-"))
    app = make_app(tmp)
    settings = app.config["SETTINGS"]
    from werkzeug.serving import make_server

    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_port}"
    src = tmp / "payload.bin"
    block = os.urandom(MIB)
    with open(src, "wb") as f:
        for _ in range(size_mib):
            f.write(block)

    from urllib.parse import parse_qs, urlparse

    import boto3
    from boto3.s3.transfer import TransferConfig

    from marketplace.sdk.client import MarketplaceClient
    from marketplace.sdk.transfer import download, upload
    from tests.catalog.helpers import create_dataset, create_version, ensure_licensed, publish
    from tests.commerce.helpers import market, order
    from tests.factories import bearer

    u = urlparse(settings.storage_url)
    bucket, endpoint = u.netloc, parse_qs(u.query)["endpoint_url"][0]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    cfg = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=16 * MIB, max_concurrency=workers)

    with app.app_context():
        client = app.test_client()
        vendor, buyer = market()
        ds = create_dataset(client, vendor.keys["owner"])
        v = create_version(client, vendor.keys["owner"], ds["id"])
        app.extensions["db"].remove()

    runs = 3
    times: dict[str, list[float]] = {"boto3_upload_s": [], "cli_upload_s": [], "boto3_download_s": [], "cli_download_s": []}
    sdk = MarketplaceClient(base, vendor.keys["owner"])
    for i in range(runs):
        with open(src, "r+b") as f:  # new content each run, so nothing is deduplicated
            f.write(os.urandom(MIB))
        t = time.perf_counter()
        s3.upload_file(str(src), bucket, f"bench/boto3-upload-{i}.bin", Config=cfg)
        times["boto3_upload_s"].append(time.perf_counter() - t)
        t = time.perf_counter()
        upload(sdk, v["id"], src, f"payload-{i}.bin", workers=workers, part_size=16 * MIB)
        times["cli_upload_s"].append(time.perf_counter() - t)

    with app.app_context():
        client = app.test_client()
        ensure_licensed(client, vendor.keys["owner"], v["id"])
        publish(client, vendor.keys["owner"], v["id"])
        offer = client.post(f"/api/v1/datasets/{ds['id']}/offers", json={"title": "t", "license": "CC-BY-4.0", "pricing_unit": "downloads",
                                                                       "unit_price_minor": 1, "currency": "EUR"}, headers=bearer(vendor.keys["owner"])).json
        o = order(client, buyer.keys["owner"], offer, quantity=10).json
        gid = client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vendor.keys["owner"])).json["grant_id"]
        blob = client.get(f"/api/v1/versions/{v['id']}/files").json[0]["sha256"]
        app.extensions["db"].remove()
    key = f"blobs/sha256/{blob[:2]}/{blob[2:4]}/{blob}"
    import shutil

    buyer_sdk = MarketplaceClient(base, buyer.keys["owner"])
    for _ in range(runs):
        t = time.perf_counter()
        s3.download_file(bucket, key, str(tmp / "boto3-download.bin"), Config=cfg)
        times["boto3_download_s"].append(time.perf_counter() - t)
        shutil.rmtree(tmp / "dl", ignore_errors=True)
        t = time.perf_counter()
        download(buyer_sdk, gid, tmp / "dl", paths=["payload-0.bin"], workers=workers, chunk=16 * MIB)
        times["cli_download_s"].append(time.perf_counter() - t)
    srv.shutdown()
    results = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    blob = None

    mib = size_mib
    emit("transfer", {
        "s3_server": "seaweedfs" if os.environ.get("BENCH_S3") == "seaweedfs" else "moto", "object_mib": mib, "workers": workers, "part_mib": 16,
        "boto3_upload_mib_s": round(mib / results["boto3_upload_s"], 1), "cli_upload_mib_s": round(mib / results["cli_upload_s"], 1),
        "upload_ratio": round(results["boto3_upload_s"] / results["cli_upload_s"], 3),
        "boto3_download_mib_s": round(mib / results["boto3_download_s"], 1), "cli_download_mib_s": round(mib / results["cli_download_s"], 1),
        "download_ratio": round(results["boto3_download_s"] / results["cli_download_s"], 3),
        "target_ratio": 0.9,
        "runs": runs, "median_of": "runs", "seconds_each_run": {k: [round(x, 2) for x in v] for k, v in times.items()},
        "note": "ours includes SHA-256 + per-part CRC-32 of the file before upload (boto3 sends CRC-32s too) and the SHA-256 check of the download (overlapped with it)",
    })


if __name__ == "__main__":
    main()
