"""A counter that ends every process's cached API keys at once when access narrows

The counter is raised by triggers on the tables themselves, so every write counts: a service's,
the CLI's, a bulk or raw SQL statement, a cascade from a deleted organisation, a hand-written
fix in psql. Updates of an API key's last use are bookkeeping and do not count.

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

BUMP = "UPDATE auth_epoch SET value = value + 1 WHERE id = 1"
# (trigger name, table, events)
TRIGGERS = [
    ("auth_epoch_api_keys", "api_keys", "UPDATE OF organization_id, user_id, prefix, secret_hash, scopes, expires_at, revoked_at"),
    ("auth_epoch_api_keys_delete", "api_keys", "DELETE"),
    ("auth_epoch_memberships_insert", "memberships", "INSERT"),
    ("auth_epoch_memberships_update", "memberships", "UPDATE"),
    ("auth_epoch_memberships_delete", "memberships", "DELETE"),
    ("auth_epoch_users", "users", "UPDATE OF email, is_active, is_platform_admin, is_platform_compliance"),
    ("auth_epoch_users_delete", "users", "DELETE"),
]


def upgrade() -> None:
    epoch = op.create_table(
        'auth_epoch',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_epoch')),
    )
    op.bulk_insert(epoch, [{'id': 1, 'value': 0}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE FUNCTION auth_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {BUMP}; RETURN NULL; END $$")
        for name, table, events in TRIGGERS:
            # Once per statement: a bulk change raises the counter once.
            op.execute(f"CREATE TRIGGER {name} AFTER {events} ON {table} FOR EACH STATEMENT EXECUTE FUNCTION auth_epoch_bump()")
    else:
        for name, table, events in TRIGGERS:
            op.execute(f"CREATE TRIGGER {name} AFTER {events} ON {table} BEGIN {BUMP}; END")


def downgrade() -> None:
    for name, table, _events in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS auth_epoch_bump()")
    op.drop_table('auth_epoch')
