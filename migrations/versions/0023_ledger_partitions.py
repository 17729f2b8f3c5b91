"""The redemption ledger partitioned by month on PostgreSQL; its unique keys in lookup tables.

* ``benefit_redemption_key`` (merchant + idempotency key → checkout, member, time) and
  ``benefit_redemption_token`` (QR token → member, checkout, time) are made and filled from the
  ledger's line-0 rows. They take over the ledger's two unique keys
  (``uq_benefit_redemption_idem``, ``uq_benefit_redemption_token``), which go: a partitioned
  table's unique keys must contain the partition key, and a retry arrives at another time.
* ``benefit_reversal``'s foreign key to the ledger goes: a foreign key to a partitioned table
  must name the row's month. The one-reversal-per-row key stays on ``benefit_reversal``.
* On PostgreSQL ``benefit_redemption`` becomes ``PARTITION BY RANGE (occurred_at)``, as the
  scan log did in 0020: renamed aside, the partitioned table made like it with a partition per
  month that holds rows plus the months up to three ahead and a default partition, the rows
  copied, the old table dropped, then the key ``(id, occurred_at, member_id)`` (the month for
  PostgreSQL, the member for Citus: docs/distribution.toml), the foreign keys and the indexes
  made on the parent. The downgrade copies the rows back into a plain table. On SQLite the
  ledger stays plain.

Revision ID: 0023_ledger_partitions
Revises: 0022_voucher_use
Create Date: 2026-12-07
"""

from datetime import UTC, datetime

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision = "0023_ledger_partitions"
down_revision = "0022_voucher_use"
branch_labels = None
depends_on = None

LEDGER = "benefit_redemption"
AHEAD = 3  # months made ahead; the partition job keeps this many (cardsvc.flows.partitions)
FK_PROGRAM = "fk_benefit_redemption_program_id_benefit_program"
FK_VERSION = "fk_benefit_redemption_version"
FK_REVERSAL = "fk_benefit_reversal_redemption_id_benefit_redemption"
# the ledger's indexes (name → what it covers), made again on the parent
INDEXES = {
    "ix_benefit_redemption_checkout": "(checkout_id)",
    "ix_benefit_redemption_member": "(member_id, occurred_at)",
    "ix_benefit_redemption_merchant": "(merchant_id, occurred_at)",
    "ix_benefit_redemption_program": "(program_id, occurred_at)",
    "ix_benefit_redemption_member_org": "(member_org_path varchar_pattern_ops, occurred_at)",
    "ix_benefit_redemption_bill": "(merchant_id, bill_ref) WHERE bill_ref IS NOT NULL",
}


def _month(i: int) -> str:
    return f"'{i // 12:04d}-{i % 12 + 1:02d}-01 00:00:00+00'"


def _indexes() -> None:
    for name, cols in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {LEDGER} {cols}")


def _foreign_keys() -> None:
    op.execute(
        f"ALTER TABLE {LEDGER} ADD CONSTRAINT {FK_PROGRAM} FOREIGN KEY (program_id) "
        "REFERENCES benefit_program (id)"
    )
    op.execute(
        f"ALTER TABLE {LEDGER} ADD CONSTRAINT {FK_VERSION} FOREIGN KEY (program_version_id) "
        "REFERENCES benefit_program_version (id)"
    )


def _aside() -> None:
    """Rename the ledger aside, without its key, foreign keys and indexes (names reused)."""
    op.execute(f"ALTER TABLE {LEDGER} RENAME TO {LEDGER}_old")
    op.execute(f"ALTER TABLE {LEDGER}_old DROP CONSTRAINT pk_{LEDGER}")
    op.execute(f"ALTER TABLE {LEDGER}_old DROP CONSTRAINT {FK_PROGRAM}")
    op.execute(f"ALTER TABLE {LEDGER}_old DROP CONSTRAINT {FK_VERSION}")
    for name in INDEXES:
        op.execute(f"DROP INDEX {name}")


def _partition_ledger() -> None:
    bind = op.get_bind()
    _aside()
    op.execute(
        f"CREATE TABLE {LEDGER} (LIKE {LEDGER}_old INCLUDING DEFAULTS) "
        "PARTITION BY RANGE (occurred_at)"
    )
    now = datetime.now(UTC)
    months = {now.year * 12 + now.month - 1 + i for i in range(AHEAD + 1)}
    held = bind.execute(
        sa.text(
            f"SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC') FROM {LEDGER}_old"
        )
    )
    months |= {m.year * 12 + m.month - 1 for (m,) in held}
    for i in sorted(months):
        op.execute(
            f"CREATE TABLE {LEDGER}_y{i // 12:04d}m{i % 12 + 1:02d} PARTITION OF {LEDGER} "
            f"FOR VALUES FROM ({_month(i)}) TO ({_month(i + 1)})"
        )
    op.execute(f"CREATE TABLE {LEDGER}_default PARTITION OF {LEDGER} DEFAULT")
    op.execute(f"INSERT INTO {LEDGER} SELECT * FROM {LEDGER}_old")
    op.execute(f"DROP TABLE {LEDGER}_old")
    op.execute(
        f"ALTER TABLE {LEDGER} ADD CONSTRAINT pk_{LEDGER} PRIMARY KEY (id, occurred_at, member_id)"
    )
    _foreign_keys()
    _indexes()


def _unpartition_ledger() -> None:
    _aside()
    op.execute(f"CREATE TABLE {LEDGER} (LIKE {LEDGER}_old INCLUDING DEFAULTS)")
    op.execute(f"INSERT INTO {LEDGER} SELECT * FROM {LEDGER}_old")
    op.execute(f"DROP TABLE {LEDGER}_old")  # its partitions go with it
    op.execute(f"ALTER TABLE {LEDGER} ADD CONSTRAINT pk_{LEDGER} PRIMARY KEY (id)")
    _foreign_keys()
    _indexes()


def upgrade() -> None:
    guid = advanced_alchemy.types.guid.GUID(length=16)
    when = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
    op.create_table(
        "benefit_redemption_key",
        sa.Column("merchant_id", guid, nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("checkout_id", guid, nullable=False),
        sa.Column("member_id", guid, nullable=False),
        sa.Column("occurred_at", when, nullable=False),
        sa.PrimaryKeyConstraint(
            "merchant_id", "idempotency_key", name=op.f("pk_benefit_redemption_key")
        ),
    )
    op.create_table(
        "benefit_redemption_token",
        sa.Column("token_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", guid, nullable=False),
        sa.Column("checkout_id", guid, nullable=False),
        sa.Column("occurred_at", when, nullable=False),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_benefit_redemption_token")),
    )
    op.execute(
        "INSERT INTO benefit_redemption_key "
        "(merchant_id, idempotency_key, checkout_id, member_id, occurred_at) "
        f"SELECT merchant_id, idempotency_key, checkout_id, member_id, occurred_at FROM {LEDGER} "
        "WHERE line = 0"
    )
    op.execute(
        "INSERT INTO benefit_redemption_token (token_id, member_id, checkout_id, occurred_at) "
        f"SELECT token_id, member_id, checkout_id, occurred_at FROM {LEDGER} "
        "WHERE line = 0 AND token_id IS NOT NULL"
    )
    with op.batch_alter_table("benefit_reversal", schema=None) as batch_op:
        batch_op.drop_constraint(FK_REVERSAL, type_="foreignkey")
    with op.batch_alter_table(LEDGER, schema=None) as batch_op:
        batch_op.drop_constraint("uq_benefit_redemption_idem", type_="unique")
        batch_op.drop_constraint("uq_benefit_redemption_token", type_="unique")

    if op.get_bind().dialect.name == "postgresql":
        _partition_ledger()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _unpartition_ledger()

    with op.batch_alter_table(LEDGER, schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_benefit_redemption_idem", ["merchant_id", "idempotency_key", "line"]
        )
        batch_op.create_unique_constraint("uq_benefit_redemption_token", ["token_id", "line"])
    with op.batch_alter_table("benefit_reversal", schema=None) as batch_op:
        batch_op.create_foreign_key(FK_REVERSAL, LEDGER, ["redemption_id"], ["id"])
    op.drop_table("benefit_redemption_token")
    op.drop_table("benefit_redemption_key")
