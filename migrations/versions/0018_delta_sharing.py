"""Delta Sharing: share tokens and tables of files

- `share_tokens`: a grant's Delta Sharing bearer tokens (a SHA-256 of the secret only), each
  acting for the buyer member who made it, revocable, expiring;
- `version_files.table_*`: a tabular file as a Parquet table (a CSV or JSONL file's conversion
  made at ingest, or a Parquet file itself): its blob's digest and size, and its Delta schema.
  Versions published before this revision get theirs from `marketplace jobs make-tables`,
  unlisted in their manifest (`table_listed`), whose root digest must not change.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 14:42:49
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('share_tokens',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('grant_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('api_key_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_share_tokens_api_key_id_api_keys'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], name=op.f('fk_share_tokens_grant_id_grants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_share_tokens_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_share_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_tokens'))
    )
    with op.batch_alter_table('share_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_share_tokens_api_key_id'), ['api_key_id'], unique=False)
        batch_op.create_index('ix_share_tokens_grant', ['grant_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_share_tokens_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_share_tokens_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('version_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('table_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('table_size', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('table_records', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('table_schema', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('table_listed', sa.Boolean(), server_default=sa.true(), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('version_files', schema=None) as batch_op:
        batch_op.drop_column('table_listed')
        batch_op.drop_column('table_schema')
        batch_op.drop_column('table_records')
        batch_op.drop_column('table_size')
        batch_op.drop_column('table_sha256')

    with op.batch_alter_table('share_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_share_tokens_user_id'))
        batch_op.drop_index(batch_op.f('ix_share_tokens_organization_id'))
        batch_op.drop_index('ix_share_tokens_grant')
        batch_op.drop_index(batch_op.f('ix_share_tokens_api_key_id'))

    op.drop_table('share_tokens')
