"""The versions of the user agreement, privacy notice and 入会须知 a person accepted
(member_consent), kept per phone hash.

Revision ID: 0015_consent
Revises: 0013_bills
Create Date: 2026-12-07
"""

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision = "0015_consent"
down_revision = "0014_settlements"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member_consent",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("document", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column(
            "accepted_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_consent")),
    )
    op.create_index(
        "ix_member_consent_phone", "member_consent", ["phone_hash", "document"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_member_consent_phone", table_name="member_consent")
    op.drop_table("member_consent")
