"""Real concurrency for the tests that need it: n callers released together, each with its own
app context, session and connection (PostgreSQL), on committed data."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable


def race(app: Any, n: int, call: Callable[[Any, int], Any]) -> list[Any]:
    """Run `call(client, i)` in n threads released together; each thread has its own client."""
    barrier = threading.Barrier(n)

    def one(i: int) -> Any:
        with app.app_context():
            c = app.test_client()
            try:
                barrier.wait(timeout=10)
            except threading.BrokenBarrierError:
                pass
            try:
                return call(c, i)
            finally:
                app.extensions["db"].remove()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))
