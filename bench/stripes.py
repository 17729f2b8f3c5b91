"""Redemptions per second against one programme budget: a single counter row versus N stripes.

Runs on PostgreSQL (``UNIONCARD_DATABASE_URL``, default
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``) in a scratch database it creates and
drops. 16 concurrent tasks, each on its own connection, redeem through ``benefits.redeem()``
for random members with fresh idempotency keys; the programme (10 % off, capped at ¥30) has a
per-member daily count and a monthly programme budget, so every redemption charges the budget
counter: with one row, redemptions of the programme serialise on that row's lock from its
UPDATE to its COMMIT (including the WAL flush); with stripes, on one of N rows.

Two programmes, one laid out as a single row (``UNIONCARD_BUDGET_STRIPES=1``) and one in N
stripes, are warmed up, then measured alternately, twice each, in the same run; the figures are
the sums. Then an exhaustion run: a small striped budget hammered until it refuses, to show it
is spent exactly and never overspent, and reconciliation finds no drift.

Usage: ``.venv/bin/python bench/stripes.py [--stripes 8] [--seconds 7] [--tasks 16]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from advanced_alchemy.base import orm_registry

import benefits.models  # noqa: F401  (registers the tables)
from benefits.engine.counters import set_budget_stripes
from benefits.errors import BudgetExhausted
from benefits.public import ProgramView, create_program, publish_program, reconcile, redeem
from benefits.rules.facts import MemberFacts, MerchantContext

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
ORG = uuid.UUID("00000000-0000-7000-8000-0000000000ab")
ORG_PATH = f"{ORG}/"
MEMBERS = 20_000
BIG = 10**12  # a budget that never runs out during the timed runs
BENEFIT = {"kind": "percent_off", "basis_points": 1000, "cap_fen": 3000, "funded_by": "federation"}


def _rules(name: str, budget: int) -> dict[str, Any]:
    return {
        "name": f"餐饮九折(基准测试 {name})",
        "benefit": BENEFIT,
        "scope": {"merchant_categories": ["dining"]},
        "limits": [
            {"key": "daily", "metric": "count", "scope": "member", "period": "day", "limit": BIG},
            {
                "key": "budget",
                "metric": "amount",
                "scope": "program",
                "period": "month",
                "limit": budget,
            },
        ],
    }


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.elapsed = 0.0

    def add(self, other: Stats) -> None:
        self.latencies += other.latencies
        self.elapsed += other.elapsed

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(q * len(data)))] * 1000 if data else 0.0


class Programme:
    def __init__(self, engine: AsyncEngine, prog: ProgramView, stripes: int) -> None:
        self.engine, self.prog, self.stripes = engine, prog, stripes
        self.members = [uuid.uuid4() for _ in range(MEMBERS)]
        self.shop = MerchantContext(
            merchant_id=uuid.uuid4(),
            store_id=uuid.uuid4(),
            terminal_id=uuid.uuid4(),
            category="dining",
            region="110105",
        )
        self.rnd = random.Random(str(prog.id))

    async def once(self, conn: Any) -> bool:
        """One redemption; False when the budget refused it."""
        member = MemberFacts(id=self.rnd.choice(self.members), status="active", org_path=ORG_PATH)
        try:
            await redeem(
                conn,
                member=member,
                merchant=self.shop,
                program_ids=self.prog.id,
                amount_fen=self.rnd.randint(1000, 20000),
                idempotency_key=uuid.uuid4().hex,
                at=datetime.now(UTC),
            )
        except BudgetExhausted:
            return False
        return True

    async def run(
        self, tasks: int, seconds: float, *, until_refused: bool = False
    ) -> tuple[Stats, int]:
        """Redeem from ``tasks`` connections for ``seconds``; returns the stats and refusals."""
        set_budget_stripes(self.stripes)
        stats, refused = Stats(), 0
        conns = [await self.engine.connect() for _ in range(tasks)]
        stop = time.perf_counter() + seconds
        started = time.perf_counter()

        async def loop(conn: Any) -> None:
            nonlocal refused
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                if await self.once(conn):
                    stats.latencies.append(time.perf_counter() - t0)
                else:
                    refused += 1
                    if until_refused and refused >= 4 * tasks:
                        return
                    if not until_refused:
                        raise RuntimeError("a redemption was refused")

        await asyncio.gather(*(loop(c) for c in conns))
        stats.elapsed = time.perf_counter() - started
        for c in conns:
            await c.close()
        return stats, refused


async def _programme(engine: AsyncEngine, code: str, budget: int, stripes: int) -> Programme:
    async with engine.connect() as conn:
        prog = await create_program(
            conn,
            code=code,
            owner_org_id=ORG,
            owner_org_path=ORG_PATH,
            rules=_rules(code, budget),
        )
        prog = await publish_program(conn, program_id=prog.id)
    return Programme(engine, prog, stripes)


async def main(stripes: int, seconds: float, tasks: int) -> None:
    base_url = os.environ.get("UNIONCARD_DATABASE_URL", DEFAULT_URL)
    if not base_url.startswith("postgresql"):
        raise SystemExit("bench/stripes.py needs PostgreSQL (UNIONCARD_DATABASE_URL)")
    if "+asyncpg" not in base_url:
        base_url = base_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    dsn = base_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    name = f"unioncard_bench_stripes_{os.getpid()}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await _bench(f"{base_url.rpartition('/')[0]}/{name}", stripes, seconds, tasks)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _bench(url: str, stripes: int, seconds: float, tasks: int) -> None:
    engine = create_async_engine(url, pool_size=tasks + 2, max_overflow=0)
    async with engine.begin() as conn:
        await conn.run_sync(orm_registry.metadata.create_all)
    single = await _programme(engine, "BENCH-ONE-ROW", BIG, 1)
    striped = await _programme(engine, f"BENCH-{stripes}-STRIPES", BIG, stripes)

    for p in (single, striped):  # warm up: prepared statements, version cache, some ledger
        await p.run(tasks, 2.0)
    async with engine.begin() as conn:
        await conn.execute(text("ANALYZE benefit_redemption, benefit_counter, benefit_program"))
        fsync = (await conn.execute(text("SHOW synchronous_commit"))).scalar_one()

    results = {"one row": Stats(), f"{stripes} stripes": Stats()}
    for _ in range(2):
        for label, p in zip(results, (single, striped), strict=True):
            results[label].add((await p.run(tasks, seconds))[0])

    # Exhaustion: a budget of 200 average discounts, hammered until it refuses.
    limit = 200 * 1050
    small = await _programme(engine, "BENCH-EXHAUST", limit, stripes)
    drained, refused = await small.run(tasks, 30.0, until_refused=True)
    async with engine.connect() as conn:
        spent, layout = (
            await conn.execute(
                text(
                    "SELECT coalesce(sum(used), 0), count(*) FROM benefit_counter"
                    " WHERE program_id = :p AND policy_key = 'budget'"
                ),
                {"p": small.prog.id},
            )
        ).one()
        ledger = (
            await conn.execute(
                text(
                    "SELECT coalesce(sum(value_fen), 0) FROM benefit_redemption WHERE program_id = :p"
                ),
                {"p": small.prog.id},
            )
        ).scalar_one()
        report = await reconcile(conn, fix=False)
        rows = (await conn.execute(text("SELECT count(*) FROM benefit_redemption"))).scalar_one()
    await engine.dispose()

    one, many = results["one row"], results[f"{stripes} stripes"]
    ratio = many.rate / one.rate if one.rate else 0.0
    print(
        f"{'budget counter':<16}{'ok':>8}{'redemptions/s':>15}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>7}"
    )
    for label, st in results.items():
        r = f"{ratio:>7.2f}" if st is many else ""
        print(f"{label:<16}{st.ok:>8}{st.rate:>15.0f}{st.pct(0.5):>9.2f}{st.pct(0.99):>9.2f}{r}")
    print(
        f"exhaustion ({stripes} stripes): budget {limit} fen, {drained.ok} redemptions, "
        f"{refused} refusals, spent {spent} fen in {layout} rows, ledger {ledger} fen, "
        f"left {limit - spent} fen, reconcile drifts {len(report.drifts)}"
    )
    print(f"tasks={tasks} seconds_per_run={seconds} synchronous_commit={fsync} ledger_rows={rows}")
    if spent > limit or spent != ledger or not report.ok:
        raise SystemExit("OVERSPENT OR DRIFTED")
    print(
        f"stripes={stripes} single_rps={one.rate:.0f} single_p50_ms={one.pct(0.5):.2f} "
        f"single_p99_ms={one.pct(0.99):.2f} striped_rps={many.rate:.0f} "
        f"striped_p50_ms={many.pct(0.5):.2f} striped_p99_ms={many.pct(0.99):.2f} "
        f"exhaust_limit={limit} exhaust_spent={spent} overspent={max(0, spent - limit)} "
        f"ratio={ratio:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--stripes", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=7.0, help="length of each timed run")
    parser.add_argument("--tasks", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(main(args.stripes, args.seconds, args.tasks))
