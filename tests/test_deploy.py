"""What ships to run the product: the hashed lock files and the compose file.

The lock must keep satisfying pyproject.toml (a dependency bumped in one and not the other fails
here, not on someone's laptop), every pin must carry hashes, and the installed environment is the
locked one. The compose file must give every job queue a consumer and run one beat; when the
docker compose plugin is installed it also validates the file itself.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from marketplace.app.schedule import SCHEDULE, beat_schedule
from marketplace.kernel.jobs import registered

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pins(name: str) -> dict[str, list[tuple[Version, Marker | None, int]]]:
    """name -> [(version, marker, number of hashes)] from a lock file (pip's hash-checking format)."""
    text = (ROOT / "requirements" / name).read_text()
    pins: dict[str, list[tuple[Version, Marker | None, int]]] = {}
    for entry in re.split(r"\n(?=[A-Za-z0-9])", text):
        if not entry.strip() or entry.startswith("#"):
            continue
        head = entry.split("\\", 1)[0].strip()
        spec, _, marker = head.partition(";")
        pkg, _, version = spec.strip().partition("==")
        assert version, f"{name}: not pinned exactly: {head}"
        pins.setdefault(canonicalize_name(pkg), []).append((Version(version), Marker(marker) if marker.strip() else None, entry.count("--hash=sha256:")))
    return pins


def _applies(marker: Marker | None, extra: str = "") -> bool:
    return marker is None or marker.evaluate({"extra": extra})


@pytest.mark.parametrize(("lock", "requirements"), [
    ("runtime.lock", PYPROJECT["project"]["dependencies"]),
    ("dev.lock", PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["dev"]),
])
def test_lock_satisfies_pyproject(lock, requirements):
    pins = _pins(lock)
    for line in requirements:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate():
            continue
        here = [v for v, m, _ in pins.get(canonicalize_name(req.name), []) if _applies(m)]
        assert here, f"{lock} has no pin for {req.name} (run `make lock`)"
        assert all(req.specifier.contains(v, prereleases=True) for v in here), f"{lock}: {req.name} {here} does not satisfy '{req.specifier}' (run `make lock`)"


def test_every_pin_is_hashed_and_runtime_agrees_with_dev():
    runtime, dev = _pins("runtime.lock"), _pins("dev.lock")
    for lock in (runtime, dev):
        for name, entries in lock.items():
            assert all(hashes >= 1 for _, _, hashes in entries), f"{name} has a pin without a hash"
    for name, entries in runtime.items():
        assert {str(v) for v, _, _ in entries} <= {str(v) for v, _, _ in dev.get(name, [])}, f"{name}: runtime and dev locks pin different versions"
    # the tools are in the dev lock only: `make run` installs what the product needs
    assert "pytest" not in runtime and "moto" not in runtime and "playwright" not in runtime


def test_this_environment_is_the_locked_one():
    """`make test` installed from the dev lock: every pin that applies here is what is installed."""
    wrong = []
    for name, entries in _pins("dev.lock").items():
        for version, marker, _ in entries:
            if _applies(marker):
                try:
                    installed = Version(metadata.version(name))
                except metadata.PackageNotFoundError:
                    wrong.append(f"{name} missing")
                    continue
                if installed != version:
                    wrong.append(f"{name} {installed} != {version}")
    assert not wrong, wrong


def test_makefile_and_image_install_from_the_locks():
    make = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements/runtime.lock" in make and "--require-hashes -r requirements/dev.lock" in make
    assert re.search(r"^run: \$\(RUNTIME_STAMP\)", make, re.M), "make run must install the runtime only"
    docker = (ROOT / "infra" / "Dockerfile").read_text()
    assert "--require-hashes -r requirements/runtime.lock" in docker and "--no-deps ." in docker


COMPOSE = ROOT / "infra" / "compose.yaml"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _command(service: dict) -> list[str]:
    cmd = service.get("command", [])
    return cmd.split() if isinstance(cmd, str) else list(cmd)


def test_compose_runs_a_worker_for_every_queue_and_one_beat():
    services = _compose()["services"]
    app = services["app"]
    broker = app["environment"]["MARKETPLACE_BROKER_URL"]
    assert broker.startswith("redis://")
    workers = [s for s in services.values() if _command(s)[:2] == ["marketplace", "worker"]]
    beats = [s for s in services.values() if _command(s)[:2] == ["marketplace", "beat"]]
    assert workers, "jobs are enqueued on the broker but no service consumes them"
    assert len(beats) == 1, "exactly one beat, or periodic jobs are sent twice"
    for s in workers + beats:
        # same image and the same settings as the app: same broker, database, store and secret
        assert s["image"] == app["image"] and s["environment"] == app["environment"]
    # the worker listens on every queue the app sends to (the default queue of make_celery)
    queues = {"marketplace"}
    for w in workers:
        cmd = _command(w)
        listened = set(cmd[cmd.index("-Q") + 1].split(",")) if "-Q" in cmd else {"marketplace"}
        queues -= listened
    assert not queues, f"queues without a consumer: {queues}"
    # more than one web process needs shared rate-limit counters
    assert app["environment"]["MARKETPLACE_RATELIMIT_STORAGE_URL"].startswith("redis://")


@pytest.mark.skipif(shutil.which("docker") is None or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
                    reason="the docker compose plugin is not installed here; the YAML checks above still ran")
def test_compose_config_validates():
    env = {"MARKETPLACE_SECRET_KEY": "x" * 40, "POSTGRES_PASSWORD": "p", "MINIO_ROOT_USER": "u", "MINIO_ROOT_PASSWORD": "p" * 8, "PATH": "/usr/bin:/bin"}
    r = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr


def test_beat_schedule_is_the_table_and_every_entry_is_a_registered_job():
    assert beat_schedule() == {p.name: p.every_seconds for p in SCHEDULE}
    for p in SCHEDULE:
        assert registered(p.name) is p.run
    names = {p.name for p in SCHEDULE}
    # what the issue names: sealing, expiry, thresholds' and other notifications
    assert {"periodic.audit.seal", "periodic.grants.expire", "periodic.notifications.sweep", "periodic.notifications.digests"} <= names
