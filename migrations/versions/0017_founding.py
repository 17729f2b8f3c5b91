"""Founding a union online: applications, their documents and timeline, and the enterprise
register behind the founding rate.

Revision ID: 0017_founding
Revises: 0016_stores
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "0017_founding"
down_revision = "0016_stores"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enterprise",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.Column("org_id", GUID(length=16), nullable=False),
        sa.Column("org_path", sa.String(length=400), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["org.id"], name=op.f("fk_enterprise_org_id_org")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprise")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_enterprise_credit_code")),
    )
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.create_index("ix_enterprise_org_path", ["org_path"], unique=False)

    op.create_table(
        "founding_application",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("ref_no", sa.String(length=20), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("found", "join_joint", name="foundingkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "applicant_type",
            sa.Enum("employer", "workers", name="applicanttype", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "submitted",
                "info_requested",
                "refused",
                "approved",
                name="foundingstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("phone_enc", sa.Text(), nullable=False),
        sa.Column("contact_name_enc", sa.Text(), nullable=False),
        sa.Column("founders_enc", sa.Text(), nullable=False),
        sa.Column("founders_count", sa.Integer(), nullable=False),
        sa.Column("data_key_id", sa.String(length=16), nullable=False),
        sa.Column("enterprise_name", sa.String(length=128), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.Column("union_name", sa.String(length=128), nullable=True),
        sa.Column("joint_org_id", GUID(length=16), nullable=True),
        sa.Column("reviewer_org_id", GUID(length=16), nullable=False),
        sa.Column("reviewer_org_path", sa.String(length=400), nullable=False),
        sa.Column("submitted_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("decided_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("staff_note", sa.Text(), nullable=True),
        sa.Column("org_id", GUID(length=16), nullable=True),
        sa.Column("admin_staff_id", GUID(length=16), nullable=True),
        sa.Column("invite_token", sa.String(length=64), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["admin_staff_id"],
            ["staff_user.id"],
            name=op.f("fk_founding_application_admin_staff_id_staff_user"),
        ),
        sa.ForeignKeyConstraint(
            ["joint_org_id"], ["org.id"], name=op.f("fk_founding_application_joint_org_id_org")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org.id"], name=op.f("fk_founding_application_org_id_org")
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_org_id"],
            ["org.id"],
            name=op.f("fk_founding_application_reviewer_org_id_org"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_founding_application")),
        sa.UniqueConstraint("ref_no", name=op.f("uq_founding_application_ref_no")),
    )
    with op.batch_alter_table("founding_application", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_founding_application_credit_code"), ["credit_code"], unique=False
        )
        batch_op.create_index("ix_founding_application_phone", ["phone_hash"], unique=False)
        batch_op.create_index(
            "ix_founding_application_reviewer_path", ["reviewer_org_path"], unique=False
        )

    op.create_table(
        "founding_document",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("application_id", GUID(length=16), nullable=False),
        sa.Column("filename", sa.String(length=128), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["founding_application.id"],
            name=op.f("fk_founding_document_application_id_founding_application"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_founding_document")),
    )
    with op.batch_alter_table("founding_document", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_founding_document_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_founding_document_sha256"), ["sha256"], unique=False)

    op.create_table(
        "founding_step",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("application_id", GUID(length=16), nullable=False),
        sa.Column("at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["founding_application.id"],
            name=op.f("fk_founding_step_application_id_founding_application"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_founding_step")),
    )
    with op.batch_alter_table("founding_step", schema=None) as batch_op:
        batch_op.create_index("ix_founding_step_app_at", ["application_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("founding_step", schema=None) as batch_op:
        batch_op.drop_index("ix_founding_step_app_at")

    op.drop_table("founding_step")
    with op.batch_alter_table("founding_document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_founding_document_sha256"))
        batch_op.drop_index(batch_op.f("ix_founding_document_application_id"))

    op.drop_table("founding_document")
    with op.batch_alter_table("founding_application", schema=None) as batch_op:
        batch_op.drop_index("ix_founding_application_reviewer_path")
        batch_op.drop_index("ix_founding_application_phone")
        batch_op.drop_index(batch_op.f("ix_founding_application_credit_code"))

    op.drop_table("founding_application")
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.drop_index("ix_enterprise_org_path")

    op.drop_table("enterprise")
