"""`make run` as a user meets it: migrate, seed, serve on the embedded defaults, over real HTTP."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from openapi_spec_validator import validate

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    inst = tmp_path_factory.mktemp("make-run")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETPLACE_")}
    env.update(MARKETPLACE_INSTANCE_PATH=str(inst), PORT=str(free_port()), MARKETPLACE_LOG_LEVEL="WARNING")
    marketplace = str(BIN / "marketplace")
    subprocess.run([marketplace, "db", "upgrade"], env=env, check=True, capture_output=True)
    seeded = subprocess.run([marketplace, "seed", "--if-empty"], env=env, check=True, capture_output=True, text=True)
    proc = subprocess.Popen([marketplace, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{env['PORT']}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if requests.get(base + "/healthz", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise AssertionError(proc.stdout.read().decode()[-2000:])
    yield base, seeded.stdout, inst
    proc.terminate()
    proc.wait(10)


def test_seed_prints_logins(served):
    _, out, _ = served
    assert "buyer@acme-ai.test" in out and "vendor@medcorpus.test" in out and "admin@marketplace.test" in out


def test_ready_on_sqlite_and_filesystem_store(served):
    base, _, inst = served
    r = requests.get(base + "/readyz", timeout=5)
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": {"status": "ok", "ms": r.json()["checks"]["database"]["ms"]}, "object_store": {"status": "ok", "ms": r.json()["checks"]["object_store"]["ms"]}}
    assert (inst / "marketplace.db").exists() and (inst / "objects").is_dir()


def test_openapi_validates(served):
    base, _, _ = served
    validate(requests.get(base + "/api/v1/openapi.json", timeout=5).json())


def test_demo_login_and_api_key_journey(served):
    base, out, _ = served
    password = re.search(r"buyer@acme-ai\.test\s+(\S+)", out).group(1)
    s = requests.Session()
    r = s.post(base + "/api/v1/auth/login", json={"email": "buyer@acme-ai.test", "password": password}, timeout=10)
    assert r.status_code == 200
    csrf = r.json()["csrf_token"]
    org = s.get(base + "/api/v1/orgs", timeout=5).json()[0]
    assert org["name"] == "Acme AI"
    r = s.post(base + f"/api/v1/orgs/{org['id']}/api-keys", json={"name": "laptop", "scopes": ["catalog:read"]}, headers={"X-CSRF-Token": csrf}, timeout=5)
    assert r.status_code == 201
    key = r.json()["secret"]
    me = requests.get(base + "/api/v1/me", headers={"Authorization": f"Bearer {key}"}, timeout=5)
    assert me.status_code == 200 and me.json()["user"]["email"] == "buyer@acme-ai.test"
    # the demo buyer already holds a paid grant with its quota
    grants = requests.get(base + f"/api/v1/orgs/{org['id']}/grants", headers={"Authorization": f"Bearer {key}"}, timeout=5)
    assert grants.status_code == 403  # this key was made with catalog:read only
    grants = s.get(base + f"/api/v1/orgs/{org['id']}/grants", timeout=5).json()
    assert len(grants) == 1 and grants[0]["balance"] == 20_000 and grants[0]["unit"] == "records"
    # an approved demo vendor exists
    vendor = requests.Session()
    vendor.post(base + "/api/v1/auth/login", json={"email": "vendor@medcorpus.test", "password": password}, timeout=10)
    assert vendor.get(base + "/api/v1/orgs", timeout=5).json()[0]["vendor_status"] == "approved"


def test_web_login_form_has_csrf_and_refuses_without_it(served):
    base, out, _ = served
    password = re.search(r"buyer@acme-ai\.test\s+(\S+)", out).group(1)
    s = requests.Session()
    page = s.get(base + "/login", timeout=5).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = s.post(base + "/login", data={"email": "buyer@acme-ai.test", "password": password}, timeout=10, allow_redirects=False)
    assert r.status_code == 400  # no CSRF token
    r = s.post(base + "/login", data={"email": "buyer@acme-ai.test", "password": password, "csrf_token": token}, timeout=10, allow_redirects=False)
    assert r.status_code == 302
    home = s.get(base + "/", timeout=5).text
    assert "Acme AI" in home and "buyer@acme-ai.test" in home


def test_second_seed_is_a_no_op(served):
    _, _, inst = served
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETPLACE_")}
    env.update(MARKETPLACE_INSTANCE_PATH=str(inst))
    r = subprocess.run([str(BIN / "marketplace"), "seed", "--if-empty"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_demo_catalogue_is_published_and_searchable(served):
    base, _, _ = served
    res = requests.get(base + "/api/v1/datasets?sort=newest", timeout=10).json()
    titles = {i["title"] for i in res["items"]}
    assert {"Clinical consultation dialogues (EN)", "Nordic call-centre speech, 48 kHz", "Annotated commercial lease clauses"} <= titles
    speech = next(i for i in res["items"] if i["title"].startswith("Nordic"))
    assert speech["languages"] == ["sv", "nb"] and speech["total_records"] == 3  # the manifest's three utterances
    assert requests.get(base + "/api/v1/datasets?q=clauses", timeout=10).json()["items"][0]["title"] == "Annotated commercial lease clauses"
    nc = requests.get(base + "/api/v1/datasets?license_class=non-commercial", timeout=10).json()
    assert {i["title"] for i in nc["items"]} >= {"Synthetic patient questions", "Clinical consultation dialogues (EN)"}
    manifest = requests.get(base + f"/api/v1/versions/{speech['latest_version_id']}/manifest", timeout=10).json()
    assert [f["path"] for f in manifest["files"]] == ["audio/call-0001.wav", "audio/call-0002.wav", "manifest.jsonl"]


def test_served_by_gunicorn_and_the_periodic_jobs_run_without_a_broker(served):
    """`make run` has no beat: the server runs the schedule itself, so the demo's audit events
    get sealed (the seal lag a compliance officer sees stays seconds, not forever)."""
    base, _, inst = served
    r = requests.get(base + "/healthz", timeout=5)
    assert r.headers["Server"] == "marketplace"  # gunicorn's banner is replaced, as Werkzeug's was
    deadline = time.time() + 60
    blocks = 0
    while time.time() < deadline and not blocks:
        with sqlite3.connect(inst / "marketplace.db") as db:
            blocks = db.execute("SELECT count(*) FROM audit_blocks").fetchone()[0]
        time.sleep(0.5)
    assert blocks >= 1
    assert (inst / "periodic.lock").exists()


def test_metrics_add_up_over_the_server_processes(served):
    """gunicorn's workers write their samples to the instance's metrics folder (multiprocess
    mode); a scrape from loopback sees the requests just made, and the live seal-lag gauge."""
    base, _, inst = served
    for _ in range(3):
        requests.get(base + "/api/v1/domains", timeout=5)
    text = requests.get(base + "/metrics", timeout=5).text
    line = next(x for x in text.splitlines() if x.startswith("marketplace_http_request_duration_seconds_count") and 'endpoint="/api/v1/domains"' in x)
    assert float(line.rsplit(" ", 1)[1]) >= 3
    assert "marketplace_audit_seal_lag_seconds" in text
    assert list((inst / "metrics").glob("*.db"))
