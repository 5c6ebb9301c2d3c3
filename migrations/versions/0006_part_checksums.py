"""Per-part CRC-32 checksums for multipart uploads (the part URLs are signed for them)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 12:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('version_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('part_checksums', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('version_files', schema=None) as batch_op:
        batch_op.drop_column('part_checksums')
