"""A hypothesis state machine of redeem / retry / reverse / clock moves (on SQLite).

After every step: counters equal what the ledger says (checked by ``reconcile`` from the
recorded takes, and independently from the ledger's own columns), no counter is above its
limit or below zero, and retries and reversals behave (same result / conflict / once).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import select

from benefits.errors import (
    AlreadyReversed,
    BudgetExhausted,
    IdempotencyConflict,
    QuotaExhausted,
)
from benefits.models import Redemption, Reversal
from benefits.public import (
    RedemptionResult,
    create_program,
    publish_program,
    reconcile,
    redeem,
    reverse,
)
from benefits.rules.periods import Period, period_key, zone
from cardsvc.kernel.db import make_engine, metadata
from tests.benefits.conftest import CITY, CITY_PATH, member, merchant, rules
from tests.support.counters import all_counters

START = datetime(2025, 1, 27, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
SHANGHAI = zone("Asia/Shanghai")
LIMITS = [
    {"key": "daily", "metric": "count", "scope": "member", "period": "day", "limit": 2},
    {
        "key": "weekly_units",
        "metric": "units",
        "scope": "member_merchant",
        "period": "week",
        "limit": 3,
        "on_exceed": "clamp",
    },
    {
        "key": "budget",
        "metric": "amount",
        "scope": "program",
        "period": "month",
        "limit": 6000,
        "on_exceed": "clamp",
    },
    {"key": "mine", "metric": "amount", "scope": "member", "period": "lifetime", "limit": 4000},
]
LIMIT_OF = {p["key"]: p["limit"] for p in LIMITS}


class RedemptionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.dir = tempfile.mkdtemp(prefix="benefits-sm-")
        self.engine = make_engine(f"sqlite+aiosqlite:///{self.dir}/sm.db")
        self.members = [member() for _ in range(3)]
        self.shops = [merchant() for _ in range(2)]
        self.clock = START
        self.made: list[tuple[dict[str, Any], RedemptionResult]] = []
        self.reversed: set[Any] = set()
        self.keys = 0
        self.program_id = self.run(self._setup())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _setup(self) -> Any:
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        async with self.engine.connect() as conn:
            p = await create_program(
                conn,
                code="SM",
                owner_org_id=CITY,
                owner_org_path=CITY_PATH,
                rules=rules(
                    benefit={
                        "kind": "percent_off",
                        "basis_points": 2000,
                        "cap_fen": 1500,
                        "funded_by": "federation",
                    },
                    limits=LIMITS,
                ),
            )
            p = await publish_program(conn, program_id=p.id)
        return p.id

    def teardown(self) -> None:
        self.run(self.engine.dispose())
        self.loop.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    async def _redeem(self, req: dict[str, Any]) -> RedemptionResult:
        async with self.engine.connect() as conn:
            return await redeem(conn, program_ids=self.program_id, at=self.clock, **req)

    @rule(
        who=st.integers(0, 2),
        where=st.integers(0, 1),
        units=st.integers(1, 3),
        amount=st.integers(0, 12_000),
    )
    def redeem_new(self, who: int, where: int, units: int, amount: int) -> None:
        self.keys += 1
        req = {
            "member": self.members[who],
            "merchant": self.shops[where],
            "units": units,
            "amount_fen": amount,
            "idempotency_key": f"k{self.keys}",
        }
        try:
            result = self.run(self._redeem(req))
        except (QuotaExhausted, BudgetExhausted):
            return
        assert not result.replayed
        assert 0 <= result.discount_fen <= amount and result.payable_fen >= 0
        assert 1 <= result.lines[0].units <= units
        self.made.append((req, result))

    @precondition(lambda self: self.made)
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        req, original = data.draw(st.sampled_from(self.made))
        if data.draw(st.booleans()):
            again = self.run(self._redeem(req))
            assert again.replayed and again.redemption_id == original.redemption_id
            assert (again.discount_fen, again.lines[0].units) == (
                original.discount_fen,
                original.lines[0].units,
            )
            assert again.reversed == (original.redemption_id in self.reversed)
        else:
            changed = {**req, "amount_fen": req["amount_fen"] + 1}
            with pytest.raises(IdempotencyConflict):
                self.run(self._redeem(changed))

    @precondition(lambda self: self.made)
    @rule(data=st.data())
    def void(self, data: st.DataObject) -> None:
        req, original = data.draw(st.sampled_from(self.made))

        async def go() -> Any:
            async with self.engine.connect() as conn:
                return await reverse(
                    conn,
                    redemption_id=original.redemption_id,
                    merchant_id=req["merchant"].merchant_id,
                    at=self.clock,
                )

        if original.redemption_id in self.reversed:
            with pytest.raises(AlreadyReversed):
                self.run(go())
        else:
            self.run(go())
            self.reversed.add(original.redemption_id)

    @rule(hours=st.integers(1, 24 * 12))
    def advance_clock(self, hours: int) -> None:
        self.clock += timedelta(hours=hours)

    @invariant()
    def counters_equal_the_ledger(self) -> None:
        self.run(self._check())

    async def _check(self) -> None:
        async with self.engine.connect() as conn:
            report = await reconcile(conn, fix=False)
            assert report.ok, report.drifts
            c, r, v = all_counters(), Redemption.__table__, Reversal.__table__
            rows = (await conn.execute(select(c))).all()
            live = (
                await conn.execute(
                    select(r).outerjoin(v, v.c.redemption_id == r.c.id).where(v.c.id.is_(None))
                )
            ).all()
        have = {(row.policy_key, row.scope_key, row.period_key): row.used for row in rows}
        for row in rows:
            assert 0 <= row.used <= LIMIT_OF[row.policy_key] == row.limit
        # The same sums worked out from the ledger's columns, not from its recorded takes.
        want: dict[tuple[str, str, str], int] = defaultdict(int)
        for x in live:
            m, s = x.member_id.hex, x.merchant_id.hex
            want["daily", f"m:{m}", period_key(Period.day, x.occurred_at, SHANGHAI)] += 1
            want[
                "weekly_units", f"mx:{m}:{s}", period_key(Period.week, x.occurred_at, SHANGHAI)
            ] += x.units
            if x.value_fen:
                want["budget", "p", period_key(Period.month, x.occurred_at, SHANGHAI)] += (
                    x.value_fen
                )
                want["mine", f"m:{m}", "L"] += x.value_fen
        assert {k: n for k, n in have.items() if n} == {k: n for k, n in want.items() if n}
        assert len(live) == len({res.redemption_id for _, res in self.made}) - len(self.reversed)


TestRedemptionMachine = RedemptionMachine.TestCase
TestRedemptionMachine.settings = settings(
    max_examples=30,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
