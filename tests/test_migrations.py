"""The Alembic history and the models describe the same schema; the history runs both ways."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

import migrations
from marketplace.app.models import metadata
from migrations.env_filters import include_name, include_object
from tests.conftest import RUN_ID, create_pg_database, drop_pg_database


def _diff(url: str) -> list:
    engine = create_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": conn.dialect.name == "sqlite", "include_name": include_name, "include_object": include_object})
        diff = compare_metadata(ctx, metadata)
    engine.dispose()
    return diff


def test_models_match_migrations(backend, database_urls):
    assert _diff(database_urls[backend]) == []


@pytest.mark.postgres_only
def test_upgrade_downgrade_upgrade_on_postgresql(backend, pg_server_url):
    name = f"mp_migr_{RUN_ID}"
    url = create_pg_database(pg_server_url, name)
    try:
        migrations.upgrade(url)
        engine = create_engine(url)
        assert "users" in inspect(engine).get_table_names()
        migrations.downgrade(url, "base")
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        with engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM pg_proc WHERE proname = 'audit_events_refuse_change'")).scalar() == 0
        migrations.upgrade(url)
        assert _diff(url) == []
        engine.dispose()
    finally:
        drop_pg_database(pg_server_url, name)


def test_sqlite_upgrade_downgrade_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrations.upgrade(url)
    migrations.downgrade(url, "base")
    migrations.upgrade(url)
    assert _diff(url) == []


def test_migrations_hold_their_own_data_and_match_the_registry(app):
    """Migrations import no live service code (they hold their data as of their revision), and the
    standard licences they create are the registry's today: a change to the registry needs a new
    migration, which this test asks for."""
    import re
    from pathlib import Path

    from sqlalchemy import select

    from licensing.models import License
    from licensing.services import standard_rows
    from marketplace.kernel.db import get_session

    for path in sorted((Path(__file__).resolve().parents[1] / "migrations" / "versions").glob("*.py")):
        live = re.findall(r"^\s*(?:from|import) (catalog|licensing|marketplace)\b(?!\.core\.db)", path.read_text(), re.M)
        assert live == [], f"{path.name} imports live code: {live}"
    stored = {(lic.identifier, lic.version, lic.text_sha256, lic.use_class) for lic in get_session().scalars(select(License).where(License.owner_org_id.is_(None)))}
    assert {(r["identifier"], r["version"], r["text_sha256"], r["use_class"]) for r in standard_rows()} <= stored
