"""Vouchers lapse: a campaign may restock expired vouchers, a lapsed voucher may give its slot
back (``voucher.slot`` NULL), and the member is told of a lottery win and of a coming expiry
once each; a used voucher records its merchant and discount (the subsidy owed).

On SQLite the voucher table is recreated (batch mode) to drop NOT NULL from ``slot``.

Revision ID: 0021_voucher_lapse
Revises: 0020_partitions
Create Date: 2026-12-07
"""

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision = "0021_voucher_lapse"
down_revision = "0020_partitions"
branch_labels = None
depends_on = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
UTC = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("voucher_campaign", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("restock_expired", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("voucher", schema=None) as batch_op:
        batch_op.alter_column("slot", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("merchant_id", GUID, nullable=True))
        batch_op.add_column(sa.Column("discount_fen", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("won_notified_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("expiry_notified_at", UTC, nullable=True))
        batch_op.create_index("ix_voucher_due", ["status", "expires_at"], unique=False)


def downgrade() -> None:
    # Vouchers that gave their slot back take one past any stock (unique per campaign).
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, campaign_id FROM voucher WHERE slot IS NULL")).all()
    parked: dict[object, int] = {}
    for vid, campaign in rows:
        parked[campaign] = parked.get(campaign, 0) + 1
        conn.execute(
            sa.text("UPDATE voucher SET slot = :slot WHERE id = :id"),
            {"slot": 2_000_000_000 - parked[campaign], "id": vid},
        )
    with op.batch_alter_table("voucher", schema=None) as batch_op:
        batch_op.drop_index("ix_voucher_due")
        batch_op.drop_column("expiry_notified_at")
        batch_op.drop_column("won_notified_at")
        batch_op.drop_column("discount_fen")
        batch_op.drop_column("merchant_id")
        batch_op.alter_column("slot", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("voucher_campaign", schema=None) as batch_op:
        batch_op.drop_column("restock_expired")
