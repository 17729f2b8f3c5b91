"""Activity sign-ups per second when everyone wants the same activity, against the same number
of sign-ups spread over as many activities (no contention): what the conditional UPDATE on the
activity row costs when 200 members press 报名 at once for 50 places.

Runs on PostgreSQL (``UNIONCARD_DATABASE_URL``, default
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``) in a scratch database it creates and
drops. Each round publishes fresh activities and fires 200 sign-ups at once, each in its own
session and transaction on a pool of 20 connections (``signups.sign_up``: eligibility by the
engine's rule, the claim of the member's row, the place or the waiting list). Contended rounds
(one activity, 50 places) and baseline rounds (200 activities, one sign-up each) alternate;
every contended round is checked: exactly 50 places taken, the waiting list 1–150.

Usage: ``.venv/bin/python bench/activity_signups.py [--rounds 3] [--signups 200]``
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cardsvc.wiring import wire

wire()

from cardsvc.activities import service, signups  # noqa: E402
from cardsvc.activities.models import ActivityKind, ActivitySignup, SignupStatus  # noqa: E402
from cardsvc.kernel.db import import_all_models, make_sessionmaker, metadata  # noqa: E402
from cardsvc.kernel.principal import SYSTEM  # noqa: E402
from cardsvc.members.models import Member, MemberStatus  # noqa: E402
from cardsvc.orgs.models import Org, OrgLevel, OrgStatus  # noqa: E402

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
CAPACITY = 50
TZ = "Asia/Shanghai"


async def _setup(url: str, members: int) -> tuple[Org, list[Member]]:
    engine = create_async_engine(url)
    import_all_models()
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    org_id = uuid.uuid4()
    org = Org(
        id=org_id,
        code="BENCH",
        name="基准测试总工会",
        level=OrgLevel.provincial,
        path=f"{org_id.hex}/",
        status=OrgStatus.active,
    )
    people = [
        Member(
            member_no=f"B{i:08d}",
            name="测试会员",
            id_number_enc="-",
            id_number_hash=hashlib.sha256(f"bench-{i}".encode()).hexdigest(),
            data_key_id="b1",
            gender="F",
            org_id=org_id,
            org_path=org.path,
            status=MemberStatus.active,
        )
        for i in range(members)
    ]
    async with make_sessionmaker(engine)() as session, session.begin():
        session.add(org)
        await session.flush()
        session.add_all(people)
    await engine.dispose()
    return org, people


async def _publish(engine: AsyncEngine, org: Org, n: int) -> list[uuid.UUID]:
    now = datetime.now(UTC)
    ids = []
    async with make_sessionmaker(engine)() as session, session.begin():
        for _ in range(n):
            a = await service.publish(
                session,
                SYSTEM,
                service.ActivityInput(
                    org_id=org.id,
                    kind=ActivityKind.activity,
                    title="职工健步走",
                    description="",
                    starts_at=now + timedelta(hours=2),
                    ends_at=now + timedelta(hours=4),
                    place="滨江公园",
                    capacity=CAPACITY,
                    signup_opens_at=now - timedelta(hours=1),
                    signup_closes_at=now + timedelta(hours=1),
                    cancel_deadline=now + timedelta(hours=1),
                ),
                now=now,
            )
            ids.append(a.id)
    return ids


async def _round(
    engine: AsyncEngine, people: list[Member], activity_ids: list[uuid.UUID]
) -> tuple[float, list[float]]:
    """Sign ``people[i]`` up for ``activity_ids[i % len]``, all at once; wall time and
    per-sign-up latencies (seconds)."""
    sm = make_sessionmaker(engine)
    gate = asyncio.Event()
    latencies: list[float] = []

    async def one(i: int) -> None:
        await gate.wait()
        t0 = time.perf_counter()
        async with sm() as session, session.begin():
            await signups.sign_up(
                session,
                people[i],
                activity_ids[i % len(activity_ids)],
                now=datetime.now(UTC),
                time_zone=TZ,
            )
        latencies.append(time.perf_counter() - t0)

    tasks = [asyncio.create_task(one(i)) for i in range(len(people))]
    await asyncio.sleep(0.05)
    start = time.perf_counter()
    gate.set()
    await asyncio.gather(*tasks)
    return time.perf_counter() - start, latencies


async def _check(engine: AsyncEngine, activity_id: uuid.UUID, n: int) -> None:
    async with make_sessionmaker(engine)() as session:
        rows = list(
            await session.scalars(
                select(ActivitySignup).where(ActivitySignup.activity_id == activity_id)
            )
        )
    signed = [r for r in rows if r.status == SignupStatus.signed]
    waiting = sorted(r.position or 0 for r in rows if r.status == SignupStatus.waitlisted)
    assert len(signed) == CAPACITY, len(signed)
    assert waiting == list(range(1, n - CAPACITY + 1)), waiting[:5]


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000


async def _bench(url: str, rounds: int, n: int) -> None:
    _, people = await _setup(url, n * rounds * 2)
    engine = create_async_engine(url, pool_size=20, max_overflow=0)
    org = (await _orgs(engine))[0]
    figures: dict[str, tuple[float, int, list[float]]] = {
        "contended": (0.0, 0, []),
        "baseline": (0.0, 0, []),
    }
    for r in range(rounds * 2):
        kind = "contended" if r % 2 == 0 else "baseline"
        who = people[r * n : (r + 1) * n]
        ids = await _publish(engine, org, 1 if kind == "contended" else n)
        wall, lat = await _round(engine, who, ids)
        if kind == "contended":
            await _check(engine, ids[0], n)
        total, count, lats = figures[kind]
        figures[kind] = (total + wall, count + n, lats + lat)
    await engine.dispose()
    print(f"{'run':<12}{'signups':>9}{'per second':>12}{'p50 ms':>9}{'p99 ms':>9}")
    rate = {}
    for kind, (total, count, lats) in figures.items():
        rate[kind] = count / total
        print(
            f"{kind:<12}{count:>9}{rate[kind]:>12.0f}{_pct(lats, 0.5):>9.1f}{_pct(lats, 0.99):>9.1f}"
        )
    print(
        f"contended_per_s={rate['contended']:.0f} baseline_per_s={rate['baseline']:.0f} "
        f"ratio={rate['contended'] / rate['baseline']:.2f} "
        f"contended_p99_ms={_pct(figures['contended'][2], 0.99):.1f} rounds={rounds} signups={n}"
    )


async def _orgs(engine: AsyncEngine) -> list[Org]:
    async with make_sessionmaker(engine)() as session:
        return list(await session.scalars(select(Org)))


async def main(rounds: int, n: int) -> None:
    base = os.environ.get("UNIONCARD_DATABASE_URL", DEFAULT_URL)
    if not base.startswith("postgresql"):
        raise SystemExit("needs PostgreSQL (UNIONCARD_DATABASE_URL)")
    admin = "postgresql://" + base.split("://", 1)[1]
    name = f"activities_bench_{os.getpid()}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = base.rsplit("/", 1)[0] + "/" + name
    try:
        await _bench(url, rounds, n)
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--signups", type=int, default=200)
    a = p.parse_args()
    asyncio.run(main(a.rounds, a.signups))
