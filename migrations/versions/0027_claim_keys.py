"""A voucher claim's request key is the member's own: the unique key ``uq_voucher_request``
becomes ``(campaign_id, request_key, member_id)`` (it holds the distribution column; campaign
and key first, so that the claim's check for another member's key still uses it). See
docs/distribution.toml.

The downgrade puts ``(campaign_id, request_key)`` back; a key two members share in a campaign
is kept by the first voucher, the others get ``dup-<voucher id>`` (a retry of theirs is then
not recognised: it claims anew).

On SQLite the table is recreated (batch mode).

Revision ID: 0027_claim_keys
Revises: 0026_member_keys
Create Date: 2026-12-07
"""

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision = "0027_claim_keys"
down_revision = "0026_member_keys"
branch_labels = None
depends_on = None

NAME = "uq_voucher_request"
GUID = advanced_alchemy.types.guid.GUID(length=16)


def _rekey(columns: list[str]) -> None:
    with op.batch_alter_table("voucher") as batch_op:
        batch_op.drop_constraint(NAME, type_="unique")
        batch_op.create_unique_constraint(NAME, columns)


def upgrade() -> None:
    _rekey(["campaign_id", "request_key", "member_id"])


def downgrade() -> None:
    conn = op.get_bind()
    v = sa.table(
        "voucher",
        sa.column("id", GUID),
        sa.column("campaign_id", GUID),
        sa.column("request_key", sa.String),
        sa.column("claimed_at", sa.DateTime),
    )
    first = sa.alias(v, "first")
    shared = conn.execute(
        sa.select(v.c.id).where(
            sa.exists().where(
                first.c.campaign_id == v.c.campaign_id,
                first.c.request_key == v.c.request_key,
                sa.or_(
                    first.c.claimed_at < v.c.claimed_at,
                    sa.and_(first.c.claimed_at == v.c.claimed_at, first.c.id < v.c.id),
                ),
            )
        )
    ).scalars()
    for voucher_id in list(shared):
        conn.execute(
            sa.update(v).where(v.c.id == voucher_id).values(request_key=f"dup-{voucher_id.hex}")
        )
    _rekey(["campaign_id", "request_key"])
