"""Benefits: voucher campaigns and the claimed vouchers (slot and nth bounded per campaign).

Revision ID: 0019_vouchers
Revises: 0018_activities
Create Date: 2026-12-07
"""

import advanced_alchemy
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0019_vouchers"
down_revision = "0018_activities"
branch_labels = None
depends_on = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
UTC = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.create_table(
        "voucher_campaign",
        sa.Column("id", GUID, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("owner_org_id", GUID, nullable=False),
        sa.Column("owner_org_path", sa.String(length=400), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                "ended",
                name="campaignstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "mode",
            sa.Enum("first_come", "lottery", name="campaignmode", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "terms",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("per_member", sa.Integer(), nullable=False),
        sa.Column("opens_at", UTC, nullable=False),
        sa.Column("closes_at", UTC, nullable=False),
        sa.Column("created_by", GUID, nullable=True),
        sa.Column("published_at", UTC, nullable=True),
        sa.Column("commitment", sa.String(length=64), nullable=True),
        sa.Column("seed", sa.String(length=64), nullable=True),
        sa.Column("drawn_at", UTC, nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.CheckConstraint("stock > 0", name=op.f("ck_voucher_campaign_stock")),
        sa.CheckConstraint("per_member > 0", name=op.f("ck_voucher_campaign_per_member")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_campaign")),
        sa.UniqueConstraint("code", name=op.f("uq_voucher_campaign_code")),
    )
    op.create_index(
        "ix_voucher_campaign_owner_path", "voucher_campaign", ["owner_org_path"], unique=False
    )
    op.create_index(
        op.f("ix_voucher_campaign_owner_org_id"),
        "voucher_campaign",
        ["owner_org_id"],
        unique=False,
    )
    op.create_table(
        "voucher",
        sa.Column("id", GUID, nullable=False),
        sa.Column("campaign_id", GUID, nullable=False),
        sa.Column("member_id", GUID, nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("nth", sa.Integer(), nullable=False),
        sa.Column("request_key", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active", "used", "expired", name="voucherstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("claimed_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("used_at", UTC, nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.CheckConstraint("slot >= 0 AND nth >= 0", name=op.f("ck_voucher_slot_nth")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["voucher_campaign.id"],
            name=op.f("fk_voucher_campaign_id_voucher_campaign"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher")),
        sa.UniqueConstraint("campaign_id", "slot", name="uq_voucher_slot"),
        sa.UniqueConstraint("campaign_id", "member_id", "nth", name="uq_voucher_member_nth"),
        sa.UniqueConstraint("campaign_id", "request_key", name="uq_voucher_request"),
    )
    op.create_index("ix_voucher_member", "voucher", ["member_id", "claimed_at"], unique=False)
    op.create_table(
        "voucher_application",
        sa.Column("id", GUID, nullable=False),
        sa.Column("campaign_id", GUID, nullable=False),
        sa.Column("member_id", GUID, nullable=False),
        sa.Column("pseudonym", sa.String(length=32), nullable=False),
        sa.Column("applied_at", UTC, nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["voucher_campaign.id"],
            name=op.f("fk_voucher_application_campaign_id_voucher_campaign"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_application")),
        sa.UniqueConstraint("campaign_id", "member_id", name="uq_voucher_application_member"),
        sa.UniqueConstraint(
            "campaign_id", "pseudonym", name="uq_voucher_application_pseudonym"
        ),
    )


def downgrade() -> None:
    op.drop_table("voucher_application")
    op.drop_index("ix_voucher_member", table_name="voucher")
    op.drop_table("voucher")
    op.drop_index(op.f("ix_voucher_campaign_owner_org_id"), table_name="voucher_campaign")
    op.drop_index("ix_voucher_campaign_owner_path", table_name="voucher_campaign")
    op.drop_table("voucher_campaign")
