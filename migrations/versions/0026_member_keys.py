"""Primary keys with the member: ``card``, ``benefit_reversal``, ``voucher`` and
``voucher_application`` get ``(id, member_id)`` (id first, so that lookups by id alone still use
the key's index; an id stays unique by itself, a UUIDv7). A card's predecessor and a card
event's card already name ``(member_id, id)``; the unique key they pointed at
(``uq_card_member_id``) goes, the primary key holds the same columns. See
docs/distribution.toml.

On SQLite the tables are recreated (batch mode).

Revision ID: 0026_member_keys
Revises: 0025_citus_keys
Create Date: 2026-12-07
"""

from alembic import op

revision = "0026_member_keys"
down_revision = "0025_citus_keys"
branch_labels = None
depends_on = None

TABLES = ("card", "benefit_reversal", "voucher", "voucher_application")
# Foreign keys to card (member_id, id): (name, table, columns)
CARD_FKS = (
    ("fk_card_previous", "card", ["member_id", "previous_id"]),
    ("fk_card_event_card", "card_event", ["member_id", "card_id"]),
)


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


def _card_fks(create: bool) -> None:
    for name, table, columns in CARD_FKS:
        with op.batch_alter_table(table) as batch_op:
            if create:
                batch_op.create_foreign_key(name, "card", columns, ["member_id", "id"])
            else:
                batch_op.drop_constraint(name, type_="foreignkey")


def upgrade() -> None:
    # The foreign keys depend on the unique key they name: off while the keys change. Two steps
    # on SQLite: a recreated table's foreign key names the table it replaces, which must hold
    # the new key already.
    _card_fks(create=False)
    for table in TABLES:
        _rekey(table, ["id", "member_id"])
    with op.batch_alter_table("card") as batch_op:
        batch_op.drop_constraint("uq_card_member_id", type_="unique")
    _card_fks(create=True)


def downgrade() -> None:
    _card_fks(create=False)
    with op.batch_alter_table("card") as batch_op:
        batch_op.create_unique_constraint("uq_card_member_id", ["member_id", "id"])
    for table in TABLES:
        _rekey(table, ["id"])
    _card_fks(create=True)
