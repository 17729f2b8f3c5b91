"""The primary key of ``benefit_counter`` holds its distribution column: ``(id, program_id)``
(id first, as for the other tables' keys; an id stays unique by itself, a UUIDv7). Nothing
references the counters by foreign key and the engine finds a counter by its unique key
``(program_id, policy_key, metric, scope_key, period_key)``, which holds the programme already,
so only the primary key changes. See docs/distribution.toml.

On SQLite the table is recreated (batch mode).

Revision ID: 0029_counter_key
Revises: 0028_campaign_keys
Create Date: 2026-12-07
"""

from alembic import op

revision = "0029_counter_key"
down_revision = "0028_campaign_keys"
branch_labels = None
depends_on = None

NAME = "pk_benefit_counter"


def _rekey(columns: list[str]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        # One statement: the table is never without a key.
        op.execute(
            f"ALTER TABLE benefit_counter DROP CONSTRAINT {NAME}, "
            f"ADD CONSTRAINT {NAME} PRIMARY KEY ({', '.join(columns)})"
        )
        return
    with op.batch_alter_table("benefit_counter", recreate="always") as batch_op:
        batch_op.drop_constraint(NAME, type_="primary")
        batch_op.create_primary_key(NAME, columns)


def upgrade() -> None:
    _rekey(["id", "program_id"])


def downgrade() -> None:
    _rekey(["id"])
