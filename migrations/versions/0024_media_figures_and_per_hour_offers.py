"""Media figures (per file, per version, per dataset) and offers priced per hour of audio or video.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02 01:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

# Not batch mode: on SQLite it would recreate `datasets` from its reflection, which cannot read
# (and so would drop) the expression indexes on price. ADD and DROP COLUMN are native there.
OLD_UNITS = "'records', 'gib', 'downloads', 'term'"
NEW_UNITS = "'records', 'gib', 'downloads', 'term', 'hours'"
CHECKS = (("offers", "ck_offers_pricing_unit", "pricing_unit"), ("grants", "ck_grants_grant_unit", "unit"))


def _units(old: str, new: str) -> None:
    """Let the unit columns' CHECK constraints admit `new`. On SQLite a CHECK constraint is
    changed in the stored schema (the procedure SQLite documents for changes that leave the
    stored rows valid), since recreating `grants` would have to drop the tables that point at it."""
    if op.get_bind().dialect.name == "sqlite":
        conn = op.get_bind()
        version = conn.exec_driver_sql("PRAGMA schema_version").scalar()
        conn.exec_driver_sql("PRAGMA writable_schema = ON")
        for table, _, _ in CHECKS:
            conn.execute(sa.text("UPDATE sqlite_master SET sql = replace(sql, :old, :new) WHERE type = 'table' AND name = :t"),
                         {"old": f"IN ({old})", "new": f"IN ({new})", "t": table})
        conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")
        return
    for table, name, column in CHECKS:
        op.drop_constraint(op.f(name), table, type_="check")
        op.create_check_constraint(op.f(name), table, f"{column} IN ({new})")


def upgrade() -> None:
    op.add_column('dataset_versions', sa.Column('media', sa.JSON(), nullable=True))
    op.add_column('datasets', sa.Column('media', sa.JSON(), nullable=True))
    op.add_column('datasets', sa.Column('media_ms', sa.BigInteger(), nullable=True))
    op.create_index('ix_datasets_listing_hours', 'datasets', ['visibility', 'media_ms', 'id'], unique=False)
    op.add_column('version_files', sa.Column('media_ms', sa.BigInteger(), nullable=True))
    _units(OLD_UNITS, NEW_UNITS)


def downgrade() -> None:
    if op.get_bind().execute(sa.text("SELECT count(*) FROM offers WHERE pricing_unit = 'hours'")).scalar():
        raise RuntimeError("Offers priced per hour exist; withdraw them before downgrading below 0024.")
    _units(NEW_UNITS, OLD_UNITS)
    op.drop_index('ix_datasets_listing_hours', table_name='datasets')
    for table, column in (('version_files', 'media_ms'), ('datasets', 'media_ms'), ('datasets', 'media'), ('dataset_versions', 'media')):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # SQLite 3.35+
        else:
            op.drop_column(table, column)
