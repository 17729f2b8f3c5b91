"""Benefits: merchants' monthly settlement statements (open → confirmed → paid, figures frozen
at confirmation) and the month each reversal is booked into.

Revision ID: 0014_settlements
Revises: 0013_bills
Create Date: 2026-12-07
"""

import advanced_alchemy
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014_settlements"
down_revision = "0013_bills"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "benefit_settlement",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("merchant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open", "confirmed", "paid", name="settlementstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column(
            "figures",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "confirmed_at",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=True,
        ),
        sa.Column("confirmed_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column(
            "paid_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("paid_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("payment_ref", sa.String(length=64), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benefit_settlement")),
        sa.UniqueConstraint("merchant_id", "month", name="uq_benefit_settlement_month"),
    )
    op.create_index(
        "ix_benefit_settlement_month", "benefit_settlement", ["month", "status"], unique=False
    )
    # Existing reversals are netted out in their redemption's own month: NULL says so.
    with op.batch_alter_table("benefit_reversal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("booked_month", sa.String(length=7), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("benefit_reversal", schema=None) as batch_op:
        batch_op.drop_column("booked_month")
    op.drop_index("ix_benefit_settlement_month", table_name="benefit_settlement")
    op.drop_table("benefit_settlement")
