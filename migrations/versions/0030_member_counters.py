"""A member's own limit counters get their own table, ``benefit_member_counter``, with the
member's id (NOT NULL, first in the unique key, in the primary key ``(id, member_id)``): under
Citus it is distributed by ``member_id`` with the member and the ledger, while the counters
shared by members (budgets and their stripes ``p``, ``p#i``, merchant caps ``x:…``) stay in
``benefit_counter``, distributed by programme. See docs/distribution.toml.

The counters of ``member`` and ``member_merchant`` scope move: scope keys ``m:<member>`` and
``mx:<member>:<merchant>`` (32 hex digits each, ``benefits.rules.limits.scope_key_of``) name
their member, which is read from the key. On PostgreSQL in SQL (32 hex digits are a uuid's
text); on SQLite, whose uuids are 16-byte blobs and which has no ``unhex()`` before 3.41, in
batches through Python. The downgrade moves them back (one stripe each, as they were).

Revision ID: 0030_member_counters
Revises: 0029_counter_key
Create Date: 2026-12-08
"""

import uuid
from typing import Any

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision = "0030_member_counters"
down_revision = "0029_counter_key"
branch_labels = None
depends_on = None

TABLE = "benefit_member_counter"
_OWN = "(scope_key LIKE 'm:%' OR scope_key LIKE 'mx:%')"
_COLS = 'program_id, policy_key, metric, scope_key, period_key, used, "limit", last_take'
_BATCH = 1000


def _guid() -> advanced_alchemy.types.guid.GUID:
    return advanced_alchemy.types.guid.GUID(length=16)


def _create() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", _guid(), nullable=False),
        sa.Column("member_id", _guid(), nullable=False),
        sa.Column("program_id", _guid(), nullable=False),
        sa.Column("policy_key", sa.String(length=32), nullable=False),
        sa.Column("metric", sa.String(length=8), nullable=False),
        sa.Column("scope_key", sa.String(length=80), nullable=False),
        sa.Column("period_key", sa.String(length=16), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.Column("limit", sa.BigInteger(), nullable=False),
        sa.Column("last_take", sa.BigInteger(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["benefit_program.id"],
            name=op.f("fk_benefit_member_counter_program_id_benefit_program"),
        ),
        sa.PrimaryKeyConstraint("id", "member_id", name=op.f("pk_benefit_member_counter")),
        sa.UniqueConstraint(
            "member_id",
            "program_id",
            "policy_key",
            "metric",
            "scope_key",
            "period_key",
            name="uq_benefit_member_counter_key",
        ),
    )
    op.create_index(
        "ix_benefit_member_counter_program", TABLE, ["program_id", "policy_key", "period_key"]
    )


def _member(scope_key: str) -> uuid.UUID:
    return uuid.UUID(scope_key[2:34] if scope_key.startswith("m:") else scope_key[3:35])


def _columns() -> list[sa.sql.expression.ColumnClause[Any]]:
    plain = ("policy_key", "metric", "scope_key", "period_key", "used", "limit", "last_take")
    return [*(sa.column(c) for c in plain), sa.column("id", _guid()), sa.column("program_id", _guid())]


def _move_sqlite(conn: sa.Connection) -> None:
    src = sa.table("benefit_counter", *_columns())
    dst = sa.table(TABLE, *_columns(), sa.column("member_id", _guid()))
    rows = conn.execute(sa.select(src).where(sa.text(_OWN))).mappings().all()
    for i in range(0, len(rows), _BATCH):
        batch = [{**r, "member_id": _member(r["scope_key"])} for r in rows[i : i + _BATCH]]
        conn.execute(sa.insert(dst), batch)


def upgrade() -> None:
    _create()
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        member = (
            "CASE WHEN scope_key LIKE 'm:%' THEN substr(scope_key, 3, 32)::uuid"
            " ELSE substr(scope_key, 4, 32)::uuid END"
        )
        op.execute(
            f"INSERT INTO {TABLE} (id, member_id, {_COLS}) "
            f"SELECT id, {member}, {_COLS} FROM benefit_counter WHERE {_OWN}"
        )
    else:
        _move_sqlite(conn)
    op.execute(f"DELETE FROM benefit_counter WHERE {_OWN}")


def downgrade() -> None:
    op.execute(
        f"INSERT INTO benefit_counter (id, {_COLS}, stripes) SELECT id, {_COLS}, 1 FROM {TABLE}"
    )
    op.drop_index("ix_benefit_member_counter_program", table_name=TABLE)
    op.drop_table(TABLE)
