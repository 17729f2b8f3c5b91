"""The spatial index over stores' coordinates, on each engine.

PostgreSQL: the ``cube`` extension (trusted since PostgreSQL 13: a role with CREATE on its
database may add it, no superuser needed) and a GiST index on :data:`SPHERE_POINT`, the store's
position as a point on the unit sphere (a 3-D cube point) built from built-in immutable
functions, so the index answers both "inside this box" (``cube_enlarge(here, chord, 3) @>``)
and nearest-first (``<->``, the straight line through the Earth, which orders like the distance
along it). Nothing in it names an extension's function by an unqualified name beyond ``cube``
itself, which pg_dump qualifies, so a dump restores.

SQLite: an R*Tree virtual table of (lat, lng) points keyed by the store's rowid, with the
store's id beside it, kept in step by triggers. Nearest-N there is a growing box.

The same statements are run by the migration (copied there, as migrations are frozen) and, for
schemas made from the models (tests, ``create_all``), after the store table is created.
"""

from __future__ import annotations

RTREE = "merchant_store_rtree"
EARTH_INDEX = "ix_merchant_store_earth"


def sphere_point_sql(lat: str, lng: str) -> str:
    """SQL for the point on the unit sphere at (``lat``, ``lng``) in degrees (SQL expressions).
    Queries must spell the indexed side exactly as the index does (``latitude``, ``longitude``,
    optionally qualified) for the planner to use it."""
    return (
        f"cube(ARRAY[cos(radians({lat})) * cos(radians({lng})), "
        f"cos(radians({lat})) * sin(radians({lng})), sin(radians({lat}))])"
    )


SPHERE_POINT = sphere_point_sql("latitude", "longitude")

_PG = [
    "CREATE EXTENSION IF NOT EXISTS cube",
    f"CREATE INDEX {EARTH_INDEX} ON merchant_store USING gist "
    f"(({SPHERE_POINT})) WHERE latitude IS NOT NULL AND longitude IS NOT NULL",
]

_SQLITE = [
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
]

SPATIAL_DDL: dict[str, list[str]] = {"postgresql": _PG, "sqlite": _SQLITE}

# Tables the R*Tree module makes; not in the models' metadata.
RTREE_TABLES = frozenset({RTREE, f"{RTREE}_node", f"{RTREE}_parent", f"{RTREE}_rowid"})
