"""Regions as GB/T 2260 codes: members and orgs carry ``region_code`` instead of a free-text
``region`` name; existing names are mapped to codes where they name exactly one division.
Join applications gain the applicant's optional ``region_code``.

Revision ID: 0010_regions
Revises: 0009_privacy
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_regions"
down_revision = "0009_privacy"
branch_labels = None
depends_on = None

_TABLES = ("member", "org")


def _code_for(value: str) -> str | None:
    """Best effort: a known code as it is, else the one code a full or short name stands for
    (``湖北省宜昌市远安县``, ``远安县``); None when unknown or ambiguous (left empty)."""
    from cardsvc.kernel.regions import code_for_name, is_known

    raw = value.strip()
    if raw.isdigit():
        return raw if is_known(raw) else None
    return code_for_name(raw)


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("region_code", sa.String(length=6), nullable=True))
        conn = op.get_bind()
        t = sa.table(table, sa.column("region", sa.String), sa.column("region_code", sa.String))
        names = conn.execute(sa.select(t.c.region).where(t.c.region.is_not(None)).distinct())
        for (name,) in names.all():
            code = _code_for(name)
            if code is not None:
                conn.execute(sa.update(t).where(t.c.region == name).values(region_code=code))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("region")
    with op.batch_alter_table("join_application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("region_code", sa.String(length=6), nullable=True))


def downgrade() -> None:
    from cardsvc.kernel.regions import full_name

    with op.batch_alter_table("join_application", schema=None) as batch_op:
        batch_op.drop_column("region_code")
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("region", sa.String(length=64), nullable=True))
        conn = op.get_bind()
        t = sa.table(table, sa.column("region", sa.String), sa.column("region_code", sa.String))
        codes = conn.execute(
            sa.select(t.c.region_code).where(t.c.region_code.is_not(None)).distinct()
        )
        for (code,) in codes.all():
            conn.execute(
                sa.update(t).where(t.c.region_code == code).values(region=full_name(code) or code)
            )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("region_code")
