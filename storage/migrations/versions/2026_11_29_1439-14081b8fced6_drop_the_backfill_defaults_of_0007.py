"""drop the backfill defaults of 0007

0007 gave warnings.revoked_by and welcome_pending.platform a server default ('') to fill rows
that existed before it; the models set those values themselves, and databases made from the
models (create_all) have no such default. Dropping it makes both kinds of database the same.

Revision ID: 14081b8fced6
Revises: 0009
Create Date: 2026-11-29 14:39:42.926603+00:00
"""

from alembic import op
import sqlalchemy as sa
import storage.types  # noqa: F401  (custom column types)


revision = '14081b8fced6'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('warnings', schema=None) as batch_op:
        batch_op.alter_column('revoked_by',
               existing_type=sa.VARCHAR(length=128),
               server_default=None,
               existing_nullable=False)

    with op.batch_alter_table('welcome_pending', schema=None) as batch_op:
        batch_op.alter_column('platform',
               existing_type=sa.VARCHAR(length=16),
               server_default=None,
               existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('welcome_pending', schema=None) as batch_op:
        batch_op.alter_column('platform',
               existing_type=sa.VARCHAR(length=16),
               server_default=sa.text("('')"),
               existing_nullable=False)

    with op.batch_alter_table('warnings', schema=None) as batch_op:
        batch_op.alter_column('revoked_by',
               existing_type=sa.VARCHAR(length=128),
               server_default=sa.text("('')"),
               existing_nullable=False)
