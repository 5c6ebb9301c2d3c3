"""Blob holders: which organisations proved they hold a blob's bytes (de-duplication never grants access)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 12:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('blob_holders',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_blob_holders_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sha256'], ['blobs.sha256'], name=op.f('fk_blob_holders_sha256_blobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sha256', 'organization_id', name=op.f('pk_blob_holders'))
    )
    # Before this rule, a digest could be referenced without its bytes. The organisation whose
    # version with that digest was published first is the one whose ingest stored the blob, so it
    # certainly uploaded the bytes: it keeps free re-use. Any other organisation uploads the bytes
    # again the next time it declares them.
    op.execute(
        """
        INSERT INTO blob_holders (sha256, organization_id, created_at)
        SELECT first.sha256, first.organization_id, CURRENT_TIMESTAMP FROM (
            SELECT b.sha256 AS sha256, (
                SELECT d.organization_id FROM version_files vf
                JOIN dataset_versions v ON v.id = vf.version_id
                JOIN datasets d ON d.id = v.dataset_id
                WHERE vf.sha256 = b.sha256 AND vf.status = 'verified'
                ORDER BY CASE WHEN v.published_at IS NULL THEN 1 ELSE 0 END, v.published_at, vf.created_at, vf.id LIMIT 1
            ) AS organization_id
            FROM blobs b
        ) AS first
        WHERE first.organization_id IS NOT NULL
        """
    )


def downgrade() -> None:
    op.drop_table('blob_holders')
