"""Vendor applications: an organisation's public profile, contact and payout details.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 21:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

COLUMNS = [
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('website', sa.String(length=300), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('contact_name', sa.String(length=200), nullable=True),
    sa.Column('contact_email', sa.String(length=320), nullable=True),
    sa.Column('payout_account_holder', sa.String(length=200), nullable=True),
    sa.Column('payout_iban', sa.String(length=34), nullable=True),
    sa.Column('vendor_applied_at', sa.DateTime(timezone=True), nullable=True),
]


def upgrade() -> None:
    # Added natively (no batch mode): nothing to recreate, on either database.
    for column in COLUMNS:
        op.add_column('organizations', column)


def downgrade() -> None:
    for column in reversed(COLUMNS):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE organizations DROP COLUMN {column.name}")  # SQLite 3.35+
        else:
            op.drop_column('organizations', column.name)
