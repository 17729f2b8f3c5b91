"""Where a card can be used: a store's location (WGS-84), phone, opening hours, amenities and
photos, and a spatial index over the locations (PostgreSQL: the trusted cube extension and a
GiST index over each store's point on the unit sphere; SQLite: an R*Tree table kept in step by
triggers).

Revision ID: 0016_stores
Revises: 0015_consent
Create Date: 2026-12-07
"""

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision = "0016_stores"
down_revision = "0015_consent"
branch_labels = None
depends_on = None

# Copied from merchants/spatial.py (a migration does not follow later code).
RTREE = "merchant_store_rtree"
PG_UP = [
    "CREATE EXTENSION IF NOT EXISTS cube",
    "CREATE INDEX ix_merchant_store_earth ON merchant_store USING gist "
    "((cube(ARRAY[cos(radians(latitude)) * cos(radians(longitude)), "
    "cos(radians(latitude)) * sin(radians(longitude)), sin(radians(latitude))]))) "
    "WHERE latitude IS NOT NULL AND longitude IS NOT NULL",
]
SQLITE_UP = [
    f"CREATE VIRTUAL TABLE {RTREE} USING rtree(id, min_lat, max_lat, min_lng, max_lng, +store_id)",
    f"""CREATE TRIGGER {RTREE}_ins AFTER INSERT ON merchant_store
WHEN new.latitude IS NOT NULL AND new.longitude IS NOT NULL BEGIN
INSERT INTO {RTREE} VALUES (new.rowid, new.latitude, new.latitude, new.longitude, new.longitude,
new.id); END""",
    f"""CREATE TRIGGER {RTREE}_upd AFTER UPDATE OF latitude, longitude ON merchant_store BEGIN
DELETE FROM {RTREE} WHERE id = old.rowid;
INSERT INTO {RTREE} SELECT new.rowid, new.latitude, new.latitude, new.longitude, new.longitude,
new.id WHERE new.latitude IS NOT NULL AND new.longitude IS NOT NULL; END""",
    f"""CREATE TRIGGER {RTREE}_del AFTER DELETE ON merchant_store BEGIN
DELETE FROM {RTREE} WHERE id = old.rowid; END""",
    # Stores that already have coordinates (none before this revision; kept for re-runs).
    f"""INSERT INTO {RTREE} SELECT rowid, latitude, latitude, longitude, longitude, id
FROM merchant_store WHERE latitude IS NOT NULL AND longitude IS NOT NULL""",
]


def upgrade() -> None:
    with op.batch_alter_table("merchant_store") as batch:
        batch.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("longitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("hours", advanced_alchemy.types.JsonB, nullable=True))
        batch.add_column(sa.Column("amenities", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("photos", advanced_alchemy.types.JsonB, nullable=True))
    dialect = op.get_bind().dialect.name
    for sql in PG_UP if dialect == "postgresql" else SQLITE_UP if dialect == "sqlite" else []:
        op.execute(sql)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_merchant_store_earth")
    elif dialect == "sqlite":
        for suffix in ("ins", "upd", "del"):
            op.execute(f"DROP TRIGGER IF EXISTS {RTREE}_{suffix}")
        op.execute(f"DROP TABLE IF EXISTS {RTREE}")
    with op.batch_alter_table("merchant_store") as batch:
        for name in ("photos", "amenities", "hours", "phone", "longitude", "latitude"):
            batch.drop_column(name)
