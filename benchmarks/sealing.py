"""Audit sealing throughput: events sealed per second into signed Merkle blocks, next to a
baseline in the same run (the same number of leaf-sized rows bulk-inserted into a scratch table:
what the database alone costs). Alternating rounds; medians. Prints JSON.
Usage: python benchmarks/sealing.py [events-per-round] [rounds]"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from common import emit, make_app
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, text

from marketplace.auditlog.services import seal
from marketplace.kernel.audit import AuditEvent


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    app = make_app(Path(tempfile.mkdtemp(prefix="bench-sealing-")))
    engine = app.extensions["db"].engine
    scratch = Table("bench_scratch_leaves", MetaData(), Column("event_id", Integer, primary_key=True), Column("block_id", Integer),
                    Column("position", Integer), Column("leaf_hash", String(64)))
    scratch.create(engine)
    orgs = [uuid.uuid4() for _ in range(50)]
    past = datetime.now(timezone.utc) - timedelta(hours=1)
    seal_rates, base_rates, next_id = [], [], [0]

    def events() -> list[dict]:
        rows = []
        for i in range(n):
            org = orgs[i % len(orgs)]
            rows.append({"occurred_at": past, "request_id": f"bench-{i}", "action": "delivery.authorize", "outcome": "success", "actor_org_id": org,
                         "subject_type": "grant", "subject_id": str(uuid.uuid4()), "subject_org_id": orgs[(i + 7) % len(orgs)], "ip": "10.0.0.1",
                         "quantities": {"units": 1}, "details": {"channel": "download"}})
        return rows

    for _ in range(rounds):
        with engine.begin() as conn:
            conn.execute(insert(AuditEvent), events())
        with app.app_context():
            t = time.perf_counter()
            seal(grace_seconds=0)
            seal_rates.append(n / (time.perf_counter() - t))
            app.extensions["db"].remove()
        rows = [{"event_id": next_id[0] + i, "block_id": 1, "position": i, "leaf_hash": "ab" * 32} for i in range(n)]
        next_id[0] += n
        t = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(insert(scratch), rows)
        base_rates.append(n / (time.perf_counter() - t))
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_scratch_leaves"))
    emit("sealing", {"backend": engine.dialect.name, "events_per_round": n, "rounds": rounds,
                     "seal_events_per_s": round(statistics.median(seal_rates)), "baseline_rows_per_s": round(statistics.median(base_rates)),
                     "ratio": round(statistics.median(seal_rates) / statistics.median(base_rates), 3)})


if __name__ == "__main__":
    main()
