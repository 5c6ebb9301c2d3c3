"""The periodic jobs: one table, run by Celery beat through a real Redis and worker, or by the
embedded thread of `marketplace serve` (one process at a time, a failure never stops the rest)."""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest

from marketplace.app import create_app, schedule
from marketplace.kernel import jobs_celery
from marketplace.kernel.jobs import job

REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _table(calls: list[str], *, failing: str | None = None) -> tuple[schedule.Periodic, ...]:
    def entry(name: str, every: int) -> schedule.Periodic:
        def run() -> None:
            calls.append(name)
            if name == failing:
                raise RuntimeError("the mail server is down")
        return schedule.Periodic(name, every, run, "test")
    return (entry("fast", 10), entry("slow", 3600), entry("broken", 10))


def test_run_due_runs_each_entry_at_its_interval_and_a_failure_stops_nothing(session_app, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(schedule, "SCHEDULE", _table(calls, failing="fast"))
    last: dict[str, float] = {}
    assert schedule.run_due(session_app, last, 1000.0) == ["fast", "slow", "broken"]  # the failing one first: the others still ran
    assert schedule.run_due(session_app, last, 1005.0) == []
    assert schedule.run_due(session_app, last, 1010.0) == ["fast", "broken"]
    assert schedule.run_due(session_app, last, 4600.0) == ["fast", "slow", "broken"]
    assert calls.count("slow") == 2 and calls.count("fast") == 3


def test_embedded_runners_in_several_processes_take_turns_through_the_lock(session_app, monkeypatch, tmp_path):
    """Each gunicorn worker starts a runner; the lock lets one run the table (flock locks are per
    open file, so two threads here contend exactly as two processes do)."""
    calls: list[str] = []
    monkeypatch.setattr(schedule, "SCHEDULE", _table(calls))
    lock = str(tmp_path / "periodic.lock")
    stop = threading.Event()
    runners = [schedule.start_embedded(session_app, lock_path=lock, tick_seconds=0.05, first_delay=0, stop=stop) for _ in range(3)]
    try:
        deadline = time.monotonic() + 10
        while "slow" not in calls and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the other runners had ten ticks to run it again, and must not have
        assert calls.count("slow") == 1, calls
    finally:
        stop.set()  # the runners must not outlive the test's table
        for r in runners:
            r.join(5)
    assert not any(r.is_alive() for r in runners)


@pytest.mark.postgres_only
def test_beat_sends_the_schedule_through_redis_to_a_worker(backend, make_settings, tmp_path):
    from celery.beat import Service
    from celery.contrib.testing.worker import start_worker

    ran: list[float] = []
    done = threading.Event()
    name = f"test.periodic.{uuid.uuid4().hex[:8]}"

    @job(name)
    def tick() -> None:
        ran.append(time.monotonic())
        if len(ran) >= 2:
            done.set()

    app = create_app(make_settings(backend))  # the worker's app: only its context is used
    celery = jobs_celery.make_celery(REDIS, schedule={name: 1})
    qname = f"marketplace-test-{uuid.uuid4().hex[:8]}"  # parallel runs on one Redis never steal each other's jobs
    celery.conf.task_default_queue = qname
    jobs_celery.FLASK_APP = app
    beat = Service(celery, max_interval=0.5, schedule_filename=str(tmp_path / "beat-schedule"))
    thread = threading.Thread(target=beat.start, daemon=True)
    try:
        with start_worker(celery, queues=[qname], perform_ping_check=False, pool="solo", shutdown_timeout=10):
            thread.start()
            assert done.wait(20), "beat never got the job to the worker twice"
    finally:
        beat.stop()
        jobs_celery.FLASK_APP = None
    assert ran[1] - ran[0] >= 0.5  # at the interval, not in a burst


def test_beat_entries_expire_after_one_interval():
    celery = jobs_celery.make_celery("redis://127.0.0.1:9/0", schedule=schedule.beat_schedule())
    entries = celery.conf.beat_schedule
    assert set(entries) == {p.name for p in schedule.SCHEDULE}
    for p in schedule.SCHEDULE:
        e = entries[p.name]
        assert e["task"] == "marketplace.run_job" and e["args"] == (p.name, {}) and e["schedule"] == e["options"]["expires"] == p.every_seconds
