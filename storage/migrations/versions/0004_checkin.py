"""checkin feature tables

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import storage.types  # noqa: F401  (custom column types)

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('checkin_day_counts',
    sa.Column('group_id', sa.String(length=128), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('group_id', 'day', name=op.f('pk_checkin_day_counts'))
    )
    op.create_table('checkin_stats',
    sa.Column('group_id', sa.String(length=128), nullable=False),
    sa.Column('user_id', sa.String(length=128), nullable=False),
    sa.Column('total_days', sa.Integer(), nullable=False),
    sa.Column('streak', sa.Integer(), nullable=False),
    sa.Column('best_streak', sa.Integer(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=True),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('season', sa.String(length=7), nullable=False),
    sa.Column('season_days', sa.Integer(), nullable=False),
    sa.Column('season_points', sa.Integer(), nullable=False),
    sa.Column('cards', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('group_id', 'user_id', name=op.f('pk_checkin_stats'))
    )
    with op.batch_alter_table('checkin_stats', schema=None) as batch_op:
        batch_op.create_index('ix_checkin_stats_points', ['group_id', 'points'], unique=False)
        batch_op.create_index('ix_checkin_stats_total', ['group_id', 'total_days'], unique=False)

    op.create_table('checkins',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('group_id', sa.String(length=128), nullable=False),
    sa.Column('user_id', sa.String(length=128), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('streak', sa.Integer(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('image_url', sa.Text(), nullable=False),
    sa.Column('makeup', sa.Boolean(), nullable=False),
    sa.Column('void', sa.Boolean(), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkins')),
    sa.UniqueConstraint('group_id', 'user_id', 'day', name=op.f('uq_checkins_group_id_user_id_day'))
    )
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.create_index('ix_checkins_group_day', ['group_id', 'day'], unique=False)

    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_table('checkin_day_counts')
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_index('ix_checkins_group_day')

    op.drop_table('checkins')
    with op.batch_alter_table('checkin_stats', schema=None) as batch_op:
        batch_op.drop_index('ix_checkin_stats_total')
        batch_op.drop_index('ix_checkin_stats_points')

    op.drop_table('checkin_stats')
    # ### end Alembic commands ###
