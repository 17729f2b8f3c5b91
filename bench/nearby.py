"""附近 at scale, over HTTP: the member API's nearest-20 with eligibility, against the raw query.

1. PostgreSQL: a scratch database, migrated (``unioncard database upgrade``: the cube
   extension and the GiST index over the stores' unit-sphere points come with the migration), seeded with members
   (some with a phone, for sessions) and a dining programme (``_harness.seed``), then STORES
   stores across China (most around 40 city centres, the rest anywhere in the country's box)
   under eight merchants of different categories, in one COPY.
2. Ours: the app under granian (WORKERS workers); CLIENTS keep-alive connections, each as a
   signed-in member, call ``GET /api/v1/me/stores/nearby?near=…&limit=20`` (the spatial search,
   then the engine's quote at each of the 20 stores) around random points near the cities.
3. Raw: the same nearest-20, each with its distance, as one SQL statement through asyncpg (a
   pool of CLIENTS), same points, same duration, same run. ``ratio`` = ours ÷ raw requests per second.
4. SQLite: the same stores in a file database (filled in big executemany batches; the R*Tree's
   triggers fill it), served by one granian worker, driven the same way.

Usage: ``.venv/bin/python bench/nearby.py [--stores 300000] [--seconds 15] [--clients 8]
[--workers 2] [--port 8120] [--profile DIR]`` (``--profile``: py-spy stacks of each worker,
``pip install py-spy``). Env: ``BENCH_PG`` (admin URL, default
postgresql://postgres@127.0.0.1:5432/test), ``BENCH_REDIS`` (flushed; default
redis://127.0.0.1:6379/13).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _harness import (
    REDIS_URL,
    Conn,
    children,
    flush_redis,
    migrate,
    pct,
    profile,
    psql,
    scratch_database,
    seed,
    server_env,
    start_server,
    stop_server,
    var_dir,
)

CITIES = [  # (lat, lng) of 40 city centres, WGS-84
    (39.90, 116.40),
    (31.23, 121.47),
    (23.13, 113.26),
    (22.54, 114.06),
    (30.57, 104.07),
    (29.56, 106.55),
    (30.59, 114.30),
    (34.34, 108.94),
    (32.06, 118.80),
    (30.27, 120.16),
    (36.07, 120.38),
    (38.04, 114.51),
    (41.80, 123.43),
    (45.80, 126.53),
    (43.82, 125.32),
    (36.65, 117.12),
    (34.75, 113.63),
    (28.23, 112.94),
    (26.08, 119.30),
    (24.48, 118.09),
    (25.04, 102.71),
    (26.65, 106.63),
    (22.82, 108.37),
    (20.04, 110.20),
    (37.87, 112.55),
    (40.84, 111.75),
    (38.47, 106.27),
    (36.06, 103.83),
    (36.62, 101.78),
    (43.83, 87.62),
    (29.65, 91.14),
    (31.82, 117.23),
    (28.68, 115.86),
    (30.69, 111.29),
    (32.39, 119.41),
    (31.30, 120.59),
    (29.87, 121.54),
    (22.27, 113.58),
    (39.13, 117.20),
    (27.99, 120.70),
]
CATEGORIES = [
    "dining",
    "retail",
    "cinema",
    "health",
    "fitness",
    "education",
    "rest_station",
    "other",
]


def point(rnd: random.Random) -> tuple[float, float]:
    lat, lng = rnd.choice(CITIES)
    return lat + rnd.gauss(0, 0.15), lng + rnd.gauss(0, 0.15)


COLUMNS = (
    "id",
    "merchant_id",
    "name",
    "address",
    "region",
    "status",
    "latitude",
    "longitude",
    "amenities",
    "created_at",
    "updated_at",
)


def store_rows(n: int, merchants: list[uuid.UUID], seed_: int = 7) -> list[tuple[Any, ...]]:
    """``n`` stores as tuples in COLUMNS' order."""
    rnd = random.Random(seed_)
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        if rnd.random() < 0.8:
            lat, lng = point(rnd)
        else:
            lat, lng = rnd.uniform(18.2, 53.5), rnd.uniform(73.5, 134.8)
        rows.append(
            (
                uuid.uuid4(),
                merchants[i % len(merchants)],
                f"门店{i:06d}",
                f"测试路 {i} 号",
                "420502",
                "active",
                lat,
                lng,
                0,
                now,
                now,
            )
        )
    return rows


def merchant_rows(org_id: str) -> list[dict[str, Any]]:
    org = uuid.UUID(org_id)
    return [
        {
            "id": uuid.uuid4(),
            "org_id": org,
            "org_path": f"{org}/",
            "legal_name": f"基准商户{i}",
            "display_name": f"基准商户{i}",
            "uscc": f"9142050200BENCH{i:03d}",
            "category": c,
            "region": "420502",
            "contact_name": "王",
            "contact_phone": "1",
            "status": "active",
        }
        for i, c in enumerate(CATEGORIES)
    ]


async def add_merchants(org_id: str) -> list[uuid.UUID]:
    from sqlalchemy import insert

    from cardsvc.kernel.db import make_engine
    from cardsvc.kernel.settings import Settings
    from merchants.models import Merchant

    engine = make_engine(Settings.from_env().database_url)  # seed() exported the env
    rows = merchant_rows(org_id)
    async with engine.begin() as conn:
        await conn.execute(insert(Merchant), rows)
    await engine.dispose()
    return [r["id"] for r in rows]


async def fill_pg(dsn: str, n: int, merchants: list[uuid.UUID]) -> None:
    """The stores in one COPY (the GiST index is kept as they go in), then ANALYZE."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "merchant_store", records=store_rows(n, merchants), columns=list(COLUMNS)
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def fill_sqlite(path: Path, n: int, merchants: list[uuid.UUID]) -> None:
    """The stores in executemany batches of 50,000, the values in the forms the app's column
    types store (their bind processors); the R*Tree's insert trigger fills the index."""
    from sqlalchemy.dialects import sqlite

    from cardsvc.kernel.db import import_all_models
    from merchants.models import Store

    import_all_models()
    dialect = sqlite.dialect()

    def processor(name: str) -> Any:
        p = Store.__table__.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        return p or (lambda v: v)

    procs = [processor(c) for c in COLUMNS]
    sql = f"INSERT INTO merchant_store ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    db = sqlite3.connect(path)
    try:
        rows = store_rows(n, merchants)
        for i in range(0, n, 50_000):
            batch = [
                tuple(p(v) for p, v in zip(procs, r, strict=True)) for r in rows[i : i + 50_000]
            ]
            db.executemany(sql, batch)
        db.commit()
        db.execute("ANALYZE")
        got = db.execute("SELECT count(*) FROM merchant_store_rtree").fetchone()[0]
        assert got >= n, f"the R*Tree holds {got} of {n} stores"
    finally:
        db.close()


async def sessions(world: dict[str, Any], redis_url: str) -> list[str]:
    """A member session cookie for each member with a phone, written straight into Redis."""
    from redis.asyncio import Redis

    from cardsvc.kernel.stores import make_store_registry
    from cardsvc.memberauth.sessions import open_member_session

    redis = Redis.from_url(redis_url)
    store = make_store_registry(redis).get("sessions")
    made = [
        await open_member_session(store, phone_hash=h, phone_enc=world["phone_enc"], max_age=7200)
        for h in world["phone_hashes"]
    ]
    await redis.aclose()
    return [s.token for s in made]


async def drive(port: int, tokens: list[str], seconds: float, clients: int) -> dict[str, Any]:
    """CLIENTS connections, each a member, asking for the nearest 20 around random points."""
    lat_s: list[float] = []
    offers: list[int] = []
    stop = time.perf_counter() + seconds

    async def worker(k: int) -> None:
        rnd = random.Random(k)
        c = Conn("127.0.0.1", port)
        try:
            while time.perf_counter() < stop:
                lat, lng = point(rnd)
                head = f"Cookie: uc_member={rnd.choice(tokens)}\r\n"
                t0 = time.perf_counter()
                status, body = await c.request(
                    "GET", f"/api/v1/me/stores/nearby?near={lat:.5f},{lng:.5f}&limit=20", b"", head
                )
                lat_s.append(time.perf_counter() - t0)
                if status != 200:
                    raise RuntimeError(f"the API answered {status}: {body[:300]!r}")
                items = json.loads(body)["items"]
                assert len(items) == 20
                offers.append(sum(len(i["usable"]) for i in items))
        finally:
            c.close()

    t = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(clients)))
    took = time.perf_counter() - t
    return {
        "rps": len(lat_s) / took,
        "p50": pct(lat_s, 0.5),
        "p99": pct(lat_s, 0.99),
        "n": len(lat_s),
        "offers": sum(offers) / max(len(offers), 1),
    }


def raw_sql() -> str:
    """The nearest 20 as the API lists them: the same columns and filters, walked on the same
    index, each with its distance in metres (from the chord the index orders by)."""
    from merchants.directory.geo import EARTH_RADIUS_M
    from merchants.spatial import sphere_point_sql

    there = sphere_point_sql("s.latitude", "s.longitude")
    here = sphere_point_sql("$1::float8", "$2::float8")
    return f"""SELECT s.id, s.merchant_id, s.name, m.display_name, m.category, s.address, s.region,
 m.region, s.latitude, s.longitude, s.phone, s.hours, s.amenities, s.photos,
 2 * {EARTH_RADIUS_M} * asin(least(1, ({there} <-> {here}) / 2)) AS distance_m
FROM merchant_store s JOIN merchant m ON m.id = s.merchant_id
WHERE s.status = 'active' AND m.status = 'active'
 AND s.latitude IS NOT NULL AND s.longitude IS NOT NULL
ORDER BY {there} <-> {here} LIMIT 20"""


async def raw(dsn: str, seconds: float, clients: int) -> dict[str, Any]:
    import asyncpg

    sql = raw_sql()
    pool = await asyncpg.create_pool(dsn, min_size=clients, max_size=clients)
    lat_ms: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker(k: int) -> None:
        rnd = random.Random(k)
        async with pool.acquire() as conn:
            while time.perf_counter() < stop:
                lat, lng = point(rnd)
                t0 = time.perf_counter()
                rows = await conn.fetch(sql, lat, lng)
                assert len(rows) == 20
                lat_ms.append(time.perf_counter() - t0)

    t = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(clients)))
    took = time.perf_counter() - t
    await pool.close()
    return {
        "rps": len(lat_ms) / took,
        "p50": pct(lat_ms, 0.5),
        "p99": pct(lat_ms, 0.99),
        "n": len(lat_ms),
    }


def serve_and_drive(
    env: dict[str, str], world: dict[str, Any], args: argparse.Namespace, workers: int
) -> dict[str, Any]:
    tokens = asyncio.run(sessions(world, env["UNIONCARD_REDIS_URL"]))
    server = start_server(env, args.port, workers)
    try:
        asyncio.run(drive(args.port, tokens, 2, args.clients))  # warm-up
        spies = profile(children(server.pid) or [server.pid], args.seconds, args.profile)
        done = asyncio.run(drive(args.port, tokens, args.seconds, args.clients))
        for spy in spies:
            spy.wait(30)
        return done
    finally:
        stop_server(server)


def run_pg(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], float, str]:
    from merchants.spatial import EARTH_INDEX

    with scratch_database("stores_bench") as db_url:
        env = server_env(db_url, var_dir(), REDIS_URL)
        t = time.perf_counter()
        migrate(env)
        world = asyncio.run(seed(200, env, codes=False, phones=50))
        mids = asyncio.run(add_merchants(world["org_id"]))
        asyncio.run(fill_pg(db_url, args.stores, mids))
        setup = time.perf_counter() - t
        size = psql(db_url, f"SELECT pg_size_pretty(pg_relation_size('{EARTH_INDEX}'))")
        ours = serve_and_drive(env, world, args, args.workers)
        base = asyncio.run(raw(db_url, args.seconds, args.clients))
    return ours, base, setup, size


def run_sqlite(args: argparse.Namespace) -> dict[str, Any]:
    path = Path(tempfile.mkdtemp(prefix="stores_bench_")) / "bench.db"
    env = server_env(f"sqlite+aiosqlite:///{path}", var_dir(), REDIS_URL)
    try:
        migrate(env)
        world = asyncio.run(seed(200, env, codes=False, phones=50))
        mids = asyncio.run(add_merchants(world["org_id"]))
        fill_sqlite(path, args.stores, mids)
        return serve_and_drive(env, world, args, 1)
    finally:
        path.unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stores", type=int, default=300_000)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--port", type=int, default=8120)
    ap.add_argument("--profile", help="write py-spy collapsed stacks of each worker to this dir")
    args = ap.parse_args()
    t = time.perf_counter()
    flush_redis(REDIS_URL)
    try:
        a, b, setup, size = run_pg(args)
        flush_redis(REDIS_URL)
        lite = run_sqlite(args)
    finally:
        flush_redis(REDIS_URL)
    ratio = a["rps"] / b["rps"]
    print(f"{'':<52}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for label, r in (
        ("ours: member API nearest-20 + eligibility (PG)", a),
        ("raw: nearest-20, one asyncpg query", b),
        ("ours: member API nearest-20 + eligibility (SQLite)", lite),
    ):
        print(f"{label:<52}{r['rps']:>10.1f}{r['p50']:>10.2f}{r['p99']:>10.2f}")
    print(
        f"stores={args.stores} clients={args.clients} workers={args.workers} "
        f"pg_setup_s={setup:.0f} gist_index={size} usable_per_page={a['offers']:.1f} "
        f"total_s={time.perf_counter() - t:.0f}"
    )
    print(
        f"stores={args.stores} ours_rps={a['rps']:.1f} raw_rps={b['rps']:.1f} "
        f"ours_p99_ms={a['p99']:.2f} raw_p99_ms={b['p99']:.2f} sqlite_rps={lite['rps']:.1f} "
        f"sqlite_p99_ms={lite['p99']:.2f} ratio={ratio:.3f}"
    )


if __name__ == "__main__":
    main()
