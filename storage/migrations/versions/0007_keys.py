"""idempotency keys for warnings and the moderation log, referral codes and credit slots,
welcome notices

Existing rows get a key made from their id ('legacy:<id>'), so the unique constraint holds for
databases created before this revision; new columns on existing rows get neutral defaults.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import storage.types  # noqa: F401  (custom column types)

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "referral_codes",
        sa.Column("group_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_referral_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_referral_codes_code")),
    )
    op.create_table(
        "welcome_notices",
        sa.Column("group_id", sa.String(length=128), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("group_id", "key", name=op.f("pk_welcome_notices")),
    )
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credit_day", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("credit_seq", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_invites_group_id_inviter_id_credit_day_credit_seq"),
            ["group_id", "inviter_id", "credit_day", "credit_seq"],
        )

    # key columns: add nullable, backfill from the id, then make them required and unique
    for table in ("moderation_log", "warnings"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("key", sa.String(length=200), nullable=True))
        op.execute(f"UPDATE {table} SET key = 'legacy:' || CAST(id AS VARCHAR(40))")

    with op.batch_alter_table("moderation_log", schema=None) as batch_op:
        batch_op.alter_column("key", existing_type=sa.String(length=200), nullable=False)
        batch_op.add_column(sa.Column("warning_id", BigId, nullable=True))
        batch_op.add_column(sa.Column("event_id", BigId, nullable=True))
        batch_op.add_column(
            sa.Column("undone_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint(batch_op.f("uq_moderation_log_key"), ["key"])

    with op.batch_alter_table("warnings", schema=None) as batch_op:
        batch_op.alter_column("key", existing_type=sa.String(length=200), nullable=False)
        batch_op.add_column(
            sa.Column("revoked_by", sa.String(length=128), nullable=False, server_default="")
        )
        batch_op.create_unique_constraint(batch_op.f("uq_warnings_key"), ["key"])

    with op.batch_alter_table("welcome_pending", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("platform", sa.String(length=16), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("welcome_pending", schema=None) as batch_op:
        batch_op.drop_column("platform")

    with op.batch_alter_table("warnings", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_warnings_key"), type_="unique")
        batch_op.drop_column("revoked_by")
        batch_op.drop_column("key")

    with op.batch_alter_table("moderation_log", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_moderation_log_key"), type_="unique")
        batch_op.drop_column("undone_at")
        batch_op.drop_column("event_id")
        batch_op.drop_column("warning_id")
        batch_op.drop_column("key")

    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_invites_group_id_inviter_id_credit_day_credit_seq"), type_="unique"
        )
        batch_op.drop_column("credit_seq")
        batch_op.drop_column("credit_day")

    op.drop_table("welcome_notices")
    op.drop_table("referral_codes")
