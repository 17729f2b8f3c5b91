"""Unique keys and foreign keys Citus would refuse, made distributable (docs/distribution.toml):

* numbers from ``number_sequence`` blocks are unique by construction: the unique keys of
  ``member.member_no``, ``card.number`` and ``service_request.ref_no`` gain the distribution
  column (the number first, so that a lookup by number still uses the key);
* a card's predecessor and a card event's card become foreign keys with the member,
  ``(member_id, previous_id)`` and ``(member_id, card_id)`` → ``card (member_id, id)`` (unique);
* three foreign keys that cross co-location groups go (``service_request.member_id``,
  ``hardship_record.request_id``, ``notification.member_id``): the services check instead;
* ``join_application.member_id`` is given at submission: filled for the existing rows (the
  member with the ID number, else one new id per ID number), NOT NULL, no foreign key (no
  member row until approval), in the primary key ``(id, member_id)``;
* global uniqueness moves to lookup tables written in the row's transaction, filled here:
  ``member_identity`` (ID number → member), ``application_identity`` (ID number → the one
  pending application), ``card_index`` (status-list index → card) and ``certificate``
  (certificate number → sign-up). Their old unique keys go (plain indexes where reads use them).

The downgrade puts the old keys back; a join application not approved loses its member id again
(it had none before approval). On SQLite the tables are recreated (batch mode).

Revision ID: 0025_citus_keys
Revises: 0024_colocated_keys
Create Date: 2026-12-07
"""

import uuid

import advanced_alchemy
import sqlalchemy as sa
from alembic import op
from uuid_utils.compat import uuid7

revision = "0025_citus_keys"
down_revision = "0024_colocated_keys"
branch_labels = None
depends_on = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
# table -> (unique constraint, its column, the distribution column it gains)
NUMBERS = {
    "member": ("uq_member_member_no", "member_no", "id"),
    "card": ("uq_card_number", "number", "member_id"),
    "service_request": ("uq_service_request_ref_no", "ref_no", "id"),
}
# foreign keys that cross co-location groups: name -> (table, column, target, ondelete)
CROSSING = {
    "fk_service_request_member_id_member": ("service_request", "member_id", "member", None),
    "fk_hardship_record_request_id_service_request": (
        "hardship_record",
        "request_id",
        "service_request",
        None,
    ),
    "fk_notification_member_id_member": ("notification", "member_id", "member", "CASCADE"),
}
PENDING_ID = "uq_join_application_pending_id"
PENDING_WHERE = "status = 'pending' AND review_flag IS NULL"


def _lookup_tables() -> None:
    op.create_table(
        "member_identity",
        sa.Column("id_number_hash", sa.String(length=64), nullable=False),
        sa.Column("member_id", GUID, nullable=False),
        sa.PrimaryKeyConstraint("id_number_hash", name=op.f("pk_member_identity")),
    )
    op.create_table(
        "application_identity",
        sa.Column("id_number_hash", sa.String(length=64), nullable=False),
        sa.Column("member_id", GUID, nullable=False),
        sa.Column("application_id", GUID, nullable=False),
        sa.PrimaryKeyConstraint("id_number_hash", name=op.f("pk_application_identity")),
    )
    op.create_table(
        "card_index",
        sa.Column("status_index", sa.BigInteger(), nullable=False),
        sa.Column("member_id", GUID, nullable=False),
        sa.Column("card_id", GUID, nullable=False),
        sa.PrimaryKeyConstraint("status_index", name=op.f("pk_card_index")),
    )
    op.create_table(
        "certificate",
        sa.Column("cert_no", sa.String(length=32), nullable=False),
        sa.Column("member_id", GUID, nullable=False),
        sa.Column("signup_id", GUID, nullable=False),
        sa.PrimaryKeyConstraint("cert_no", name=op.f("pk_certificate")),
    )
    op.execute(
        "INSERT INTO member_identity (id_number_hash, member_id) SELECT id_number_hash, id FROM member"
    )
    op.execute(
        "INSERT INTO application_identity (id_number_hash, member_id, application_id) "
        f"SELECT id_number_hash, member_id, id FROM join_application WHERE {PENDING_WHERE}"
    )
    op.execute(
        "INSERT INTO card_index (status_index, member_id, card_id) "
        "SELECT status_index, member_id, id FROM card"
    )
    op.execute(
        "INSERT INTO certificate (cert_no, member_id, signup_id) "
        "SELECT cert_no, member_id, id FROM activity_signup WHERE cert_no IS NOT NULL"
    )


def _application_members() -> None:
    """Every application gets its member: the member with its ID number, else one new id per
    ID number (all of one person's applications on one shard)."""
    conn = op.get_bind()
    apps = sa.table(
        "join_application",
        sa.column("id_number_hash", sa.String),
        sa.column("member_id", GUID),
    )
    member = sa.table("member", sa.column("id", GUID), sa.column("id_number_hash", sa.String))
    hashes = conn.execute(
        sa.select(apps.c.id_number_hash).where(apps.c.member_id.is_(None)).distinct()
    ).scalars()
    for digest in list(hashes):
        found = (
            conn.execute(sa.select(member.c.id).where(member.c.id_number_hash == digest)).scalar()
            or conn.execute(
                sa.select(apps.c.member_id)
                .where(apps.c.id_number_hash == digest, apps.c.member_id.is_not(None))
                .limit(1)
            ).scalar()
        )
        member_id = found or uuid.UUID(str(uuid7()))
        conn.execute(
            sa.update(apps)
            .where(apps.c.id_number_hash == digest, apps.c.member_id.is_(None))
            .values(member_id=member_id)
        )


def _card_keys() -> None:
    """A card's predecessor and a card event's card, as foreign keys with the member (which
    ``(member_id, id)``, unique, lets them name)."""
    # Two steps: on SQLite the recreated table's foreign key names the table it replaces,
    # which must hold the unique key already.
    with op.batch_alter_table("card") as batch_op:
        batch_op.create_unique_constraint("uq_card_member_id", ["member_id", "id"])
    with op.batch_alter_table("card") as batch_op:
        batch_op.drop_constraint("fk_card_previous_id_card", type_="foreignkey")
        batch_op.create_foreign_key(
            "fk_card_previous", "card", ["member_id", "previous_id"], ["member_id", "id"]
        )
    with op.batch_alter_table("card_event") as batch_op:
        batch_op.drop_constraint("fk_card_event_card_id_card", type_="foreignkey")
        batch_op.create_foreign_key(
            "fk_card_event_card", "card", ["member_id", "card_id"], ["member_id", "id"]
        )


def _card_keys_back() -> None:
    with op.batch_alter_table("card_event") as batch_op:
        batch_op.drop_constraint("fk_card_event_card", type_="foreignkey")
        batch_op.create_foreign_key("fk_card_event_card_id_card", "card", ["card_id"], ["id"])
    with op.batch_alter_table("card") as batch_op:
        batch_op.drop_constraint("fk_card_previous", type_="foreignkey")
        batch_op.create_foreign_key("fk_card_previous_id_card", "card", ["previous_id"], ["id"])
    with op.batch_alter_table("card") as batch_op:
        batch_op.drop_constraint("uq_card_member_id", type_="unique")


def upgrade() -> None:
    with op.batch_alter_table("join_application") as batch_op:
        batch_op.drop_index(PENDING_ID)
        batch_op.drop_constraint("fk_join_application_member_id_member", type_="foreignkey")
    _application_members()  # before the lookup tables: the pending ones' holds name it
    _lookup_tables()
    for table, (name, column, dist) in NUMBERS.items():
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(name, type_="unique")
            batch_op.create_unique_constraint(name, [column, dist])
    for name, (table, *_) in CROSSING.items():
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(name, type_="foreignkey")
    _card_keys()
    with op.batch_alter_table("member") as batch_op:
        batch_op.drop_constraint("uq_member_id_number_hash", type_="unique")
        batch_op.create_index("ix_member_id_number_hash", ["id_number_hash"])
    with op.batch_alter_table("card") as batch_op:
        batch_op.drop_constraint("uq_card_status_index", type_="unique")
        batch_op.create_index("ix_card_status_index", ["status_index"])
    with op.batch_alter_table("activity_signup") as batch_op:
        batch_op.drop_constraint("uq_activity_signup_cert_no", type_="unique")
    with op.batch_alter_table("join_application") as batch_op:
        batch_op.alter_column("member_id", existing_type=GUID, nullable=False)
        batch_op.drop_constraint("pk_join_application", type_="primary")
        batch_op.create_primary_key("pk_join_application", ["id", "member_id"])


def downgrade() -> None:
    with op.batch_alter_table("join_application") as batch_op:
        batch_op.drop_constraint("pk_join_application", type_="primary")
        batch_op.create_primary_key("pk_join_application", ["id"])
        batch_op.alter_column("member_id", existing_type=GUID, nullable=True)
    op.execute("UPDATE join_application SET member_id = NULL WHERE status != 'approved'")
    with op.batch_alter_table("join_application") as batch_op:
        batch_op.create_foreign_key(
            "fk_join_application_member_id_member", "member", ["member_id"], ["id"]
        )
        batch_op.create_index(
            PENDING_ID,
            ["id_number_hash"],
            unique=True,
            postgresql_where=sa.text(PENDING_WHERE),
            sqlite_where=sa.text(PENDING_WHERE),
        )
    with op.batch_alter_table("activity_signup") as batch_op:
        batch_op.create_unique_constraint("uq_activity_signup_cert_no", ["cert_no"])
    with op.batch_alter_table("card") as batch_op:
        batch_op.drop_index("ix_card_status_index")
        batch_op.create_unique_constraint("uq_card_status_index", ["status_index"])
    with op.batch_alter_table("member") as batch_op:
        batch_op.drop_index("ix_member_id_number_hash")
        batch_op.create_unique_constraint("uq_member_id_number_hash", ["id_number_hash"])
    _card_keys_back()
    for name, (table, column, target, ondelete) in CROSSING.items():
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_foreign_key(name, target, [column], ["id"], ondelete=ondelete)
    for table, (name, column, _) in NUMBERS.items():
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(name, type_="unique")
            batch_op.create_unique_constraint(name, [column])
    for table in ("certificate", "card_index", "application_identity", "member_identity"):
        op.drop_table(table)
