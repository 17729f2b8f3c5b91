"""Redemptions per second through ``benefits.redeem()`` versus the same SQL through raw asyncpg.

Runs on PostgreSQL (``UNIONCARD_DATABASE_URL``, default
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``) in a scratch database it creates and
drops. 16 concurrent tasks, each on its own connection, redeem for random members (of 20,000)
with fresh idempotency keys at one store. Two realistic programmes (10 % off, capped at ¥30):

* ``budget``: one redemption per member per day and a monthly programme budget; every
  redemption charges the budget row, so redemptions of the programme serialise on that row's
  lock (the hard case);
* ``member``: per-member limits only (a daily count and a monthly amount), no shared row.

The baseline issues the statements ``redeem()`` issues, through asyncpg with no engine code:
SELECT programme + idempotency probe; then one statement charging the two counters (the shared
row last) and inserting the ledger row (``benefits.engine.at_once``). For reference, a third
path runs the transaction ``redeem()`` ran before: BEGIN; the SELECT; INSERT; two conditional
counter upserts; COMMIT. All paths are warmed up, the tables ANALYZEd (a brand-new empty table
otherwise gets cached sequential-scan plans), then they run in turn, twice each, and the
figures are the sums, so that drift of a shared machine affects them alike. The ``CPU µs``
column is this process's CPU per redemption (the engine's Python, or the baseline's): on a busy
machine it moves less than the rates do.

Usage: ``.venv/bin/python bench/redeem.py [--seconds 7] [--tasks 16]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from uuid_utils.compat import uuid7

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from advanced_alchemy.base import orm_registry

import benefits.models  # noqa: F401  (registers the tables)
from benefits.engine.at_once import MEMBER, UPSERT, statement_sql
from benefits.engine.counter_sql import PG_UPSERT
from benefits.engine.statements import LINE_COLUMNS
from benefits.public import ProgramView, create_program, publish_program, redeem
from benefits.rules.facts import MemberFacts, MerchantContext
from benefits.rules.periods import Period, period_key, zone

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
ORG = uuid.UUID("00000000-0000-7000-8000-0000000000aa")
ORG_PATH = f"{ORG}/"
MEMBERS = 20_000
BIG = 10**12  # limits that never refuse: the benchmark measures the path, not refusals
BENEFIT = {"kind": "percent_off", "basis_points": 1000, "cap_fen": 3000, "funded_by": "federation"}
# scenario -> (scope of the amount limit, its scope key or None for the member's)
SCENARIOS = {"budget": ("program", "p"), "member": ("member", None)}

HEAD_SQL = """
SELECT p.id, p.code, p.status, p.current_version_id, p.owner_org_path,
       (SELECT k.checkout_id FROM benefit_redemption_key k
         WHERE k.merchant_id = $2 AND k.idempotency_key = $3) AS existing
FROM benefit_program p WHERE p.id = $1
"""
INSERT_SQL = """
INSERT INTO benefit_redemption (id, checkout_id, line, merchant_id, store_id, terminal_id,
    member_id, card_id, program_id, program_version_id, version_number, amount_fen,
    discount_fen, payable_fen, units, subsidy_fen, value_fen, occurred_at, idempotency_key,
    fingerprint, token_id, takes, member_org_path)
VALUES ($1, $1, 0, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $14, $15, $16, $17,
        $18, $19, $20)
"""

Worker = tuple[Callable[[], Awaitable[bool]], Callable[[], Awaitable[None]]]


def _rules(scenario: str) -> dict[str, Any]:
    scope, _ = SCENARIOS[scenario]
    return {
        "name": f"餐饮九折(基准测试 {scenario})",
        "benefit": BENEFIT,
        "scope": {"merchant_categories": ["dining"]},
        "limits": [
            {"key": "daily", "metric": "count", "scope": "member", "period": "day", "limit": BIG},
            {"key": "budget", "metric": "amount", "scope": scope, "period": "month", "limit": BIG},
        ],
    }


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.elapsed = 0.0
        self.cpu = 0.0  # this process's CPU seconds (the engine or the baseline, not PostgreSQL)

    def add(self, other: Stats) -> None:
        self.latencies += other.latencies
        self.elapsed += other.elapsed
        self.cpu += other.cpu

    @property
    def cpu_us(self) -> float:
        """Client CPU per redemption (µs): steadier than the rate on a busy machine."""
        return self.cpu / self.ok * 1e6 if self.ok else 0.0

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(q * len(data)))] * 1000 if data else 0.0


async def _run(tasks: int, seconds: float, factory: Callable[[], Awaitable[Worker]]) -> Stats:
    stats = Stats()
    workers = [await factory() for _ in range(tasks)]
    started, cpu = time.perf_counter(), time.process_time()
    stop = started + seconds

    async def loop(once: Callable[[], Awaitable[bool]]) -> None:
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            if not await once():
                raise RuntimeError("a redemption was refused")
            stats.latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(loop(once) for once, _ in workers))
    stats.elapsed = time.perf_counter() - started
    stats.cpu = time.process_time() - cpu
    for _, release in workers:
        await release()
    return stats


class Scenario:
    def __init__(
        self, name: str, engine: AsyncEngine, pool: asyncpg.Pool, prog: ProgramView
    ) -> None:
        self.name, self.engine, self.pool, self.prog = name, engine, pool, prog
        self.members = [uuid.uuid4() for _ in range(MEMBERS)]
        self.shop = MerchantContext(
            merchant_id=uuid.uuid4(),
            store_id=uuid.uuid4(),
            terminal_id=uuid.uuid4(),
            category="dining",
            region="110105",
        )
        self.rnd = random.Random(name)
        self.tz = zone("Asia/Shanghai")

    async def engine_worker(self) -> Worker:
        conn = await self.engine.connect()

        async def once() -> bool:
            member = MemberFacts(
                id=self.rnd.choice(self.members), status="active", org_path=ORG_PATH
            )
            await redeem(
                conn,
                member=member,
                merchant=self.shop,
                program_ids=self.prog.id,
                amount_fen=self.rnd.randint(1000, 20000),
                idempotency_key=uuid.uuid4().hex,
                at=datetime.now(UTC),
            )
            return True

        return once, conn.close

    def _raw_request(self) -> tuple[uuid.UUID, int, str, datetime, int, list[dict[str, Any]]]:
        """What a baseline redemption works from: member, amount, key, time, discount, takes."""
        _, budget_scope = SCENARIOS[self.name]
        member_id = self.rnd.choice(self.members)
        amount = self.rnd.randint(1000, 20000)
        at = datetime.now(UTC)
        discount = min((amount * 1000 * 2 + 10000) // 20000, 3000)
        day, month = period_key(Period.day, at, self.tz), period_key(Period.month, at, self.tz)
        mine = f"m:{member_id.hex}"
        takes = [
            {"p": "daily", "m": "count", "s": mine, "k": day, "n": 1, "l": BIG},
            {
                "p": "budget",
                "m": "amount",
                "s": budget_scope or mine,
                "k": month,
                "n": discount,
                "l": BIG,
            },
        ]
        return member_id, amount, uuid.uuid4().hex, at, discount, takes

    async def raw_worker(self) -> Worker:
        """``redeem()``'s statements: the head read, then one statement charging both counters
        (the shared row last) and inserting the ledger row (``benefits.engine.at_once``)."""
        conn = await self.pool.acquire()
        prog, shop = self.prog, self.shop
        # The daily count is the member's own counter; the amount too, or the budget's row.
        shared = SCENARIOS[self.name][1] is not None
        sql = statement_sql((MEMBER, UPSERT if shared else MEMBER), 1)

        async def once() -> bool:
            member_id, amount, key, at, discount, takes = self._raw_request()
            head = await conn.fetchrow(HEAD_SQL, prog.id, shop.merchant_id, key)
            assert head is not None and head["existing"] is None
            counters: list[Any] = []
            for t in takes:
                if t["s"] != "p":
                    counters.append(member_id)
                counters += [uuid7(), prog.id, t["p"], t["m"], t["s"], t["k"], t["n"], BIG, t["n"]]
            line = {
                "id": uuid7(),
                "merchant_id": shop.merchant_id,
                "store_id": shop.store_id,
                "terminal_id": shop.terminal_id,
                "member_id": member_id,
                "member_org_path": ORG_PATH,
                "card_id": None,
                "program_id": prog.id,
                "program_version_id": prog.current_version_id,
                "version_number": 1,
                "amount_fen": amount,
                "discount_fen": discount,
                "payable_fen": amount - discount,
                "units": 1,
                "subsidy_fen": discount,
                "value_fen": discount,
                "occurred_at": at,
                "idempotency_key": key,
                "fingerprint": "0" * 64,
                "token_id": None,
                "bill_ref": None,
                "line": 0,
                "takes": json.dumps(takes),
            }
            line["checkout_id"] = line["id"]
            row = await conn.fetchrow(sql, *counters, *[line[c] for c in LINE_COLUMNS])
            return row is not None and None not in row

        async def release() -> None:
            await self.pool.release(conn)

        return once, release

    async def raw_tx_worker(self) -> Worker:
        """The transaction ``redeem()`` ran before it wrote in one statement: BEGIN; head;
        INSERT; two conditional counter upserts (the shared row last); COMMIT."""
        conn = await self.pool.acquire()
        prog, shop = self.prog, self.shop

        async def once() -> bool:
            member_id, amount, key, at, discount, takes = self._raw_request()
            async with conn.transaction():
                head = await conn.fetchrow(HEAD_SQL, prog.id, shop.merchant_id, key)
                assert head is not None and head["existing"] is None
                await conn.execute(
                    INSERT_SQL,
                    uuid7(),
                    shop.merchant_id,
                    shop.store_id,
                    shop.terminal_id,
                    member_id,
                    None,
                    prog.id,
                    prog.current_version_id,
                    1,
                    amount,
                    discount,
                    amount - discount,
                    discount,
                    discount,
                    at,
                    key,
                    "0" * 64,
                    None,
                    json.dumps(takes),
                    ORG_PATH,
                )
                ok = True
                for t in takes:
                    upsert, names = PG_UPSERT[False, t["s"] != "p"]
                    args: dict[str, Any] = {"k_id": uuid7(), "k_member": member_id}
                    args["k_program"] = prog.id
                    args |= {"k_policy": t["p"], "k_metric": t["m"], "k_scope": t["s"]}
                    args |= {"k_period": t["k"], "n": t["n"], "init": t["n"], "lim": BIG}
                    row = await conn.fetchrow(upsert, *[args[n] for n in names])
                    ok = ok and row is not None
                return ok

        async def release() -> None:
            await self.pool.release(conn)

        return once, release


async def main(seconds: float, tasks: int) -> None:
    base_url = os.environ.get("UNIONCARD_DATABASE_URL", DEFAULT_URL)
    if not base_url.startswith("postgresql"):
        raise SystemExit("bench/redeem.py needs PostgreSQL (UNIONCARD_DATABASE_URL)")
    if "+asyncpg" not in base_url:
        base_url = base_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    dsn = base_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    name = f"{os.environ.get('BENCH_DB_PREFIX', '')}unioncard_bench_redeem_{os.getpid()}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await _bench(f"{base_url.rpartition('/')[0]}/{name}", seconds, tasks)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _bench(url: str, seconds: float, tasks: int) -> None:
    engine = create_async_engine(url, pool_size=tasks + 2, max_overflow=0)
    async with engine.begin() as conn:
        await conn.run_sync(orm_registry.metadata.create_all)
    pool = await asyncpg.create_pool(url.replace("+asyncpg", ""), min_size=tasks, max_size=tasks)
    scenarios = []
    for name in SCENARIOS:
        async with engine.connect() as conn:
            prog = await create_program(
                conn,
                code=f"BENCH-{name}",
                owner_org_id=ORG,
                owner_org_path=ORG_PATH,
                rules=_rules(name),
            )
            prog = await publish_program(conn, program_id=prog.id)
        scenarios.append(Scenario(name, engine, pool, prog))

    # Warm up (prepared statements, version cache, a realistic ledger), then fresh statistics.
    for s in scenarios:
        await _run(tasks, 2.0, s.engine_worker)
        await _run(tasks, 2.0, s.raw_worker)
        await _run(tasks, 2.0, s.raw_tx_worker)
    async with engine.begin() as conn:
        tables = "benefit_redemption, benefit_counter, benefit_member_counter, benefit_program"
        await conn.execute(text(f"ANALYZE {tables}"))

    results: dict[str, tuple[Stats, Stats, Stats]] = {}
    for s in scenarios:
        eng, raw, tx = Stats(), Stats(), Stats()
        for _ in range(2):
            eng.add(await _run(tasks, seconds, s.engine_worker))
            raw.add(await _run(tasks, seconds, s.raw_worker))
            tx.add(await _run(tasks, seconds, s.raw_tx_worker))
        results[s.name] = (eng, raw, tx)
    await pool.close()
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT count(*) FROM benefit_redemption"))).scalar_one()
    await engine.dispose()

    print(
        f"{'scenario':<9}{'path':<26}{'ok':>8}{'redemptions/s':>15}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'CPU µs':>8}{'ratio':>7}"
    )
    paths = ("redeem() engine", "raw asyncpg baseline", "raw, old 6-statement tx")
    for name, (eng, raw, tx) in results.items():
        ratio = eng.rate / raw.rate if raw.rate else 0.0
        for label, st in zip(paths, (eng, raw, tx), strict=True):
            r = f"{ratio:>7.2f}" if st is eng else ""
            print(
                f"{name:<9}{label:<26}{st.ok:>8}{st.rate:>15.0f}{st.pct(0.5):>9.2f}"
                f"{st.pct(0.99):>9.2f}{st.cpu_us:>8.0f}{r}"
            )
    print(f"tasks={tasks} seconds_per_run={seconds} ledger_rows={rows}")
    (eng, raw, tx), (eng2, raw2, tx2) = results["budget"], results["member"]
    print(
        f"engine_rps={eng.rate:.0f} engine_p50_ms={eng.pct(0.5):.2f} "
        f"engine_p99_ms={eng.pct(0.99):.2f} raw_rps={raw.rate:.0f} "
        f"raw_p50_ms={raw.pct(0.5):.2f} raw_p99_ms={raw.pct(0.99):.2f} "
        f"raw_tx_rps={tx.rate:.0f} member_engine_rps={eng2.rate:.0f} "
        f"member_raw_rps={raw2.rate:.0f} member_raw_tx_rps={tx2.rate:.0f} "
        f"member_cpu_us={eng2.cpu_us:.0f} member_raw_cpu_us={raw2.cpu_us:.0f} "
        f"member_ratio={eng2.rate / raw2.rate if raw2.rate else 0:.2f} "
        f"ratio={eng.rate / raw.rate if raw.rate else 0:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=7.0, help="length of each timed run")
    parser.add_argument("--tasks", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.tasks))
