"""Audit: per-organisation positions in every sealed leaf, the signed whole-log tree (size and root) in every new checkpoint, and organisation heads

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 13:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Adding nullable columns changes no row, so the append-only triggers are not involved.
    with op.batch_alter_table('audit_blocks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tree_size', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('tree_root', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('frontier', sa.JSON(), nullable=True))
    with op.batch_alter_table('audit_leaves', schema=None) as batch_op:
        batch_op.add_column(sa.Column('org_seq', sa.JSON(), nullable=True))
    op.create_table('audit_org_heads',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('block_id', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('org_id', name=op.f('pk_audit_org_heads'))
    )


def downgrade() -> None:
    op.drop_table('audit_org_heads')
    with op.batch_alter_table('audit_leaves', schema=None) as batch_op:
        batch_op.drop_column('org_seq')
    with op.batch_alter_table('audit_blocks', schema=None) as batch_op:
        batch_op.drop_column('frontier')
        batch_op.drop_column('tree_root')
        batch_op.drop_column('tree_size')
