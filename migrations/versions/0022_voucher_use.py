"""Vouchers at the till: ``voucher_use`` records each use of a voucher at a merchant (the bill,
the discount, what the merchant is owed and who pays it) and its reversal.

Revision ID: 0022_voucher_use
Revises: 0021_voucher_lapse
Create Date: 2026-12-07
"""

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision = "0022_voucher_use"
down_revision = "0021_voucher_lapse"
branch_labels = None
depends_on = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
UTC = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.create_table(
        "voucher_use",
        sa.Column("id", GUID, nullable=False),
        sa.Column("merchant_id", GUID, nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("voucher_id", GUID, nullable=False),
        sa.Column("campaign_id", GUID, nullable=False),
        sa.Column("member_id", GUID, nullable=False),
        sa.Column("store_id", GUID, nullable=True),
        sa.Column("terminal_id", GUID, nullable=True),
        sa.Column("card_id", GUID, nullable=True),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("discount_fen", sa.Integer(), nullable=False),
        sa.Column("subsidy_fen", sa.Integer(), nullable=False),
        sa.Column("funded_by", sa.String(length=16), nullable=False),
        sa.Column("bill_ref", sa.String(length=64), nullable=True),
        sa.Column("occurred_at", UTC, nullable=False),
        sa.Column("reversed_at", UTC, nullable=True),
        sa.Column("reversal_key", sa.String(length=128), nullable=True),
        sa.Column("reversal_reason", sa.String(length=255), nullable=True),
        sa.Column("reversal_outcome", sa.String(length=16), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "amount_fen >= 0 AND discount_fen >= 0 AND subsidy_fen >= 0",
            name=op.f("ck_voucher_use_amounts"),
        ),
        sa.PrimaryKeyConstraint("id", "merchant_id", name=op.f("pk_voucher_use")),
        sa.UniqueConstraint("merchant_id", "idempotency_key", name="uq_voucher_use_key"),
        sa.UniqueConstraint("merchant_id", "reversal_key", name="uq_voucher_use_reversal_key"),
    )
    op.create_index(
        "ix_voucher_use_merchant_at", "voucher_use", ["merchant_id", "occurred_at"], unique=False
    )
    op.create_index("ix_voucher_use_voucher", "voucher_use", ["voucher_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_voucher_use_voucher", table_name="voucher_use")
    op.drop_index("ix_voucher_use_merchant_at", table_name="voucher_use")
    op.drop_table("voucher_use")
