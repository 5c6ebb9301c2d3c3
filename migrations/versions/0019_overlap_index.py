"""The overlap index and its findings ([R2 6/11])

- `overlap_records`: one row per signed record of a version (exact hash of its normalised text,
  a 16-bit-per-value MinHash signature, where it is in its file);
- `overlap_bands`: one row per LSH band key of each record; its primary key (band, record) is
  the near-duplicate lookup;
- `overlap_reports`: per version, the vendor's text fields, the within-dataset duplicate
  figures, and the hold / appeal / override state;
- `overlap_findings`: per (version, other published version) pair, how much was found.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 17:28:14
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('overlap_bands',
    sa.Column('band', sa.BigInteger(), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('version_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['dataset_versions.id'], name=op.f('fk_overlap_bands_version_id_dataset_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('band', 'record_id', name=op.f('pk_overlap_bands'))
    )
    with op.batch_alter_table('overlap_bands', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_overlap_bands_version_id'), ['version_id'], unique=False)

    op.create_table('overlap_findings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version_id', sa.Uuid(), nullable=False),
    sa.Column('dataset_id', sa.Uuid(), nullable=False),
    sa.Column('other_version_id', sa.Uuid(), nullable=False),
    sa.Column('other_dataset_id', sa.Uuid(), nullable=False),
    sa.Column('other_org_id', sa.Uuid(), nullable=False),
    sa.Column('same_vendor', sa.Boolean(), nullable=False),
    sa.Column('other_earlier', sa.Boolean(), nullable=False),
    sa.Column('records', sa.BigInteger(), nullable=False),
    sa.Column('exact', sa.BigInteger(), nullable=False),
    sa.Column('near', sa.BigInteger(), nullable=False),
    sa.Column('other_records', sa.BigInteger(), nullable=False),
    sa.Column('other_matched', sa.BigInteger(), nullable=False),
    sa.Column('share', sa.Float(), nullable=False),
    sa.Column('files', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_overlap_findings_dataset_id_datasets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['other_dataset_id'], ['datasets.id'], name=op.f('fk_overlap_findings_other_dataset_id_datasets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['other_version_id'], ['dataset_versions.id'], name=op.f('fk_overlap_findings_other_version_id_dataset_versions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['dataset_versions.id'], name=op.f('fk_overlap_findings_version_id_dataset_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_overlap_findings'))
    )
    with op.batch_alter_table('overlap_findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_overlap_findings_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index('ix_overlap_findings_other', ['other_dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_overlap_findings_other_version_id'), ['other_version_id'], unique=False)
        batch_op.create_index('ix_overlap_findings_version', ['version_id', 'other_version_id'], unique=True)

    op.create_table('overlap_reports',
    sa.Column('version_id', sa.Uuid(), nullable=False),
    sa.Column('text_fields', sa.JSON(), nullable=True),
    sa.Column('state', sa.Enum('clear', 'blocked', 'appealed', 'overridden', name='overlap_state', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('records', sa.BigInteger(), nullable=False),
    sa.Column('duplicate_exact', sa.BigInteger(), nullable=False),
    sa.Column('duplicate_near', sa.BigInteger(), nullable=False),
    sa.Column('files', sa.JSON(), nullable=True),
    sa.Column('reason', sa.String(length=2000), nullable=True),
    sa.Column('appeal', sa.Text(), nullable=True),
    sa.Column('appealed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('algorithm', sa.String(length=64), nullable=True),
    sa.Column('content_key', sa.String(length=64), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['dataset_versions.id'], name=op.f('fk_overlap_reports_version_id_dataset_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', name=op.f('pk_overlap_reports'))
    )
    op.create_table('overlap_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('version_id', sa.Uuid(), nullable=False),
    sa.Column('file_id', sa.Uuid(), nullable=False),
    sa.Column('ordinal', sa.BigInteger(), nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.Column('length', sa.BigInteger(), nullable=False),
    sa.Column('exact', sa.BigInteger(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['version_files.id'], name=op.f('fk_overlap_records_file_id_version_files'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['dataset_versions.id'], name=op.f('fk_overlap_records_version_id_dataset_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_overlap_records'))
    )
    with op.batch_alter_table('overlap_records', schema=None) as batch_op:
        batch_op.create_index('ix_overlap_records_exact', ['exact'], unique=False)
        batch_op.create_index(batch_op.f('ix_overlap_records_version_id'), ['version_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('overlap_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_overlap_records_version_id'))
        batch_op.drop_index('ix_overlap_records_exact')

    op.drop_table('overlap_records')
    op.drop_table('overlap_reports')
    with op.batch_alter_table('overlap_findings', schema=None) as batch_op:
        batch_op.drop_index('ix_overlap_findings_version')
        batch_op.drop_index(batch_op.f('ix_overlap_findings_other_version_id'))
        batch_op.drop_index('ix_overlap_findings_other')
        batch_op.drop_index(batch_op.f('ix_overlap_findings_dataset_id'))

    op.drop_table('overlap_findings')
    with op.batch_alter_table('overlap_bands', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_overlap_bands_version_id'))

    op.drop_table('overlap_bands')
