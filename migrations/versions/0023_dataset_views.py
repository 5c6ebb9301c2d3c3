"""Dataset page views per day, for the vendor's sales analytics.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01 22:05:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dataset_view_days',
    sa.Column('dataset_id', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('views', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_dataset_view_days_dataset_id_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dataset_id', 'day', name=op.f('pk_dataset_view_days'))
    )


def downgrade() -> None:
    op.drop_table('dataset_view_days')
