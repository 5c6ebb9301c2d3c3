"""Models and training runs: what a buyer organisation trained, and on what

- `ai_models`: a model (name, version, provider, release date) of a buyer organisation;
- `training_runs`: the runs of a model;
- `training_inputs`: what each run was fed: a grant's version (all files, or the files attached
  from a verified download) or a declared source (public, private, crawled, user, synthetic,
  other) with its modality, declared size and languages.
- `grants.held_version_id`: a grant for "latest" that a new version's terms (a licence its own does
  not allow, model-output terms not accepted) would exceed stays on this version.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 05:21:59
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_version_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_grants_held_version_id_dataset_versions'), 'dataset_versions', ['held_version_id'], ['id'], ondelete='RESTRICT')

    op.create_table('ai_models',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('provider', sa.String(length=300), nullable=False),
    sa.Column('release_date', sa.Date(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_ai_models_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_ai_models_organization_id_organizations'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ai_models')),
    sa.UniqueConstraint('organization_id', 'name', 'version', name='uq_ai_models_org_name_version')
    )
    with op.batch_alter_table('ai_models', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ai_models_organization_id'), ['organization_id'], unique=False)

    op.create_table('training_runs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('model_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['ai_models.id'], name=op.f('fk_training_runs_model_id_ai_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_runs')),
    sa.UniqueConstraint('model_id', 'name', name='uq_training_runs_model_name')
    )
    with op.batch_alter_table('training_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_runs_model_id'), ['model_id'], unique=False)

    op.create_table('training_inputs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('run_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('grant', 'public', 'private', 'crawled', 'user', 'synthetic', 'other', name='training_input_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('grant_id', sa.Uuid(), nullable=True),
    sa.Column('version_id', sa.Uuid(), nullable=True),
    sa.Column('files', sa.JSON(), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=True),
    sa.Column('modality', sa.Enum('text', 'image', 'audio', 'video', 'other', name='training_modality', native_enum=False, create_constraint=True, length=16), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], name=op.f('fk_training_inputs_grant_id_grants'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['run_id'], ['training_runs.id'], name=op.f('fk_training_inputs_run_id_training_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['dataset_versions.id'], name=op.f('fk_training_inputs_version_id_dataset_versions'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_inputs'))
    )
    with op.batch_alter_table('training_inputs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_inputs_grant_id'), ['grant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_inputs_run_id'), ['run_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_grants_held_version_id_dataset_versions'), type_='foreignkey')
        batch_op.drop_column('held_version_id')

    with op.batch_alter_table('training_inputs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_inputs_run_id'))
        batch_op.drop_index(batch_op.f('ix_training_inputs_grant_id'))

    op.drop_table('training_inputs')
    with op.batch_alter_table('training_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_runs_model_id'))

    op.drop_table('training_runs')
    with op.batch_alter_table('ai_models', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ai_models_organization_id'))

    op.drop_table('ai_models')
