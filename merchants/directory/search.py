"""Stores nearest a point, with filters, on both engines' spatial indexes.

PostgreSQL walks the GiST index nearest-first (``<->``) in batches; SQLite asks its R*Tree for a
box that grows until it holds enough stores. Either way the distance a person reads is the
haversine (:func:`merchants.directory.geo.haversine_m`), the radius is checked with it, and
"open now" is decided by the opening hours in the federation's zone.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from advanced_alchemy.types import GUID
from sqlalchemy import Float, Select, and_, column, func, literal, or_, select, table
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.asyncio import AsyncSession

from merchants.directory.geo import EARTH_RADIUS_M, bounding_box, chord_m, haversine_m
from merchants.directory.hours import is_open
from merchants.models import Merchant, MerchantStatus, Store, StoreStatus
from merchants.spatial import RTREE, sphere_point_sql

HALF_EQUATOR_M = math.pi * EARTH_RADIUS_M
# Slack on the box's half-side (unit sphere; ~6 mm): rounding must not drop a store at the rim.
_BOX_SLACK = 1e-9
_FIRST_BOX_M = 2_000.0

_RTREE = table(
    RTREE,
    column("min_lat"),
    column("max_lat"),
    column("min_lng"),
    column("max_lng"),
    column("store_id", GUID()),
)

COLUMNS = (
    Store.id,
    Store.merchant_id,
    Store.name,
    Merchant.display_name,
    Merchant.category,
    Store.address,
    Store.region,
    Merchant.region,
    Store.latitude,
    Store.longitude,
    Store.phone,
    Store.hours,
    Store.amenities,
    Store.photos,
)


@dataclass(frozen=True, slots=True)
class NearbyStore:
    store_id: uuid.UUID
    merchant_id: uuid.UUID
    name: str
    merchant_name: str
    category: str
    address: str
    region: str
    merchant_region: str
    latitude: float
    longitude: float
    phone: str | None
    hours: dict[str, Any] | None
    amenities: int
    photos: list[str]
    distance_m: int
    open_now: bool
    exact_m: float  # the unrounded distance: radius checks and ordering


@dataclass(frozen=True, slots=True)
class Near:
    """What a search asks: around (lat, lng), within ``radius_m`` if given."""

    lat: float
    lng: float
    radius_m: float | None = None
    category: str | None = None
    open_now: bool = False
    amenities: int = 0
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Rider:
    """A scalar subquery another package sends with the nearest-first statement on PostgreSQL,
    to save a round trip of its own: ``sql`` with ``{0}``, ``{1}``… for ``args``. Its value
    comes back with the stores (``None`` when there are none)."""

    sql: str
    args: tuple[Any, ...]


def _base(q: Near) -> Select[Any]:
    stmt = (
        select(*COLUMNS)
        .join(Merchant, Merchant.id == Store.merchant_id)
        .where(
            Store.status == StoreStatus.active,
            Merchant.status == MerchantStatus.active,
            Store.latitude.is_not(None),
            Store.longitude.is_not(None),
        )
    )
    if q.category:
        stmt = stmt.where(Merchant.category == q.category)
    if q.amenities:
        stmt = stmt.where(Store.amenities.op("&")(q.amenities) == q.amenities)
    return stmt


def _row(r: Sequence[Any], q: Near, at: datetime, zone: ZoneInfo) -> NearbyStore:
    return NearbyStore(
        store_id=r[0],
        merchant_id=r[1],
        name=r[2],
        merchant_name=r[3],
        category=str(getattr(r[4], "value", r[4])),
        address=r[5],
        region=r[6],
        merchant_region=r[7],
        latitude=r[8],
        longitude=r[9],
        phone=r[10],
        hours=r[11],
        amenities=r[12] or 0,
        photos=list(r[13] or ()),
        distance_m=round(d := haversine_m(q.lat, q.lng, r[8], r[9])),
        open_now=is_open(r[11], at, zone),
        exact_m=d,
    )


def _keep(s: NearbyStore, q: Near) -> bool:
    return (q.radius_m is None or s.exact_m <= q.radius_m) and (not q.open_now or s.open_now)


def _sphere(lat: Any, lng: Any) -> Any:
    """The point on the unit sphere, spelt as the GiST index spells it
    (:data:`merchants.spatial.SPHERE_POINT`)."""
    rlat, rlng = func.radians(lat, type_=Float), func.radians(lng, type_=Float)
    cos_lat = func.cos(rlat, type_=Float)
    return func.cube(
        array(
            [
                cos_lat * func.cos(rlng, type_=Float),
                cos_lat * func.sin(rlng, type_=Float),
                func.sin(rlat, type_=Float),
            ]
        )
    )


def _box_half_side(radius_m: float) -> float:
    """Half the side of the cube around a point holding every point on the unit sphere within
    ``radius_m`` along the surface: the chord of that arc (and a little slack)."""
    return chord_m(radius_m) / EARTH_RADIUS_M + _BOX_SLACK


async def _near_pg(
    session: AsyncSession, q: Near, need: int, at: datetime, zone: ZoneInfo
) -> list[NearbyStore]:
    here = _sphere(literal(q.lat, Float), literal(q.lng, Float))
    there = _sphere(Store.latitude, Store.longitude)
    # Only the distance: a second key would stop the index from walking nearest-first.
    stmt = _base(q).order_by(there.op("<->")(here))
    if q.radius_m is not None:
        box = func.cube_enlarge(here, literal(_box_half_side(q.radius_m), Float), 3)
        stmt = stmt.where(box.op("@>")(there))
    found: list[NearbyStore] = []
    batch, offset = max(2 * need, 40), 0
    while True:
        rows = (await session.execute(stmt.limit(batch).offset(offset))).all()
        for r in rows:
            s = _row(r, q, at, zone)
            if q.radius_m is not None and s.exact_m > q.radius_m:
                return found  # nearest-first: every later one is further still
            if _keep(s, q):
                found.append(s)
        if len(found) >= need or len(rows) < batch:
            return found
        offset += batch
        batch *= 2


_HERE_SQL = sphere_point_sql("$1::float8", "$2::float8")
_THERE_SQL = sphere_point_sql("s.latitude", "s.longitude")
_PG_COLUMNS = (
    "s.id, s.merchant_id, s.name, m.display_name, m.category, s.address, s.region, m.region, "
    "s.latitude, s.longitude, s.phone, s.hours, s.amenities, s.photos"
)


def _pg_sql(q: Near, limit: int, offset: int, rider: Rider | None = None) -> tuple[str, list[Any]]:
    """The nearest-first statement as text for asyncpg (prepared once per connection and
    variant), with its arguments (the rider's last). LIMIT and OFFSET are written in: with
    them as parameters PostgreSQL's estimate of a generic plan is a tenth of the table, so it
    would plan every execution anew; with the usual page's numbers it plans once."""
    args: list[Any] = [q.lat, q.lng]
    where = [
        "s.status = 'active'",
        "m.status = 'active'",
        "s.latitude IS NOT NULL",
        "s.longitude IS NOT NULL",
    ]
    if q.category:
        args.append(q.category)
        where.append(f"m.category = ${len(args)}")
    if q.amenities:
        args.append(q.amenities)
        where.append(f"(s.amenities & ${len(args)}) = ${len(args)}")
    if q.radius_m is not None:
        args.append(_box_half_side(q.radius_m))
        where.append(f"cube_enlarge({_HERE_SQL}, ${len(args)}, 3) @> {_THERE_SQL}")
    extra = ""
    if rider is not None:
        first = len(args) + 1
        extra = ", " + rider.sql.format(*(f"${first + i}" for i in range(len(rider.args))))
    sql = (
        f"SELECT {_PG_COLUMNS}{extra} FROM merchant_store s "
        "JOIN merchant m ON m.id = s.merchant_id "
        f"WHERE {' AND '.join(where)} "
        f"ORDER BY {_THERE_SQL} <-> {_HERE_SQL} "
        f"LIMIT {int(limit)} OFFSET {int(offset)}"
    )
    return sql, args


def _decoded(r: Any) -> tuple[Any, ...]:
    """An asyncpg record with its JSON columns decoded (asyncpg hands JSONB over as text)."""
    row = tuple(r)
    hours, photos = row[11], row[13]
    return (
        *row[:11],
        json.loads(hours) if isinstance(hours, str) else hours,
        row[12],
        json.loads(photos) if isinstance(photos, str) else photos,
    )


async def _near_asyncpg(
    pg: Any, q: Near, need: int, at: datetime, zone: ZoneInfo, rider: Rider | None = None
) -> tuple[list[NearbyStore], Any]:
    """:func:`_near_pg` on an asyncpg connection, bypassing the session (a hot page); and the
    rider's value (from the first batch: later ones are sent without it)."""
    found: list[NearbyStore] = []
    value = None
    # Without "open now" a row is dropped only beyond the radius, where the walk ends anyway.
    batch, offset = (max(2 * need, 40) if q.open_now else need), 0
    while True:
        sql, args = _pg_sql(q, batch, offset, rider)
        rows = await pg.fetch(sql, *args, *(rider.args if rider else ()))
        if rider is not None:
            value = rows[0][len(COLUMNS)] if rows else None
            rider = None
        for r in rows:
            s = _row(_decoded(r), q, at, zone)
            if q.radius_m is not None and s.exact_m > q.radius_m:
                return found, value
            if _keep(s, q):
                found.append(s)
        if len(found) >= need or len(rows) < batch:
            return found, value
        offset += batch
        batch *= 2


async def _near_sqlite(
    session: AsyncSession, q: Near, need: int, at: datetime, zone: ZoneInfo
) -> list[NearbyStore]:
    cap = min(q.radius_m if q.radius_m is not None else HALF_EQUATOR_M, HALF_EQUATOR_M)
    reach = min(cap, _FIRST_BOX_M)
    while True:
        min_lat, max_lat, min_lng, max_lng = bounding_box(q.lat, q.lng, reach)
        if min_lng < -180 or max_lng > 180:  # across the antimeridian: every longitude
            min_lng, max_lng = -180.0, 180.0
        stmt = (
            _base(q)
            .join(_RTREE, _RTREE.c.store_id == Store.id)
            .where(
                and_(
                    _RTREE.c.min_lat >= min_lat,
                    _RTREE.c.max_lat <= max_lat,
                    _RTREE.c.min_lng >= min_lng,
                    _RTREE.c.max_lng <= max_lng,
                )
            )
        )
        found = [
            s for r in (await session.execute(stmt)).all() if _keep(s := _row(r, q, at, zone), q)
        ]
        # Every store within ``reach`` is in the box: the nearest ``need`` among them are final.
        inside = [s for s in found if s.exact_m <= reach]
        if len(inside) >= need or reach >= cap:
            return inside
        reach = min(cap, reach * 4)


async def near(
    session: AsyncSession, q: Near, *, at: datetime, zone: ZoneInfo, pg: Any | None = None
) -> tuple[list[NearbyStore], bool]:
    """The page of stores nearest first, and whether more follow. ``pg``: an asyncpg
    connection to read on instead of the session (``cardsvc.kernel.db.driver_connection``)."""
    need = q.offset + q.limit + 1
    if pg is not None:
        found, _ = await _near_asyncpg(pg, q, need, at, zone)
    elif session.bind.dialect.name == "postgresql":
        found = await _near_pg(session, q, need, at, zone)
    else:
        found = await _near_sqlite(session, q, need, at, zone)
    found.sort(key=lambda s: (s.exact_m, s.store_id))
    return found[q.offset : q.offset + q.limit], len(found) > q.offset + q.limit


async def near_with(
    pg: Any, q: Near, rider: Rider, *, at: datetime, zone: ZoneInfo
) -> tuple[list[NearbyStore], bool, Any]:
    """:func:`near` on an asyncpg connection with ``rider`` in the same statement: the page, whether
    more follow, and the rider's value."""
    need = q.offset + q.limit + 1
    found, value = await _near_asyncpg(pg, q, need, at, zone, rider)
    found.sort(key=lambda s: (s.exact_m, s.store_id))
    return found[q.offset : q.offset + q.limit], len(found) > q.offset + q.limit, value


async def district_centre(session: AsyncSession, region: str) -> tuple[float, float] | None:
    """The mean position of the open stores in a district (a region code or its prefix)."""
    row = (
        await session.execute(
            select(func.avg(Store.latitude), func.avg(Store.longitude)).where(
                Store.region.startswith(region),
                Store.status == StoreStatus.active,
                Store.latitude.is_not(None),
            )
        )
    ).first()
    if row is None or row[0] is None:
        return None
    return float(row[0]), float(row[1])


async def one_store(
    session: AsyncSession, store_id: uuid.UUID, *, at: datetime, zone: ZoneInfo
) -> NearbyStore | None:
    """An open store with a location, as the directory shows it (distance 0)."""
    r = (await session.execute(_base(Near(0.0, 0.0)).where(Store.id == store_id))).first()
    return None if r is None else _row(r, Near(r[8], r[9]), at, zone)


async def stores_where(
    session: AsyncSession,
    *,
    merchant_ids: Sequence[uuid.UUID] = (),
    categories: Sequence[str] = (),
    regions: Sequence[str] = (),
    store_ids: Sequence[uuid.UUID] = (),
    at: datetime,
    zone: ZoneInfo,
    limit: int = 50,
) -> list[NearbyStore]:
    """Open stores with a location (as the directory shows them, distance 0) narrowed by each
    list that is set (``regions``: code prefixes of the store's region). By store name."""
    stmt = _base(Near(0.0, 0.0))
    if merchant_ids:
        stmt = stmt.where(Store.merchant_id.in_(list(merchant_ids)))
    if store_ids:
        stmt = stmt.where(Store.id.in_(list(store_ids)))
    if categories:
        stmt = stmt.where(Merchant.category.in_(list(categories)))
    if regions:
        stmt = stmt.where(or_(*[Store.region.startswith(p, autoescape=True) for p in regions]))
    rows = await session.execute(stmt.order_by(Store.name, Store.id).limit(limit))
    return [_row(r, Near(r[8], r[9]), at, zone) for r in rows]
