"""Slow uploads: a client that stalls mid-body, or trickles it, gets a 408 problem+json instead of
holding a server thread, and nothing is stored."""

from __future__ import annotations

import hashlib
import io
import socket
import time

import pytest
import requests

from marketplace.kernel.errors import RequestTimeout
from marketplace.kernel.http import SlowBodyGuard
from tests import livesite


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    inst = tmp_path_factory.mktemp("slow-body")
    env = livesite.site_env(inst, MARKETPLACE_UPLOAD_IDLE_TIMEOUT="2")
    with livesite.running_site(env) as base:
        yield base, int(env["PORT"]), inst


def test_a_stalled_small_upload_gets_408_and_nothing_is_stored(live):
    base, port, inst = live
    s = requests.Session()
    token = s.post(base + "/api/v1/auth/login", json={"email": "vendor@lexisets.test", "password": "demo-password-1"}).json()["csrf_token"]
    h = {"X-CSRF-Token": token}
    org = s.get(base + "/api/v1/me").json()["organizations"][0]["id"]
    ds = s.post(base + "/api/v1/datasets", json={"organization_id": org, "slug": "slow-body", "title": "Slow", "domain": "legal"}, headers=h).json()
    v = s.post(base + f"/api/v1/datasets/{ds['id']}/versions", json={"version": "1"}, headers=h).json()
    data = b"z" * 100_000
    f = s.post(base + f"/api/v1/versions/{v['id']}/files", json={"path": "z.bin", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()},
               headers=h).json()
    cookie = "; ".join(f"{c.name}={c.value}" for c in s.cookies)
    with socket.create_connection(("127.0.0.1", port)) as raw:
        raw.sendall((f"PUT /api/v1/files/{f['id']}/content HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
                     f"Content-Length: {len(data)}\r\nCookie: {cookie}\r\nX-CSRF-Token: {token}\r\n\r\n").encode() + data[:1000])
        raw.settimeout(20)
        started = time.monotonic()
        head = raw.recv(65536).decode(errors="replace")  # we send nothing more: the server must give up on its own
        waited = time.monotonic() - started
        while True:
            more = raw.recv(65536)
            if not more:
                break
            head += more.decode(errors="replace")
    assert head.startswith("HTTP/1.1 408"), head[-600:]
    assert "application/problem+json" in head and "request-timeout" in head
    assert 1.5 <= waited < 15
    after = s.get(base + f"/api/v1/versions/{v['id']}/files").json()[0]
    assert after["status"] == "pending"
    assert not [p for p in (inst / "objects").rglob("*") if p.is_file() and "staging" in str(p)]
    ok = s.put(base + f"/api/v1/files/{f['id']}/content", data=data, headers=dict(h, **{"Content-Type": "application/octet-stream"}))
    assert ok.status_code == 200 and ok.json()["status"] == "uploaded"


def test_a_trickled_body_is_refused_once_its_average_rate_is_too_low(app):
    class Trickle(io.RawIOBase):
        def read(self, n: int = -1) -> bytes:
            time.sleep(0.05)
            return b"x"

    with app.test_request_context("/", method="PUT"):
        guard = SlowBodyGuard(Trickle(), idle_timeout=5, min_rate=1000, grace=0.2)
        with pytest.raises(RequestTimeout):
            while guard.read(1024):
                pass
        fast = SlowBodyGuard(io.BytesIO(b"y" * 10_000), idle_timeout=5, min_rate=1000, grace=0.0)
        assert fast.read() == b"y" * 10_000
