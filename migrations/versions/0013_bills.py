"""Benefits: the merchant's bill reference on redemptions, and the bill rows that make the
stacking rules hold across every redemption of one bill (benefit_bill).

Revision ID: 0013_bills
Revises: 0012_signin_join
Create Date: 2026-12-07
"""

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision = "0013_bills"
down_revision = "0012_signin_join"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "benefit_bill",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("merchant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("bill_ref", sa.String(length=64), nullable=False),
        sa.Column(
            "opened_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "last_redeemed_at",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=False,
        ),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benefit_bill")),
        sa.UniqueConstraint("merchant_id", "bill_ref", name="uq_benefit_bill_ref"),
    )
    # Existing redemptions name no bill: the column is NULL for them.
    with op.batch_alter_table("benefit_redemption", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bill_ref", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_benefit_redemption_bill",
        "benefit_redemption",
        ["merchant_id", "bill_ref"],
        unique=False,
        postgresql_where=sa.text("bill_ref IS NOT NULL"),
        sqlite_where=sa.text("bill_ref IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_benefit_redemption_bill", table_name="benefit_redemption")
    with op.batch_alter_table("benefit_redemption", schema=None) as batch_op:
        batch_op.drop_column("bill_ref")
    op.drop_table("benefit_bill")
