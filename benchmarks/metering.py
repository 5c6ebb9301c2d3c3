"""Quota debits per second on PostgreSQL: all threads on one hot grant, and spread over many
grants, next to a one-round-trip baseline (a unit of work doing one SELECT) in the same run.
Prints JSON. Usage: python benchmarks/metering.py [seconds-per-case] [threads]"""

from __future__ import annotations

import itertools
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from common import emit, make_app


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    app = make_app(Path(tempfile.mkdtemp(prefix="bench-metering-")))
    from sqlalchemy import insert, select

    from marketplace.commerce import metering
    from marketplace.commerce.models import Grant
    from marketplace.identity.models import Organization
    from marketplace.kernel.db import get_session, unit_of_work
    from marketplace.kernel.principal import Principal
    from tests.commerce.helpers import market, offer_for, order
    from tests.factories import bearer

    with app.app_context():
        client = app.test_client()
        vendor, buyer = market()
        offer = offer_for(client, vendor.keys["owner"])
        o = order(client, buyer.keys["owner"], offer, quantity=10**9).json
        assert "id" in o, o
        hot = uuid.UUID(client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vendor.keys["owner"])).json["grant_id"])
        template = get_session().get(Grant, hot)
        cols = {c.name: getattr(template, c.key) for c in Grant.__table__.columns}
        now = datetime.now(timezone.utc)
        orgs, grants = [], []
        for i in range(1000):
            oid = uuid.uuid4()
            orgs.append({"id": oid, "slug": f"bench-buyer-{i}-{oid.hex[:6]}", "name": f"Buyer {i}", "vendor_status": "none", "created_at": now})
            grants.append(dict(cols, id=uuid.uuid4(), buyer_org_id=oid, balance=10**9, credited=10**9))
        with app.extensions["db"].engine.begin() as conn:
            conn.execute(insert(Organization), orgs)
            conn.execute(insert(Grant), grants)
        many = [g["id"] for g in grants]
        app.extensions["db"].remove()

    p = Principal(request_id="bench")
    counter = itertools.count()
    errors: dict[str, int] = {}

    def run(case: str) -> float:
        stop = time.perf_counter() + seconds
        done = [0] * threads

        def worker(k: int) -> None:
            with app.app_context():
                while time.perf_counter() < stop:
                    n = next(counter)
                    try:
                        one(case, n)
                    except Exception:  # a pool timeout or any failure is counted, not hidden
                        errors[case] = errors.get(case, 0) + 1
                        app.extensions["db"].remove()
                        continue
                    done[k] += 1
                app.extensions["db"].remove()

        def one(case: str, n: int) -> None:
            if case == "baseline":
                with unit_of_work() as s:
                    s.execute(select(Grant.balance).where(Grant.id == hot)).scalar_one()
            elif case == "hot":
                metering.debit(p, hot, "records", 1, f"h-{n}")
            else:
                metering.debit(p, many[n % len(many)], "records", 1, f"m-{n}")

        t0 = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(worker, range(threads)))
        return sum(done) / (time.perf_counter() - t0)

    base = run("baseline")
    hot_rate = run("hot")
    many_rate = run("many")
    base2 = run("baseline")
    baseline = (base + base2) / 2
    with app.app_context():
        s = get_session()
        hot_balance = s.scalar(select(Grant.balance).where(Grant.id == hot))
        consistent = hot_balance == metering.ledger_balance(hot) and hot_balance >= 0
        app.extensions["db"].remove()
    emit("metering", {
        "threads": threads, "seconds_per_case": seconds,
        "baseline_one_round_trip_per_s": round(baseline, 1),
        "debits_per_s_one_hot_grant": round(hot_rate, 1),
        "debits_per_s_1000_grants": round(many_rate, 1),
        "hot_vs_baseline": round(hot_rate / baseline, 3),
        "many_vs_baseline": round(many_rate / baseline, 3),
        "errors": errors,
        "hot_grant_balance_equals_its_ledger": consistent,
        "note": "on PostgreSQL a debit is one statement (the balance UPDATE, the ledger INSERT and the audit INSERT in a CTE) and a commit",
    })


if __name__ == "__main__":
    main()
