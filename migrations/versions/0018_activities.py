"""Union activities and training courses (activity) and the members' sign-ups
(activity_signup): places, the waiting list, attendance, completion and certificates.

Revision ID: 0018_activities
Revises: 0017_founding
Create Date: 2026-12-07
"""

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision = "0018_activities"
down_revision = "0017_founding"
branch_labels = None
depends_on = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
UTC = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def _audit_columns() -> list[sa.Column]:
    return [
        sa.Column("id", GUID, nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "activity",
        sa.Column("org_id", GUID, nullable=False),
        sa.Column("org_path", sa.String(length=400), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("activity", "training", name="activitykind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("published", "cancelled", name="activitystatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("starts_at", UTC, nullable=False),
        sa.Column("ends_at", UTC, nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("store_id", GUID, nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("eligibility", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("signup_opens_at", UTC, nullable=False),
        sa.Column("signup_closes_at", UTC, nullable=False),
        sa.Column("cancel_deadline", UTC, nullable=False),
        sa.Column("cost_fen", sa.Integer(), nullable=False),
        sa.Column("subsidy_fen", sa.Integer(), nullable=False),
        sa.Column("training_minutes", sa.Integer(), nullable=True),
        sa.Column("signed_count", sa.Integer(), nullable=False),
        sa.Column("waitlist_seq", sa.Integer(), nullable=False),
        sa.Column("reminded_at", UTC, nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        *_audit_columns(),
        sa.ForeignKeyConstraint(["org_id"], ["org.id"], name=op.f("fk_activity_org_id_org")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity")),
    )
    op.create_index("ix_activity_org_path_starts", "activity", ["org_path", "starts_at"])
    op.create_table(
        "activity_signup",
        sa.Column("activity_id", GUID, nullable=False),
        sa.Column("member_id", GUID, nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "signed",
                "waitlisted",
                "cancelled",
                name="signupstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("signed_up_at", UTC, nullable=False),
        sa.Column("promoted_at", UTC, nullable=True),
        sa.Column("cancelled_at", UTC, nullable=True),
        sa.Column("checked_in_at", UTC, nullable=True),
        sa.Column("checked_in_by", sa.String(length=64), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("completed_at", UTC, nullable=True),
        sa.Column("cert_no", sa.String(length=32), nullable=True),
        *_audit_columns(),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_activity_signup_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_activity_signup_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_signup")),
        sa.UniqueConstraint(
            "activity_id", "member_id", name=op.f("uq_activity_signup_activity_id")
        ),
        sa.UniqueConstraint("cert_no", name=op.f("uq_activity_signup_cert_no")),
    )
    op.create_index("ix_activity_signup_member", "activity_signup", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_activity_signup_member", table_name="activity_signup")
    op.drop_table("activity_signup")
    op.drop_index("ix_activity_org_path_starts", table_name="activity")
    op.drop_table("activity")
