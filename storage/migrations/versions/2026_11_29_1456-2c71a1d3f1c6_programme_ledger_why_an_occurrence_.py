"""programme ledger: why an occurrence failed

A ledger row may now be ``failed`` (its content could not be rendered) and says why. Rows
written before get an empty reason: the column is added with a server default to fill them,
which is then dropped (the model sets the value itself, as a create_all database has it).

Revision ID: 2c71a1d3f1c6
Revises: 14081b8fced6
Create Date: 2026-11-29 14:56:41.609713+00:00
"""

from alembic import op
import sqlalchemy as sa
import storage.types  # noqa: F401  (custom column types)


revision = '2c71a1d3f1c6'
down_revision = '14081b8fced6'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('programme_occurrences', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('reason', sa.String(length=256), nullable=False, server_default='')
        )
    with op.batch_alter_table('programme_occurrences', schema=None) as batch_op:
        batch_op.alter_column(
            'reason', existing_type=sa.String(length=256), server_default=None,
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table('programme_occurrences', schema=None) as batch_op:
        batch_op.drop_column('reason')
