"""The scan log partitioned by month on PostgreSQL; reversals carry their member.

* ``merchant_scan_log`` becomes ``PARTITION BY RANGE (at)`` on PostgreSQL: the table is
  renamed aside, the partitioned table made like it with a partition per month that holds rows
  plus the months up to three ahead and a default partition, the rows copied, the old table
  dropped, then the primary key and the indexes made on the parent. The key is
  ``(id, at, merchant_id)``: PostgreSQL wants the partition key in every unique key, Citus
  the distribution column (docs/distribution.toml). On SQLite the table stays as it is.
* ``benefit_reversal.member_id`` (copied from the redemption) and its one-reversal-per-row
  key becomes ``(redemption_id, member_id)``: the same rule (a redemption has one member),
  stated with the column the table is distributed by (docs/distribution.toml); the redemption
  comes first so that the ledger's joins on it still find the index.

Revision ID: 0020_partitions
Revises: 0019_vouchers
Create Date: 2026-12-07
"""

from datetime import UTC, datetime

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision = "0020_partitions"
down_revision = "0019_vouchers"
branch_labels = None
depends_on = None

SCAN = "merchant_scan_log"
AHEAD = 3  # months made ahead; the partition job keeps this many (cardsvc.flows.partitions)


def _month(i: int) -> str:
    return f"'{i // 12:04d}-{i % 12 + 1:02d}-01 00:00:00+00'"


def _partition_scan_log() -> None:
    bind = op.get_bind()
    op.execute(f"ALTER TABLE {SCAN} RENAME TO {SCAN}_unpartitioned")
    op.execute(f"ALTER TABLE {SCAN}_unpartitioned DROP CONSTRAINT pk_{SCAN}")
    op.execute(f"DROP INDEX ix_{SCAN}_at")
    op.execute(f"DROP INDEX ix_{SCAN}_merchant_id")
    op.execute(
        f"CREATE TABLE {SCAN} (LIKE {SCAN}_unpartitioned INCLUDING DEFAULTS) "
        "PARTITION BY RANGE (at)"
    )
    now = datetime.now(UTC)
    months = {now.year * 12 + now.month - 1 + i for i in range(AHEAD + 1)}
    held = bind.execute(
        sa.text(
            f"SELECT DISTINCT date_trunc('month', at AT TIME ZONE 'UTC') FROM {SCAN}_unpartitioned"
        )
    )
    months |= {m.year * 12 + m.month - 1 for (m,) in held}
    for i in sorted(months):
        op.execute(
            f"CREATE TABLE {SCAN}_y{i // 12:04d}m{i % 12 + 1:02d} PARTITION OF {SCAN} "
            f"FOR VALUES FROM ({_month(i)}) TO ({_month(i + 1)})"
        )
    op.execute(f"CREATE TABLE {SCAN}_default PARTITION OF {SCAN} DEFAULT")
    op.execute(f"INSERT INTO {SCAN} SELECT * FROM {SCAN}_unpartitioned")
    op.execute(f"DROP TABLE {SCAN}_unpartitioned")
    op.execute(f"ALTER TABLE {SCAN} ADD CONSTRAINT pk_{SCAN} PRIMARY KEY (id, at, merchant_id)")
    op.execute(f"CREATE INDEX ix_{SCAN}_at ON {SCAN} (at)")
    op.execute(f"CREATE INDEX ix_{SCAN}_merchant_id ON {SCAN} (merchant_id)")


def _unpartition_scan_log() -> None:
    op.execute(f"ALTER TABLE {SCAN} RENAME TO {SCAN}_partitioned")
    op.execute(f"CREATE TABLE {SCAN} (LIKE {SCAN}_partitioned INCLUDING DEFAULTS)")
    op.execute(f"INSERT INTO {SCAN} SELECT * FROM {SCAN}_partitioned")
    op.execute(f"DROP TABLE {SCAN}_partitioned")  # its partitions and indexes go with it
    op.execute(f"ALTER TABLE {SCAN} ADD CONSTRAINT pk_{SCAN} PRIMARY KEY (id)")
    op.execute(f"CREATE INDEX ix_{SCAN}_at ON {SCAN} (at)")
    op.execute(f"CREATE INDEX ix_{SCAN}_merchant_id ON {SCAN} (merchant_id)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _partition_scan_log()

    with op.batch_alter_table("benefit_reversal", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("member_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True)
        )
    op.execute(
        "UPDATE benefit_reversal SET member_id = (SELECT r.member_id FROM benefit_redemption r "
        "WHERE r.id = benefit_reversal.redemption_id)"
    )
    with op.batch_alter_table("benefit_reversal", schema=None) as batch_op:
        batch_op.alter_column(
            "member_id", existing_type=advanced_alchemy.types.guid.GUID(length=16), nullable=False
        )
        batch_op.drop_constraint("uq_benefit_reversal_redemption_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_benefit_reversal_member_redemption", ["redemption_id", "member_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("benefit_reversal", schema=None) as batch_op:
        batch_op.drop_constraint("uq_benefit_reversal_member_redemption", type_="unique")
        batch_op.create_unique_constraint("uq_benefit_reversal_redemption_id", ["redemption_id"])
        batch_op.drop_column("member_id")

    if op.get_bind().dialect.name == "postgresql":
        _unpartition_scan_log()
