"""附近 at scale: nearest-20 stores with a member's usable benefits, against the raw query.

1. Creates a scratch PostgreSQL database, migrates it (``unioncard database upgrade``: the
   cube/earthdistance extensions and the GiST index come with the migration), seeds members and a
   programme (``_harness.seed``), then STORES stores across China (most around 40 city centres,
   the rest anywhere in the country's box) under eight merchants of different categories.
2. Ours: CLIENTS concurrent tasks, each with its own session, calling what the 附近 page calls
   (``cardsvc.flows.nearby.nearby``: the spatial search, then the engine's quote at each of the
   20 stores for a random member) around random points near the cities, for SECONDS.
3. Raw: the same nearest-20 as one SQL statement through asyncpg (a pool of CLIENTS), same
   points, same duration. ``ratio`` = ours ÷ raw requests per second.
4. SQLite: the same stores in a file database (R*Tree), ours on one connection.

Usage: ``.venv/bin/python bench/nearby.py [--stores 300000] [--seconds 15] [--clients 4]``
Env: ``BENCH_PG`` (admin URL, default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from _harness import migrate, pct, psql, scratch_database, seed, server_env, var_dir

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


def store_rows(n: int, merchants: list[uuid.UUID], seed_: int = 7) -> list[dict[str, Any]]:
    rnd = random.Random(seed_)
    rows = []
    for i in range(n):
        if rnd.random() < 0.8:
            lat, lng = point(rnd)
        else:
            lat, lng = rnd.uniform(18.2, 53.5), rnd.uniform(73.5, 134.8)
        rows.append(
            {
                "id": uuid.uuid4(),
                "merchant_id": merchants[i % len(merchants)],
                "name": f"门店{i:06d}",
                "address": f"测试路 {i} 号",
                "region": "420502",
                "status": "active",
                "latitude": lat,
                "longitude": lng,
                "amenities": 0,
            }
        )
    return rows


async def add_stores(db_url: str, n: int, org_id: str | None) -> list[uuid.UUID]:
    """Eight merchants (one per category) and ``n`` stores; returns some member ids."""
    from sqlalchemy import insert, select, text

    from cardsvc.kernel.db import make_engine
    from cardsvc.members.models import Member
    from merchants.models import Merchant, Store

    engine = make_engine(db_url)
    async with engine.begin() as conn:
        if org_id is None:  # SQLite: an org of its own
            from cardsvc.orgs.models import Org

            oid = uuid.uuid4()
            await conn.execute(
                insert(Org),
                [
                    {
                        "id": oid,
                        "code": "BENCH",
                        "name": "基准",
                        "level": "provincial",
                        "path": f"{oid}/",
                        "status": "active",
                    }
                ],
            )
            org_id = str(oid)
        org = uuid.UUID(org_id)
        mids = [uuid.uuid4() for _ in CATEGORIES]
        await conn.execute(
            insert(Merchant),
            [
                {
                    "id": m,
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
                for i, (m, c) in enumerate(zip(mids, CATEGORIES, strict=True))
            ],
        )
        rows = store_rows(n, mids)
        for i in range(0, n, 10_000):
            await conn.execute(insert(Store), rows[i : i + 10_000])
        members = list(await conn.scalars(select(Member.id).limit(200)))
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE"))
        await conn.commit()
    await engine.dispose()
    return members


async def ours(
    db_url: str, members: list[uuid.UUID], seconds: float, clients: int
) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    from sqlalchemy.ext.asyncio import async_sessionmaker

    from cardsvc.flows.nearby import nearby
    from cardsvc.kernel.clock import utc_now
    from cardsvc.kernel.db import make_engine
    from cardsvc.members.models import Member
    from merchants.public import Near

    engine = make_engine(db_url)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    zone = ZoneInfo("Asia/Shanghai")
    async with maker() as s:
        people = [p for m in members[:50] if (p := await s.get(Member, m)) is not None]
    lat_ms: list[float] = []
    sizes: list[int] = []
    stop = time.perf_counter() + seconds

    async def worker(k: int) -> None:
        rnd = random.Random(k)
        async with maker() as session:
            while time.perf_counter() < stop:
                lat, lng = point(rnd)
                t0 = time.perf_counter()
                items, _ = await nearby(
                    session, rnd.choice(people), Near(lat, lng, limit=20), at=utc_now(), zone=zone
                )
                await session.rollback()
                lat_ms.append(time.perf_counter() - t0)
                sizes.append(sum(len(o.usable) for o in items))

    t = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(clients)))
    took = time.perf_counter() - t
    await engine.dispose()
    return {
        "rps": len(lat_ms) / took,
        "p50": pct(lat_ms, 0.5),
        "p99": pct(lat_ms, 0.99),
        "n": len(lat_ms),
        "offers": sum(sizes) / max(len(sizes), 1),
    }


RAW = """SELECT s.id, s.merchant_id, s.name, m.display_name, m.category, s.address, s.region,
 m.region, s.latitude, s.longitude, s.phone, s.hours, s.amenities, s.photos
FROM merchant_store s JOIN merchant m ON m.id = s.merchant_id
WHERE s.status = 'active' AND m.status = 'active'
 AND s.latitude IS NOT NULL AND s.longitude IS NOT NULL
ORDER BY ll_to_earth(s.latitude, s.longitude) <-> ll_to_earth($1, $2) LIMIT 20"""


async def raw(dsn: str, seconds: float, clients: int) -> dict[str, Any]:
    import asyncpg

    pool = await asyncpg.create_pool(dsn, min_size=clients, max_size=clients)
    lat_ms: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker(k: int) -> None:
        rnd = random.Random(k)
        async with pool.acquire() as conn:
            while time.perf_counter() < stop:
                lat, lng = point(rnd)
                t0 = time.perf_counter()
                rows = await conn.fetch(RAW, lat, lng)
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


async def sqlite_figure(n: int, seconds: float, members_from: str) -> dict[str, Any]:
    """The same stores in an SQLite file (schema from the models: R*Tree and triggers too)."""
    from sqlalchemy import insert, select

    from cardsvc.kernel.db import import_all_models, make_engine, metadata
    from cardsvc.members.models import Member

    import_all_models()
    path = Path(tempfile.mkdtemp(prefix="stores_bench_")) / "bench.db"
    url = f"sqlite+aiosqlite:///{path}"
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    await add_stores(url, n, None)
    # Members copied from the PostgreSQL run (their org is not this one: no benefits, the
    # search and the engine's reads still run).
    pg = make_engine(members_from)
    async with pg.connect() as conn:
        rows = [dict(r._mapping) for r in (await conn.execute(select(Member.__table__).limit(20)))]
    await pg.dispose()
    eng = make_engine(url)
    async with eng.begin() as conn:
        from cardsvc.orgs.models import Org

        org = (await conn.execute(select(Org.__table__).limit(1))).first()
        assert org is not None
        for r in rows:
            r["org_id"], r["org_path"] = org.id, org.path
        await conn.execute(insert(Member), rows)
    await eng.dispose()
    res = await ours(url, [r["id"] for r in rows], seconds, 1)
    path.unlink()
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stores", type=int, default=300_000)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args()
    with scratch_database("stores_bench") as db_url:
        env = server_env(db_url, var_dir())
        t = time.perf_counter()
        migrate(env)
        world = asyncio.run(seed(200, env, codes=False))
        app_url = "postgresql+asyncpg://" + db_url.split("://", 1)[1]
        members = asyncio.run(add_stores(app_url, args.stores, world["org_id"]))
        setup = time.perf_counter() - t
        size = psql(db_url, "SELECT pg_size_pretty(pg_relation_size('ix_merchant_store_earth'))")
        asyncio.run(ours(app_url, members, 2, args.clients))  # warm-up
        a = asyncio.run(ours(app_url, members, args.seconds, args.clients))
        b = asyncio.run(raw(db_url, args.seconds, args.clients))
        lite = asyncio.run(sqlite_figure(args.stores, args.seconds, app_url))
    ratio = a["rps"] / b["rps"]
    print(f"{'':<48}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    print(
        f"{'ours: nearest-20 + eligibility (PostgreSQL)':<48}{a['rps']:>10.1f}{a['p50']:>10.2f}{a['p99']:>10.2f}"
    )
    print(
        f"{'raw: nearest-20, one asyncpg query':<48}{b['rps']:>10.1f}{b['p50']:>10.2f}{b['p99']:>10.2f}"
    )
    print(
        f"{'ours: nearest-20 + eligibility (SQLite)':<48}{lite['rps']:>10.1f}{lite['p50']:>10.2f}{lite['p99']:>10.2f}"
    )
    print(
        f"stores={args.stores} clients={args.clients} setup_s={setup:.0f} gist_index={size} "
        f"usable_per_page={a['offers']:.1f}"
    )
    print(
        f"stores={args.stores} ours_rps={a['rps']:.1f} raw_rps={b['rps']:.1f} "
        f"ours_p99_ms={a['p99']:.2f} raw_p99_ms={b['p99']:.2f} sqlite_rps={lite['rps']:.1f} "
        f"sqlite_p99_ms={lite['p99']:.2f} ratio={ratio:.3f}"
    )


if __name__ == "__main__":
    main()
