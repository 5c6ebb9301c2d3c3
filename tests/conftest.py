"""Shared fixtures.

Backends: tests that take the `backend` fixture (directly or through `app`) run on PostgreSQL and
on SQLite, unless marked `postgres_only`. Each test run gets fresh databases (a new PostgreSQL
database, a new SQLite file), migrated with Alembic; each test runs inside one outer transaction
that is rolled back at the end (service commits become savepoint releases), so tests are
isolated. Storage: the PostgreSQL app talks to a real S3 server over HTTP (moto's standalone
server, started by `make test`); the SQLite app uses the filesystem store, as `make run` does.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, Iterator

# Cheaper argon2id parameters for the suite (set before the hasher is built at import).
os.environ.setdefault("MARKETPLACE_ARGON2_TIME_COST", "1")
os.environ.setdefault("MARKETPLACE_ARGON2_MEMORY_KIB", "8192")

import pytest  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402

# Property tests explore the same examples on every run (CI is a gate, not a lottery);
# HYPOTHESIS_PROFILE=explore draws new ones, to look for new counterexamples.
hypothesis_settings.register_profile("gate", derandomize=True, database=None, deadline=None)
hypothesis_settings.register_profile("explore", derandomize=False, deadline=None, max_examples=500)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "gate"))
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import scoped_session, sessionmaker

import migrations  # noqa: E402
from marketplace.app import create_app
from marketplace.kernel.config import Settings  # noqa: E402

BACKENDS = [b for b in os.environ.get("MARKETPLACE_TEST_BACKENDS", "postgresql,sqlite").split(",") if b]
RUN_ID = uuid.uuid4().hex[:10]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = ["postgresql"] if metafunc.definition.get_closest_marker("postgres_only") else BACKENDS
        metafunc.parametrize("backend", backends, scope="session")


# --------------------------------------------------------------------------- servers


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    url = os.environ.get("TEST_S3_ENDPOINT")
    if url:
        yield url
        return
    # Running pytest by hand: start moto's standalone server as its own process (as make test
    # does), so that what it stores never counts against this process's memory.
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    exe = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            break
        except Exception:
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def seaweed_endpoint() -> Iterator[str]:
    """SeaweedFS's S3 gateway: the S3 server here that enforces signatures, expiry and part
    checksums. `make test` starts it (TEST_SEAWEED_ENDPOINT); by hand, this fixture does."""
    url = os.environ.get("TEST_SEAWEED_ENDPOINT")
    if url:
        yield url
        return
    from tests import seaweedfs

    url, stop = seaweedfs.start()
    yield url
    stop()


@pytest.fixture(scope="session")
def seaweed_bucket(seaweed_endpoint: str) -> str:
    from catalog.storage.s3 import S3ObjectStore

    name = f"mp-test-{RUN_ID}"
    S3ObjectStore(bucket=name, endpoint_url=seaweed_endpoint, create_bucket=True)
    return name


def create_pg_database(server_url: str, name: str) -> str:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(server_url: str, name: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_urls(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One fresh, migrated database per backend for this test run."""
    urls: dict[str, str] = {}
    created: list[str] = []
    if "postgresql" in BACKENDS:
        name = f"mp_test_{RUN_ID}"
        urls["postgresql"] = create_pg_database(pg_server_url, name)
        created.append(name)
    if "sqlite" in BACKENDS:
        urls["sqlite"] = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
    for url in urls.values():
        migrations.upgrade(url)
    yield urls
    for name in created:
        drop_pg_database(pg_server_url, name)


@pytest.fixture(scope="session")
def s3_bucket(s3_endpoint: str) -> str:
    from catalog.storage.s3 import S3ObjectStore

    name = f"mp-test-{RUN_ID}"
    S3ObjectStore(bucket=name, endpoint_url=s3_endpoint, create_bucket=True)
    return name


def storage_url_for(backend: str, s3_endpoint: str, bucket: str, tmp: Path) -> str:
    if backend == "postgresql":
        return f"s3://{bucket}?endpoint_url={s3_endpoint}&region=us-east-1"
    return f"file://{tmp}"


_apps: dict[str, Any] = {}


@pytest.fixture(scope="session")
def make_settings(database_urls, s3_endpoint, s3_bucket, tmp_path_factory):
    def make(backend: str, **overrides: Any) -> Settings:
        inst = tmp_path_factory.mktemp(f"instance-{backend}")
        values = dict(
            instance_path=str(inst),
            database_url=database_urls[backend],
            storage_url=storage_url_for(backend, s3_endpoint, s3_bucket, inst / "objects"),
            secret_key="test-secret-" + RUN_ID,
            public_url="http://localhost",
            testing=True,
            log_json=True,
            log_level="WARNING",
            # The suite fails logins and keys on purpose; the limits have their own test.
            login_rate_limit="10000/minute",
            auth_failure_rate_limit="10000/minute",
        )
        values.update(overrides)
        return Settings(**values).resolved()

    return make


@pytest.fixture(scope="session")
def session_app(backend: str, make_settings):
    """One application per backend for the whole run (building one costs ~100 ms)."""
    if backend not in _apps:
        _apps[backend] = create_app(make_settings(backend))
    return _apps[backend]


from contextlib import contextmanager  # noqa: E402


@contextmanager
def isolated(flask_app) -> Iterator[Any]:
    """Run the test's work inside one transaction that is rolled back afterwards."""
    db = flask_app.extensions["db"]
    conn = db.engine.connect()
    outer = conn.begin()
    original = db.session
    db.session = scoped_session(sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False))
    ctx = flask_app.app_context()
    ctx.push()
    try:
        yield flask_app
    finally:
        ctx.pop()
        db.session.remove()
        db.session = original
        if outer.is_active:
            outer.rollback()
        conn.close()


@pytest.fixture
def app(session_app) -> Iterator[Any]:
    """The app with this test's work inside one transaction that is rolled back afterwards."""
    # The audit witness lives in the object store, outside the rolled-back transaction: a block
    # sealed by an earlier test was rolled back, so its witness must go too.
    session_app.extensions["object_store"].delete("audit/checkpoints/latest.json")
    with isolated(session_app) as a:
        yield a


@pytest.fixture(scope="session")
def fake_stripe():
    from tests.fakes.stripe_api import FakeStripe

    fake = FakeStripe()
    yield fake
    fake.stop()


_stripe_apps: dict[str, Any] = {}


@pytest.fixture
def stripe_app(backend, make_settings, fake_stripe) -> Iterator[Any]:
    """An app taking card payments through the real stripe library against the fake Stripe API."""
    from tests.fakes.stripe_api import API_KEY, WEBHOOK_SECRET

    if backend not in _stripe_apps:
        _stripe_apps[backend] = create_app(make_settings(backend, payments="stripe", stripe_api_key=API_KEY, stripe_webhook_secret=WEBHOOK_SECRET,
                                                         stripe_api_base=fake_stripe.url))
    fake_stripe.fail_next, fake_stripe.hang_seconds = 0, 0.0
    with isolated(_stripe_apps[backend]) as a:
        yield a


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def store(app):
    return app.extensions["object_store"]


@pytest.fixture
def fs_site(tmp_path):
    """A real HTTP server (in this process) on its own SQLite database and filesystem store, with
    an approved vendor and a draft version: yields (vendor's client, version id, vendor org id)."""
    import socket
    import threading

    from werkzeug.serving import make_server

    import migrations
    from marketplace.app import create_app
    from marketplace.kernel.config import Settings
    from marketplace.sdk.client import MarketplaceClient

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    db = f"sqlite:///{tmp_path}/site.db"
    migrations.upgrade(db)
    settings = Settings(instance_path=str(tmp_path), database_url=db, storage_url=f"file://{tmp_path}/objects", public_url=base,
                        log_level="WARNING").resolved()
    app = create_app(settings)
    srv = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    with app.app_context():
        from tests.catalog.helpers import create_dataset, create_version
        from tests.factories import make_tenant

        vendor = make_tenant(vendor=True)
        c = app.test_client()
        ds = create_dataset(c, vendor.keys["owner"])
        version = create_version(c, vendor.keys["owner"], ds["id"])
        app.extensions["db"].remove()
    yield MarketplaceClient(base, vendor.keys["owner"]), version["id"], str(vendor.org.id)
    srv.shutdown()
    app.extensions["db"].engine.dispose()
