"""Primary keys that hold the distribution column: the leaf tables of the member, merchant,
service request and phone groups get ``(id, member_id)``, ``(id, merchant_id)``,
``(id, request_id)`` and ``(id, phone_hash)`` (id first, so that lookups by id alone still use
the key's index). Nothing references these
tables by foreign key, so only their own key changes. See docs/distribution.toml.

On SQLite the tables are recreated (batch mode).

Revision ID: 0024_colocated_keys
Revises: 0023_ledger_partitions
Create Date: 2026-12-07
"""

from alembic import op

revision = "0024_colocated_keys"
down_revision = "0023_ledger_partitions"
branch_labels = None
depends_on = None

# table -> the distribution column that joins ``id`` in its primary key
KEYS = {
    "card_event": "member_id",
    "membership_event": "member_id",
    "transfer_request": "member_id",
    "hardship_record": "member_id",
    "service_step": "request_id",
    "service_attachment": "request_id",
    "member_consent": "phone_hash",
    "activity_signup": "member_id",
    "benefit_bill": "merchant_id",
    "benefit_settlement": "merchant_id",
    "merchant_reversal_request": "merchant_id",
}


def _rekey(table: str, columns: list[str]) -> None:
    name = f"pk_{table}"
    if op.get_bind().dialect.name == "postgresql":
        # One statement: the table is never without a key.
        cols = ", ".join(columns)
        op.execute(
            f"ALTER TABLE {table} DROP CONSTRAINT {name}, "
            f"ADD CONSTRAINT {name} PRIMARY KEY ({cols})"
        )
        return
    with op.batch_alter_table(table, recreate="always") as batch_op:
        batch_op.drop_constraint(name, type_="primary")
        batch_op.create_primary_key(name, columns)


def upgrade() -> None:
    for table, column in KEYS.items():
        _rekey(table, ["id", column])


def downgrade() -> None:
    for table in KEYS:
        _rekey(table, ["id"])
