"""Soak: a mixed workload against gunicorn, PostgreSQL and the S3 server for a configurable time.

Mix (by weight): catalogue search 40, download authorisation 30, record streaming 20, audit
queries 10. Every window reports throughput, errors, p50 and p99 per operation and overall, and
the server's resident memory (gunicorn master + workers). The summary compares the first and
last windows, so drift (latency creeping up, memory growing) is visible. Prints JSON.

Usage: python benchmarks/soak [seconds=120] [client-threads=16] [window-seconds=10] [requests-per-second=0]
(a rate above 0 paces the clients to that total: [R2 3/11] soaks at half of P1's measured rate)
(`make soak SOAK_SECONDS=600` starts PostgreSQL and the S3 server first.)"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402
from common import emit, make_app, wait_healthy  # noqa: E402

FILES = 50
RECORDS_PER_FILE = 2000
WORDS = ["clinical", "speech", "contracts", "radiology", "lidar", "invoices", "dialogue", "court", "finance", "driving", "nordic", "ecg"]
MIX = [("search", 40), ("authorize", 30), ("records", 20), ("audit", 10)]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_rss_kib(pid: int) -> int:
    """Resident memory of the gunicorn master and its workers."""
    total = 0
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def setup(app):  # type: ignore[no-untyped-def]
    from tests.catalog.helpers import create_dataset, create_version, declare, ensure_licensed, publish
    from tests.commerce.helpers import market, order
    from tests.factories import bearer

    with app.app_context():
        client = app.test_client()
        vendor, buyer = market()
        vk = vendor.keys["owner"]
        for i in range(200):  # a catalogue to search
            create_dataset(client, vk, title=f"{random.choice(WORDS).title()} {random.choice(WORDS)} corpus {i}", summary=" ".join(random.sample(WORDS, 4)))
        ds = create_dataset(client, vk, title="Soak corpus")
        v = create_version(client, vk, ds["id"])
        for i in range(FILES):
            data = b"".join(b'{"n": %d, "text": "record %d of shard %d"}\n' % (j, j, i) for j in range(RECORDS_PER_FILE))
            f = declare(client, vk, v["id"], f"shard-{i:03d}.jsonl", data).json
            client.put(f"/api/v1/files/{f['id']}/content", data=data, headers=dict(bearer(vk), **{"Content-Type": "application/octet-stream"}))
        ensure_licensed(client, vk, v["id"])
        publish(client, vk, v["id"])
        offer = client.post(f"/api/v1/datasets/{ds['id']}/offers", json={"title": "t", "license": "CC-BY-4.0", "pricing_unit": "records",
                                                                       "unit_price_minor": 1, "currency": "EUR"}, headers=bearer(vk)).json
        o = order(client, buyer.keys["owner"], offer, quantity=10**9).json  # within the order limit
        assert "id" in o, o
        gid = client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vk)).json["grant_id"]
        return {"grant": gid, "buyer_key": buyer.keys["member"], "auditor_key": buyer.keys["auditor"], "buyer_org": str(buyer.org.id)}


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 120.0
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    window = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
    rate = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    tmp = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    app = make_app(tmp)
    settings = app.config["SETTINGS"]
    ctx = setup(app)
    port = free_port()
    env = dict(os.environ, MARKETPLACE_DATABASE_URL=settings.database_url, MARKETPLACE_STORAGE_URL=settings.storage_url,
               MARKETPLACE_SECRET_KEY=settings.secret_key, MARKETPLACE_INSTANCE_PATH=str(tmp), MARKETPLACE_LOG_LEVEL="WARNING",
               MARKETPLACE_RESUME_WINDOW="1", MARKETPLACE_PUBLIC_URL=f"http://127.0.0.1:{port}", MARKETPLACE_AUTH_FAILURE_RATE_LIMIT="100000/minute")
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen([gunicorn, "-c", "python:marketplace.app.gunicorn_conf", "-w", "2", "--threads", "8", "-b", f"127.0.0.1:{port}", "marketplace.app:create_app()"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    ops = [name for name, weight in MIX for _ in range(weight)]
    samples: list[tuple[float, str, float, bool]] = []  # (finished at, op, seconds, ok)
    rss: list[tuple[float, int]] = []
    lock = threading.Lock()
    try:
        wait_healthy(base)
        t0 = time.perf_counter()
        stop = t0 + seconds

        def call(s: requests.Session, op: str, rnd: random.Random) -> bool:
            if op == "search":
                r = s.get(base + "/api/v1/datasets", params={"q": rnd.choice(WORDS), "limit": 20}, timeout=30)
            elif op == "authorize":
                r = s.post(base + f"/api/v1/grants/{ctx['grant']}/downloads", json={"paths": [f"shard-{rnd.randrange(FILES):03d}.jsonl"]},
                           headers={"Authorization": f"Bearer {ctx['buyer_key']}"}, timeout=30)
            elif op == "records":
                r = s.get(base + f"/api/v1/grants/{ctx['grant']}/records", params={"path": f"shard-{rnd.randrange(FILES):03d}.jsonl", "limit": 100},
                          headers={"Authorization": f"Bearer {ctx['buyer_key']}"}, timeout=30)
                if r.ok:
                    _ = r.content  # the whole page streams through
            else:
                r = s.get(base + "/api/v1/audit/events", params={"org_id": ctx["buyer_org"], "limit": 50},
                          headers={"Authorization": f"Bearer {ctx['auditor_key']}"}, timeout=30)
            return r.status_code == 200

        def worker(n: int) -> None:
            rnd = random.Random(n)
            s = requests.Session()
            interval = threads / rate if rate > 0 else 0.0
            due = time.perf_counter() + rnd.random() * interval
            while time.perf_counter() < stop:
                if interval:
                    # Paced: each client starts a request every `interval` seconds (open loop,
                    # so a slow server shows as latency, not as a lower offered rate).
                    time.sleep(max(0.0, due - time.perf_counter()))
                    due += interval
                op = rnd.choice(ops)
                t = time.perf_counter()
                try:
                    ok = call(s, op, rnd)
                except requests.RequestException:
                    ok = False
                done = time.perf_counter()
                with lock:
                    samples.append((done - t0, op, done - t, ok))

        def sample_rss() -> None:
            while time.perf_counter() < stop:
                rss.append((time.perf_counter() - t0, server_rss_kib(server.pid)))
                time.sleep(1.0)

        threading.Thread(target=sample_rss, daemon=True).start()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(worker, range(threads)))
    finally:
        server.terminate()
        server.wait(10)

    def stats(rows: list[tuple[float, str, float, bool]], span: float) -> dict[str, float]:
        lat = sorted(r[2] for r in rows)
        if not lat:
            return {"rps": 0, "errors": 0}
        return {"rps": round(len(lat) / span, 1), "errors": sum(1 for r in rows if not r[3]), "p50_ms": round(lat[len(lat) // 2] * 1000, 1),
                "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1)}

    windows = []
    by_window: dict[int, list] = defaultdict(list)
    for row in samples:
        by_window[int(row[0] // window)].append(row)
    for w in sorted(by_window):
        rows = by_window[w]
        mem = [kib for at, kib in rss if w * window <= at < (w + 1) * window]
        windows.append({"from_s": w * window, "all": stats(rows, window), **{op: stats([r for r in rows if r[1] == op], window) for op, _ in MIX},
                        "server_rss_mib": round(max(mem) / 1024, 1) if mem else None})
    full = [w for w in windows if w["from_s"] + window <= seconds] or windows
    first, last = full[0], full[-1]
    emit("soak", {
        "server": "gunicorn -w 2 --threads 8", "database": settings.database_url.split(":")[0], "storage": settings.storage_url.split(":")[0],
        "seconds": seconds, "client_threads": threads, "paced_requests_per_s": rate or None, "mix": dict(MIX), "windows": windows,
        "total": stats(samples, seconds),
        "drift": {"p99_last_vs_first": round(last["all"]["p99_ms"] / first["all"]["p99_ms"], 2) if first["all"].get("p99_ms") else None,
                  "rps_last_vs_first": round(last["all"]["rps"] / first["all"]["rps"], 2) if first["all"]["rps"] else None,
                  "rss_mib_first": first["server_rss_mib"], "rss_mib_last": last["server_rss_mib"]},
    })


if __name__ == "__main__":
    main()
