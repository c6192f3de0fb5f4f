"""referral feature tables: invite ledger, adjustments, reward claims and codes, referral codes

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import storage.types  # noqa: F401  (custom column types)

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "invite_adjustments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("group_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.String(length=128), nullable=False),
        sa.Column("undone", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite_adjustments")),
    )
    op.create_index("ix_invite_adj_user", "invite_adjustments", ["group_id", "user_id"])

    op.create_table(
        "invites",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("group_id", sa.String(length=128), nullable=False),
        sa.Column("invitee_id", sa.String(length=128), nullable=False),
        sa.Column("inviter_id", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("joined_at", UTC, nullable=False),
        sa.Column("qualified_at", UTC, nullable=True),
        sa.Column("left_at", UTC, nullable=True),
        sa.Column("credit_day", sa.Date(), nullable=True),
        sa.Column("credit_seq", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invites")),
        sa.UniqueConstraint("group_id", "invitee_id", name=op.f("uq_invites_group_id_invitee_id")),
        sa.UniqueConstraint(
            "group_id",
            "inviter_id",
            "credit_day",
            "credit_seq",
            name=op.f("uq_invites_group_id_inviter_id_credit_day_credit_seq"),
        ),
    )
    op.create_index("ix_invites_inviter", "invites", ["group_id", "inviter_id", "status"])
    op.create_index("ix_invites_pending", "invites", ["status", "joined_at"])

    op.create_table(
        "reward_claims",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("group_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("reward", sa.String(length=256), nullable=False),
        sa.Column("code", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_at", UTC, nullable=False),
        sa.Column("fulfilled_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_claims")),
        sa.UniqueConstraint(
            "group_id", "user_id", "tier", name=op.f("uq_reward_claims_group_id_user_id_tier")
        ),
    )

    op.create_table(
        "reward_codes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=256), nullable=False),
        sa.Column("claim_id", BigId, nullable=True),
        sa.Column("added_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_codes")),
        sa.UniqueConstraint("claim_id", name=op.f("uq_reward_codes_claim_id")),
        sa.UniqueConstraint("code", name=op.f("uq_reward_codes_code")),
    )
    op.create_index("ix_reward_codes_free", "reward_codes", ["tier", "claim_id"])

    op.create_table(
        "referral_codes",
        sa.Column("group_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_referral_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_referral_codes_code")),
    )


def downgrade() -> None:
    op.drop_table("referral_codes")
    op.drop_index("ix_reward_codes_free", table_name="reward_codes")
    op.drop_table("reward_codes")
    op.drop_table("reward_claims")
    op.drop_index("ix_invites_pending", table_name="invites")
    op.drop_index("ix_invites_inviter", table_name="invites")
    op.drop_table("invites")
    op.drop_index("ix_invite_adj_user", table_name="invite_adjustments")
    op.drop_table("invite_adjustments")
