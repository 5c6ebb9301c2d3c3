"""Headers a browser relies on: a strict Content-Security-Policy on every HTML page (and no
inline script or style for it to forbid), no caching of anything personal or secret, and no
server version banner."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from werkzeug.serving import make_server

from marketplace.kernel.http import QuietRequestHandler
from tests.catalog.helpers import published_dataset
from tests.factories import bearer, make_tenant
from tests.web.helpers import sign_in

INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style[\s>]|\sstyle=\"|\son[a-z]+=", re.I)


def _pages(app, client, tenant, ds_id):
    """Every page without parameters in the route table, plus the pages of one dataset."""
    paths = {"/", f"/datasets/{ds_id}"}
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith(("/api/", "/static", "/storage")):
            paths.add(rule.rule)
    return sorted(paths)


def test_every_page_has_a_strict_csp_and_no_inline_script_or_style(app, client):
    vendor = make_tenant(vendor=True)
    ds, _ = published_dataset(client, vendor.keys["owner"], {"a.jsonl": b'{"t": 1}\n'})
    sign_in(client, vendor.owner)
    seen = 0
    for path in _pages(app, client, vendor, ds["id"]):
        r = client.get(path)
        if r.mimetype != "text/html":
            continue
        seen += 1
        csp = r.headers.get("Content-Security-Policy", "")
        directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
        assert directives.get("script-src") == ["'self'"], (path, csp)
        assert directives.get("style-src") == ["'self'"], (path, csp)
        assert directives.get("frame-ancestors") == ["'none'"], (path, csp)
        assert directives.get("default-src") == ["'none'"], (path, csp)
        assert "unsafe" not in csp
        html = r.get_data(as_text=True)
        bad = INLINE.search(html)
        assert bad is None, (path, html[max(0, bad.start() - 80): bad.end() + 80])
    assert seen >= 8


def test_error_pages_carry_the_policy_too(app, client):
    r = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


def test_personal_answers_are_never_cached(app, client):
    tenant = make_tenant()
    r = client.get("/api/v1/me", headers=bearer(tenant.keys["owner"]))
    assert r.headers["Cache-Control"] == "no-store"
    r = client.post(f"/api/v1/orgs/{tenant.org.id}/api-keys", json={"name": "k", "scopes": ["catalog:read"]}, headers=bearer(tenant.keys["owner"]))
    assert r.status_code == 201 and r.json["secret"] and r.headers["Cache-Control"] == "no-store"
    login = client.post("/api/v1/auth/login", json={"email": tenant.owner.email, "password": "correct horse battery"})
    assert login.headers["Cache-Control"] == "no-store"
    for path in ("/dashboard", "/api/v1/me", "/api/v1/me/sessions"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    # Public, anonymous material may be cached; static files always may.
    anon = requests.Session()
    assert app.test_client().get("/api/v1/domains").headers.get("Cache-Control") != "no-store"
    assert client.get("/static/app.css").headers.get("Cache-Control") != "no-store"
    anon.close()


def test_no_server_version_banner_from_the_development_server(app):
    srv = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietRequestHandler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        r = requests.get(f"http://127.0.0.1:{srv.server_port}/healthz", timeout=10)
        assert r.headers["Server"] == "marketplace"
    finally:
        srv.shutdown()


def test_no_server_version_banner_from_gunicorn(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    env = {"MARKETPLACE_DATABASE_URL": f"sqlite:///{tmp_path}/g.db", "MARKETPLACE_STORAGE_URL": f"file://{tmp_path}/o",
           "MARKETPLACE_INSTANCE_PATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen([gunicorn, "-c", "python:marketplace.app.gunicorn_conf", "-w", "1", "-b", f"127.0.0.1:{port}", "marketplace.app:create_app()"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(150):
            try:
                r = requests.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            raise AssertionError(proc.stderr.read().decode() if proc.poll() is not None else "gunicorn did not answer")
        assert r.headers["Server"] == "marketplace"
    finally:
        proc.terminate()
        proc.wait(10)
