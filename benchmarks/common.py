"""Shared plumbing for benchmarks: an app on PostgreSQL + the S3 server (as `make bench` starts
them) or on the embedded defaults, and timing helpers that report medians and percentiles."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_app(tmp: Path, *, database_url: str | None = None, public_url: str = "http://localhost"):
    """A migrated app in a fresh database: PostgreSQL + S3 when TEST_* variables are set."""
    import migrations
    from marketplace.app import create_app
    from marketplace.kernel.config import Settings

    pg = os.environ.get("TEST_DATABASE_URL")
    # BENCH_S3=seaweedfs: SeaweedFS's S3 gateway, which (unlike moto) serves ranged reads
    # without reading the whole object and checks signatures and checksums as S3 does.
    s3 = os.environ.get("TEST_SEAWEED_ENDPOINT") if os.environ.get("BENCH_S3") == "seaweedfs" else os.environ.get("TEST_S3_ENDPOINT")
    name = f"mp_bench_{uuid.uuid4().hex[:8]}"
    if database_url is None and pg:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin = create_engine(pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        database_url = make_url(pg).set(database=name).render_as_string(hide_password=False)
    storage_url = None
    if s3:
        from catalog.storage.s3 import S3ObjectStore

        S3ObjectStore(bucket=name.replace("_", "-"), endpoint_url=s3, create_bucket=True)
        storage_url = f"s3://{name.replace('_', '-')}?endpoint_url={s3}"
    settings = Settings(instance_path=str(tmp), database_url=database_url or "", storage_url=storage_url or "", log_level="WARNING",
                        public_url=public_url).resolved()
    migrations.upgrade(settings.database_url)
    return create_app(settings)


def wait_healthy(base: str, seconds: float = 60) -> None:
    """Wait until a freshly started server answers /healthz (startup is slow on a busy machine)."""
    import requests

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if requests.get(base + "/healthz", timeout=2).ok:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{base} did not become healthy in {seconds} s")


def percentiles(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {
        "p50_ms": round(statistics.median(s) * 1000, 3),
        "p95_ms": round(s[min(len(s) - 1, int(len(s) * 0.95))] * 1000, 3),
        "n": len(s),
    }


def timed(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def emit(name: str, result: dict[str, Any]) -> None:
    result = {"benchmark": name, **result}
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2))


def rss() -> int:
    """This process's resident memory in bytes."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


class PeakRss:
    """Samples this process's RSS every 50 ms while the block runs: `baseline` and `peak` bytes."""

    def __enter__(self) -> "PeakRss":
        import threading

        self.baseline = self.peak = rss()
        self._stop = threading.Event()

        def watch() -> None:
            while not self._stop.is_set():
                self.peak = max(self.peak, rss())
                time.sleep(0.05)

        self._thread = threading.Thread(target=watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
