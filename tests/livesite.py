"""`make run`'s stack as a subprocess for tests that need a real server: a fresh instance folder
(SQLite and the filesystem store), migrated and seeded with the demo catalogue."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import requests

BIN = Path(sys.executable).parent


def site_env(instance: Path, **extra: str) -> dict[str, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETPLACE_")}
    env.update(MARKETPLACE_INSTANCE_PATH=str(instance), PORT=str(port), MARKETPLACE_LOG_LEVEL="WARNING", **extra)
    return env


@contextmanager
def running_site(env: dict[str, str]) -> Iterator[str]:
    """Migrate, seed and serve; yields the base URL and stops the server afterwards."""
    subprocess.run([str(BIN / "marketplace"), "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([str(BIN / "marketplace"), "seed"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen([str(BIN / "marketplace"), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(base + "/healthz", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
