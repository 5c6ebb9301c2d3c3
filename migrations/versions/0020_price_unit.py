"""The unit of a dataset's lowest price ("from €25.00 per GiB", never a bare "from €25.00").

Backfilled from each dataset's cheapest active public offer, as the service keeps it.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 21:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


# Not batch mode: on SQLite it would recreate `datasets` from its reflection, which cannot read
# (and so would drop) the expression indexes on price. ADD and DROP COLUMN are native there.


def upgrade() -> None:
    op.add_column('datasets', sa.Column('price_unit', sa.String(length=16), nullable=True))
    op.execute(
        "UPDATE datasets SET price_unit = (SELECT CAST(o.pricing_unit AS VARCHAR(16)) FROM offers o WHERE o.dataset_id = datasets.id "
        "AND o.active AND o.private_buyer_org_id IS NULL ORDER BY o.unit_price_minor LIMIT 1) WHERE min_price_minor IS NOT NULL")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE datasets DROP COLUMN price_unit")  # SQLite 3.35+
    else:
        op.drop_column('datasets', 'price_unit')
