"""Gated access: a dataset's gate and questions, and buyers' access requests

- `access_gates`: a dataset that is "access on request" (for its samples, its private offers or
  both), with the vendor's typed questions and stated response time;
- `access_requests`: a buyer organisation's answers, the digest of the terms it ticked, and the
  vendor's decision; a partial unique index keeps one open request per dataset and buyer.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 12:18:02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('access_gates',
    sa.Column('dataset_id', sa.Uuid(), nullable=False),
    sa.Column('samples', sa.Boolean(), nullable=False),
    sa.Column('private_offers', sa.Boolean(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('response_days', sa.Integer(), nullable=False),
    sa.Column('instructions', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_access_gates_dataset_id_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dataset_id', name=op.f('pk_access_gates'))
    )
    op.create_table('access_requests',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('dataset_id', sa.Uuid(), nullable=False),
    sa.Column('vendor_org_id', sa.Uuid(), nullable=False),
    sa.Column('buyer_org_id', sa.Uuid(), nullable=False),
    sa.Column('requested_by', sa.Uuid(), nullable=True),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('accepted_terms', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', 'withdrawn', name='access_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('decided_by', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('offer_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['buyer_org_id'], ['organizations.id'], name=op.f('fk_access_requests_buyer_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_access_requests_dataset_id_datasets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_access_requests_decided_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_access_requests_requested_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['vendor_org_id'], ['organizations.id'], name=op.f('fk_access_requests_vendor_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_requests'))
    )
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.create_index('ix_access_requests_buyer', ['buyer_org_id', 'created_at'], unique=False)
        batch_op.create_index('ix_access_requests_vendor', ['vendor_org_id', 'created_at'], unique=False)
        batch_op.create_index('uq_access_requests_open', ['dataset_id', 'buyer_org_id'], unique=True, postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))



def downgrade() -> None:
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_access_requests_open', postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
        batch_op.drop_index('ix_access_requests_vendor')
        batch_op.drop_index('ix_access_requests_buyer')

    op.drop_table('access_requests')
    op.drop_table('access_gates')
