"""Entitlement-bearing facts come only from approved records.

Join applications no longer carry member categories or a hardship level (staff set categories;
hardship comes only from an approved hardship record). Members who are in hardship without an
approved record (set by a join application, a staff edit or a roster import before this
version) are brought under the record's lifecycle rather than cut off overnight:

* an active or suspended member gets an approved record marked as carried over, with a review
  date ``REVIEW_WITHIN_DAYS`` days away: the union one level above reviews it (复核) in that time
  or the record expires and the hardship category and level go with it;
* a member with a record still pending keeps the record, but not the hardship: its decision
  now governs (approval gives the hardship back);
* a pending or departed member, or one whose union has no union above it, loses the hardship
  category and level;
* a member with an approved record gets the record's level.

Revision ID: 0011_facts
Revises: 0010_regions
Create Date: 2026-12-07
"""

from datetime import UTC, date, datetime, timedelta

import advanced_alchemy
import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from uuid_utils.compat import uuid7

revision = "0011_facts"
down_revision = "0010_regions"
branch_labels = None
depends_on = None

REVIEW_WITHIN_DAYS = 90
CARRIED_OVER = "upgrade"  # applied_by / decided_by of the records made here
GUID = advanced_alchemy.types.guid.GUID(length=16)
UTC_TS = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)

member = sa.table(
    "member",
    sa.column("id", GUID),
    sa.column("org_id", GUID),
    sa.column("status", sa.String),
    sa.column("categories", advanced_alchemy.types.JsonB),
    sa.column("hardship_level", sa.SmallInteger),
)
org = sa.table(
    "org",
    sa.column("id", GUID),
    sa.column("path", sa.String),
    sa.column("parent_id", GUID),
)
record = sa.table(
    "hardship_record",
    sa.column("id", GUID),
    sa.column("member_id", GUID),
    sa.column("org_id", GUID),
    sa.column("org_path", sa.String),
    sa.column("approver_org_id", GUID),
    sa.column("approver_org_path", sa.String),
    sa.column("status", sa.String),
    sa.column("category", sa.String),
    sa.column("level", sa.SmallInteger),
    sa.column("circumstances", sa.Text),
    sa.column("applied_by", sa.String),
    sa.column("applied_at", UTC_TS),
    sa.column("decided_by", sa.String),
    sa.column("decided_at", UTC_TS),
    sa.column("review_on", sa.Date),
    sa.column("created_at", UTC_TS),
    sa.column("updated_at", UTC_TS),
)


def _hardship_without_record(conn: sa.Connection) -> None:
    now = datetime.now(UTC)
    review_on = date.today() + timedelta(days=REVIEW_WITHIN_DAYS)
    open_records = {
        r.member_id: (r.status, r.level)
        for r in conn.execute(
            sa.select(record.c.member_id, record.c.status, record.c.level).where(
                record.c.status.in_(["pending", "approved"])
            )
        )
    }
    orgs = {o.id: o for o in conn.execute(sa.select(org.c.id, org.c.path, org.c.parent_id))}
    for m in conn.execute(sa.select(member)).all():
        cats = list(m.categories or [])
        if "hardship" not in cats and m.hardship_level is None:
            continue
        level = m.hardship_level if m.hardship_level in (1, 2, 3) else 1
        status, record_level = open_records.get(m.id, (None, None))
        own = orgs.get(m.org_id)
        approver = orgs.get(own.parent_id) if own is not None and own.parent_id else None
        keep = status == "approved" or (
            status is None and m.status in ("active", "suspended") and approver is not None
        )
        if status == "approved":
            level = record_level
        elif keep:
            assert own is not None and approver is not None
            conn.execute(
                sa.insert(record).values(
                    id=uuid7(),
                    member_id=m.id,
                    org_id=own.id,
                    org_path=own.path,
                    approver_org_id=approver.id,
                    approver_org_path=approver.path,
                    status="approved",
                    category="relative",
                    level=level,
                    circumstances="升级前已登记为困难职工,未经建档审批;沿用至复核日期,"
                    "请上一级工会按实际情况复核(类别、等级)",
                    applied_by=CARRIED_OVER,
                    applied_at=now,
                    decided_by=CARRIED_OVER,
                    decided_at=now,
                    review_on=review_on,
                    created_at=now,
                    updated_at=now,
                )
            )
        others = sorted(c for c in cats if c != "hardship")
        conn.execute(
            sa.update(member)
            .where(member.c.id == m.id)
            .values(
                categories=sorted([*others, "hardship"]) if keep else others,
                hardship_level=level if keep else None,
            )
        )


def upgrade() -> None:
    _hardship_without_record(op.get_bind())
    with op.batch_alter_table("join_application", schema=None) as batch_op:
        batch_op.drop_column("hardship_level")
        batch_op.drop_column("categories")


def downgrade() -> None:
    with op.batch_alter_table("join_application", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("categories", advanced_alchemy.types.JsonB, nullable=False, server_default="[]")
        )
        batch_op.add_column(sa.Column("hardship_level", sa.SmallInteger(), nullable=True))
