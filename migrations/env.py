"""Alembic environment: runs migrations against the URL given by the caller's config (or
MARKETPLACE_DATABASE_URL when run through the plain `alembic` command)."""

from __future__ import annotations

import os
import warnings

from alembic import context
from sqlalchemy import create_engine, pool
from sqlalchemy.exc import SAWarning

from marketplace.app.models import metadata
from marketplace.kernel.config import Settings
from marketplace.kernel.db import UTCDateTime
from migrations.env_filters import include_name, include_object

# SQLite's reflection cannot read the expression indexes on datasets' price (revision 0013); a
# batch operation on another table that reflects datasets for a foreign key says so on every
# upgrade. Those indexes survive (batch mode recreates only the table it alters), so the warning
# is noise to whoever runs `make run`. Never alter `datasets` itself in batch mode: it would
# drop them (revision 0020 adds its column natively; tests/test_migrations.py would notice).
warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", SAWarning)

config = context.config
url = config.get_main_option("sqlalchemy.url") or os.environ.get("MARKETPLACE_DATABASE_URL")
if not url:
    url = Settings.from_env().database_url


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Revisions stay self-contained: the app's UTC column type is written as the plain
    SQLAlchemy type it stores (the conversion to aware datetimes is the model's business)."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=metadata, literal_binds=True, render_as_batch=url.startswith("sqlite"), compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = create_engine(url, poolclass=pool.NullPool)
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
        include_name=include_name,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
