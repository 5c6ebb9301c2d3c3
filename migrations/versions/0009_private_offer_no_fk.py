"""Private offers name their buyer organisation without a foreign key (no existence oracle)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 13:05:00
"""
from __future__ import annotations

from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.drop_constraint('fk_offers_private_buyer_org_id_organizations', type_='foreignkey')
        batch_op.create_index(batch_op.f('ix_offers_private_buyer_org_id'), ['private_buyer_org_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offers_private_buyer_org_id'))
        batch_op.create_foreign_key('fk_offers_private_buyer_org_id_organizations', 'organizations', ['private_buyer_org_id'], ['id'], ondelete='RESTRICT')
