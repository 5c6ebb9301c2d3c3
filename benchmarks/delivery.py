"""Download authorisations per second over HTTP (gunicorn, PostgreSQL, S3 server), next to a bare
endpoint doing one database round trip (GET /api/v1/domains) on the same server in the same run;
and audit events sealed per second. Prints JSON.
Usage: python benchmarks/delivery.py [seconds-per-case] [client-threads]"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from common import emit, make_app, wait_healthy

FILES = 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    tmp = Path(tempfile.mkdtemp(prefix="bench-delivery-"))
    app = make_app(tmp)
    settings = app.config["SETTINGS"]
    from sqlalchemy import insert

    from marketplace.auditlog.services import seal
    from marketplace.kernel.audit import AuditEvent
    from tests.catalog.helpers import create_dataset, create_version, declare, ensure_licensed, publish
    from tests.commerce.helpers import market, order
    from tests.factories import bearer

    with app.app_context():
        client = app.test_client()
        vendor, buyer = market()
        ds = create_dataset(client, vendor.keys["owner"])
        v = create_version(client, vendor.keys["owner"], ds["id"])
        for i in range(FILES):
            data = b'{"n": %d}\n' % i
            f = declare(client, vendor.keys["owner"], v["id"], f"shard-{i:04d}.jsonl", data).json
            client.put(f"/api/v1/files/{f['id']}/content", data=data, headers=dict(bearer(vendor.keys["owner"]), **{"Content-Type": "application/octet-stream"}))
        ensure_licensed(client, vendor.keys["owner"], v["id"])
        publish(client, vendor.keys["owner"], v["id"])
        offer = client.post(f"/api/v1/datasets/{ds['id']}/offers", json={"title": "t", "license": "CC-BY-4.0", "pricing_unit": "downloads",
                                                                       "unit_price_minor": 1, "currency": "EUR"}, headers=bearer(vendor.keys["owner"])).json
        o = order(client, buyer.keys["owner"], offer, quantity=10**9).json
        gid = client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vendor.keys["owner"])).json["grant_id"]
        key = buyer.keys["member"]

    port = free_port()
    env = dict(os.environ, MARKETPLACE_DATABASE_URL=settings.database_url, MARKETPLACE_STORAGE_URL=settings.storage_url,
               MARKETPLACE_SECRET_KEY=settings.secret_key, MARKETPLACE_INSTANCE_PATH=str(tmp), MARKETPLACE_LOG_LEVEL="WARNING",
               MARKETPLACE_RESUME_WINDOW="1", MARKETPLACE_PUBLIC_URL=f"http://127.0.0.1:{port}")
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen([gunicorn, "-w", "2", "--threads", "8", "-b", f"127.0.0.1:{port}", "marketplace.app:create_app()"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base)
        counter = iter(range(10**12))
        lock = threading.Lock()

        def load(case: str) -> dict[str, float]:
            stop = time.perf_counter() + seconds
            lat: list[float] = []
            errors = [0]

            def worker(_: int) -> None:
                s = requests.Session()
                h = {"Authorization": f"Bearer {key}"}
                while time.perf_counter() < stop:
                    with lock:
                        n = next(counter)
                    t = time.perf_counter()
                    if case == "baseline":
                        r = s.get(base + "/api/v1/domains", timeout=10)
                    elif case == "me":  # authentication alone: what an API key costs
                        r = s.get(base + "/api/v1/me", headers=h, timeout=10)
                    else:
                        r = s.post(base + f"/api/v1/grants/{gid}/downloads", json={"paths": [f"shard-{n % FILES:04d}.jsonl"]}, headers=h, timeout=10)
                    lat.append(time.perf_counter() - t)
                    if r.status_code != 200:
                        errors[0] += 1

            t0 = time.perf_counter()
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(worker, range(threads)))
            wall = time.perf_counter() - t0
            lat.sort()
            return {"rps": round(len(lat) / wall, 1), "p50_ms": round(lat[len(lat) // 2] * 1000, 2), "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 2), "errors": errors[0]}

        base1 = load("baseline")
        auth = load("authorize")
        me = load("me")
        base2 = load("baseline")
    finally:
        server.terminate()
        server.wait(10)

    # sealing throughput: bulk-insert events, then seal them
    with app.app_context():
        db = app.extensions["db"]
        from datetime import datetime, timedelta, timezone

        old = datetime.now(timezone.utc) - timedelta(minutes=5)
        rows = [{"occurred_at": old, "request_id": f"bench-{i}", "action": "bench.event", "outcome": "success", "quantities": {"n": i}, "details": None}
                for i in range(50_000)]
        with db.engine.begin() as conn:
            conn.execute(insert(AuditEvent), rows)
        t = time.perf_counter()
        blocks = seal(grace_seconds=0)
        sealed_s = time.perf_counter() - t
        from sqlalchemy import func, select

        from marketplace.auditlog.models import AuditLeaf
        from marketplace.kernel.db import get_session

        sealed = get_session().scalar(select(func.count()).select_from(AuditLeaf))
    baseline = (base1["rps"] + base2["rps"]) / 2
    emit("delivery", {
        "server": "gunicorn -w 2 --threads 8", "client_threads": threads, "seconds_per_case": seconds,
        "baseline_one_round_trip": {"first": base1, "last": base2},
        "download_authorisation": auth,
        "authorisations_vs_baseline": round(auth["rps"] / baseline, 3),
        "me_with_api_key": me,
        "me_vs_baseline": round(me["rps"] / baseline, 3),
        "target": ">= 0.5",
        "audit_sealing": {"events": sealed, "blocks": len(blocks), "seconds": round(sealed_s, 2), "events_per_s": round(sealed / sealed_s, 1)},
    })


if __name__ == "__main__":
    main()
