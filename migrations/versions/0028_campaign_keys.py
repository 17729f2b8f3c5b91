"""The vouchers' campaign-wide unique keys move to lookup tables distributed by campaign
(docs/distribution.toml), written with the row they guard:

* ``voucher_slot (campaign_id, slot → member_id, voucher_id)``: a stock slot is taken once;
  filled from the vouchers holding a slot; ``uq_voucher_slot`` goes;
* ``draw_entry (campaign_id, pseudonym → member_id)``: a lottery pseudonym names one applicant;
  filled from the applications; ``uq_voucher_application_pseudonym`` goes.

The downgrade puts the two unique keys back and drops the tables.

Revision ID: 0028_campaign_keys
Revises: 0027_claim_keys
Create Date: 2026-12-07
"""

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision = "0028_campaign_keys"
down_revision = "0027_claim_keys"
branch_labels = None
depends_on = None

GUID = advanced_alchemy.types.guid.GUID(length=16)


def upgrade() -> None:
    op.create_table(
        "voucher_slot",
        sa.Column("campaign_id", GUID, nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("member_id", GUID, nullable=False),
        sa.Column("voucher_id", GUID, nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["voucher_campaign.id"],
            name=op.f("fk_voucher_slot_campaign_id_voucher_campaign"),
        ),
        sa.PrimaryKeyConstraint("campaign_id", "slot", name=op.f("pk_voucher_slot")),
    )
    op.create_table(
        "draw_entry",
        sa.Column("campaign_id", GUID, nullable=False),
        sa.Column("pseudonym", sa.String(length=32), nullable=False),
        sa.Column("member_id", GUID, nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["voucher_campaign.id"],
            name=op.f("fk_draw_entry_campaign_id_voucher_campaign"),
        ),
        sa.PrimaryKeyConstraint("campaign_id", "pseudonym", name=op.f("pk_draw_entry")),
    )
    op.execute(
        "INSERT INTO voucher_slot (campaign_id, slot, member_id, voucher_id) "
        "SELECT campaign_id, slot, member_id, id FROM voucher WHERE slot IS NOT NULL"
    )
    op.execute(
        "INSERT INTO draw_entry (campaign_id, pseudonym, member_id) "
        "SELECT campaign_id, pseudonym, member_id FROM voucher_application"
    )
    with op.batch_alter_table("voucher") as batch_op:
        batch_op.drop_constraint("uq_voucher_slot", type_="unique")
    with op.batch_alter_table("voucher_application") as batch_op:
        batch_op.drop_constraint("uq_voucher_application_pseudonym", type_="unique")


def downgrade() -> None:
    with op.batch_alter_table("voucher_application") as batch_op:
        batch_op.create_unique_constraint(
            "uq_voucher_application_pseudonym", ["campaign_id", "pseudonym"]
        )
    with op.batch_alter_table("voucher") as batch_op:
        batch_op.create_unique_constraint("uq_voucher_slot", ["campaign_id", "slot"])
    op.drop_table("draw_entry")
    op.drop_table("voucher_slot")
