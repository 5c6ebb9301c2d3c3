"""A counter that ends every process's cached API keys at once when access narrows

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 19:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    epoch = op.create_table(
        'auth_epoch',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_epoch')),
    )
    op.bulk_insert(epoch, [{'id': 1, 'value': 0}])


def downgrade() -> None:
    op.drop_table('auth_epoch')
