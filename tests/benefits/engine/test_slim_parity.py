"""Differential test: the slim path (``benefits.engine.slim``) and the general path write the
same ledger rows and counters and return the same results and errors.

Hypothesis draws worlds (derandomised): a programme's benefit and limits (every metric, scope
and period, limits small enough to refuse, sometimes a clamp, which the slim path leaves to the
general one), the number of budget stripes, and requests (member, merchant, amount, units, day,
card and token, and retries of an earlier key, the same or changed). Each world is made twice,
as two programmes with the same rules; every request is redeemed on the first with both paths
in play and on the second with the slim path turned off, at the same instant. The two are then
compared line by line (their own ids aside). PostgreSQL only: elsewhere there is one path.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

import benefits.engine.redeem as redeem_module
from benefits.engine import slim
from benefits.engine.counters import budget_stripes, pick_stripe, set_budget_stripes
from benefits.engine.request import request_fingerprint
from benefits.errors import BenefitsError
from benefits.public import RedemptionResult, redeem
from tests.benefits.conftest import NOON, ledger, member, merchant, published
from tests.support.counters import all_counters

pytestmark = pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
WORLDS = 12
CASES = 14

BENEFITS = st.one_of(
    st.fixed_dictionaries(
        {"kind": st.just("percent_off"), "basis_points": st.integers(1, 10_000)},
        optional={
            "cap_fen": st.integers(1, 3_000),
            "funded_by": st.sampled_from(["federation", "merchant"]),
        },
    ),
    st.fixed_dictionaries(
        {"kind": st.just("amount_off"), "off_fen": st.integers(1, 2_000)},
        optional={"min_spend_fen": st.integers(0, 6_000)},
    ),
    st.fixed_dictionaries({"kind": st.just("fixed_price"), "price_fen": st.integers(0, 3_000)}),
    st.fixed_dictionaries(
        {"kind": st.just("free_units")}, optional={"per_unit_fen": st.integers(1, 1_500)}
    ),
    st.fixed_dictionaries({"kind": st.just("subsidy"), "per_unit_fen": st.integers(1, 1_500)}),
)
LIMIT = st.fixed_dictionaries(
    {
        "metric": st.sampled_from(["count", "units", "amount"]),
        "scope": st.sampled_from(["member", "member_merchant", "merchant", "program"]),
        "period": st.sampled_from(["day", "week", "month", "year", "lifetime"]),
        "limit": st.integers(1, 4) | st.integers(50, 12_000) | st.integers(2_000, 12_000),
        "on_exceed": st.sampled_from(["reject"] * 5 + ["clamp"]),
    }
)


@dataclass(frozen=True)
class Case:
    member: int
    shop: int
    amount_fen: int
    units: int
    days: int  # after NOON
    card: bool
    retry: int | None  # an earlier case's key, again
    same: bool  # a retry as it was (else with another amount: a conflict)


CASE = st.builds(
    Case,
    member=st.integers(0, 2),
    shop=st.integers(0, 1),
    amount_fen=st.integers(0, 15_000),
    units=st.integers(1, 4),
    days=st.sampled_from([0, 0, 0, 1, 6, 31]),
    card=st.booleans(),
    retry=st.none() | st.integers(0, CASES - 1),
    same=st.booleans(),
)
WORLD = st.tuples(
    BENEFITS,
    st.lists(LIMIT, min_size=1, max_size=4),
    st.sampled_from([1, 1, 3]),
    st.lists(CASE, min_size=CASES, max_size=CASES),
)


def draw_worlds() -> list[tuple[dict[str, Any], list[dict[str, Any]], int, list[Case]]]:
    found: list[tuple[dict[str, Any], list[dict[str, Any]], int, list[Case]]] = []

    @settings(
        max_examples=WORLDS,
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    @given(WORLD)
    def collect(world: tuple[dict[str, Any], list[dict[str, Any]], int, list[Case]]) -> None:
        benefit, limits, stripes, cases = world
        keyed = [{**lim, "key": f"l{i}"} for i, lim in enumerate(limits)]
        for lim in keyed:  # a clamp needs a quantity to shrink
            if lim["metric"] == "count":
                lim["on_exceed"] = "reject"
        found.append((benefit, keyed, stripes, cases))

    collect()
    # and two worlds sure to be met: a budget in stripes, and a clamp beside rejecting limits
    some = found[0][3]
    budget = {"key": "b", "metric": "amount", "scope": "program", "period": "month"}
    found.append(
        (
            {"kind": "percent_off", "basis_points": 2000, "funded_by": "federation"},
            [
                {**budget, "limit": 9_000, "on_exceed": "reject"},
                {"key": "c", "metric": "count", "scope": "program", "period": "day", "limit": 9},
                {"key": "m", "metric": "count", "scope": "member", "period": "week", "limit": 3},
            ],
            3,
            some,
        )
    )
    found.append(
        (
            {"kind": "subsidy", "per_unit_fen": 700},
            [
                {"key": "u", "metric": "units", "scope": "member", "period": "day", "limit": 5},
                {**budget, "limit": 6_000, "on_exceed": "clamp"},
            ],
            1,
            some,
        )
    )
    return found


async def _no_slim(*_: Any) -> None:
    return None


def _keys(key: str) -> tuple[str, str]:
    """The two paths' idempotency keys for ``key``: the second picks the same budget stripe
    (the pick hashes the key) for every number of stripes drawn."""
    a = f"a-{key}"
    for i in range(1000):
        b = f"b{i}-{key}"
        if all(pick_stripe(a, n) == pick_stripe(b, n) for n in (2, 3)):
            return a, b
    raise AssertionError("no key picks the same stripes")


def _own(key: str) -> str:
    return key.split("-", 1)[1]


def _outcome(result: RedemptionResult | BenefitsError, ids: dict[Any, str]) -> Any:
    """A result or error with the ids of its own programme, checkout and key named alike."""
    if isinstance(result, BenefitsError):
        extra = {k: v for k, v in result.extra.items() if k not in ("program", "idempotency_key")}
        return type(result).__name__, result.code, extra
    data = dataclasses.asdict(result)
    for line in data["lines"]:
        line["id"] = ids.get(line["id"], line["id"])
        line["program_id"] = line["version_id"] = line["program_code"] = "own"
    data["redemption_id"] = ids.get(data["redemption_id"], data["redemption_id"])
    data["idempotency_key"] = _own(data["idempotency_key"])
    data["token_id"] = data["token_id"] and _own(data["token_id"])
    return data


async def _counters(engine: AsyncEngine, program_id: uuid.UUID) -> list[tuple[Any, ...]]:
    c = all_counters()
    cols = (c.c.policy_key, c.c.metric, c.c.scope_key, c.c.period_key, c.c.used, c.c.limit)
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(*cols, c.c.last_take, c.c.stripes).where(c.c.program_id == program_id)
        )
        return sorted(tuple(r) for r in rows)


def _rows(
    rows: list[Any], ids: dict[Any, str], asked: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The ledger rows in a comparable form; each fingerprint checked against its request's
    (``asked``, by key: it names the programme, so it differs between the two)."""
    out = []
    for r in rows:
        d = dict(r._mapping)
        req = asked[_own(d["idempotency_key"])]
        assert d.pop("fingerprint") == request_fingerprint(
            member_id=req["member"].id,
            store_id=req["merchant"].store_id,
            program_ids=[d["program_id"]],
            amount_fen=req["amount_fen"],
            units=req["units"],
        )
        for col in ("id", "checkout_id"):
            d[col] = ids.get(d[col], d[col])
        for col in ("program_id", "program_version_id", "sa_orm_sentinel"):
            d.pop(col, None)
        d["idempotency_key"] = _own(d["idempotency_key"])
        d["token_id"] = d["token_id"] and _own(d["token_id"])
        out.append(d)
    return sorted(out, key=lambda d: (d["occurred_at"], d["idempotency_key"]))


async def test_the_slim_path_writes_and_answers_as_the_general_one(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = 0
    real = slim.redeem_one

    async def counted(*args: Any) -> RedemptionResult | None:
        nonlocal served
        done = await real(*args)
        served += done is not None
        return done

    stripes_before = budget_stripes()
    try:
        for w, (benefit, limits, stripes, cases) in enumerate(draw_worlds()):
            set_budget_stripes(stripes)
            a = await published(engine, benefit=benefit, limits=limits)
            b = await published(engine, benefit=benefit, limits=limits)
            members, shops = [member() for _ in range(3)], [merchant() for _ in range(2)]
            ids: dict[Any, str] = {}
            asked: list[dict[str, Any]] = []
            for i, case in enumerate(cases):
                req: dict[str, Any] = {
                    "member": members[case.member],
                    "merchant": shops[case.shop],
                    "amount_fen": case.amount_fen,
                    "units": case.units,
                    "idempotency_key": f"k{w}-{i}",
                    "card_id": uuid.uuid4() if case.card else None,
                    "token_id": f"t{w}-{i}" if case.card else None,
                }
                if case.retry is not None and case.retry < i:
                    req = dict(asked[case.retry])
                    if not case.same:  # another request under the same key: a conflict
                        req["amount_fen"] += 1
                asked.append(req)
                at = NOON + timedelta(days=case.days, seconds=i)
                got = []
                paths = zip(
                    _keys(req["idempotency_key"]), (a, b), (counted, _no_slim), "ab", strict=True
                )
                for key, prog, path, prefix in paths:
                    monkeypatch.setattr(redeem_module, "redeem_one", path)
                    token = req["token_id"] and f"{prefix}-{req['token_id']}"
                    mine = {**req, "idempotency_key": key, "token_id": token}
                    try:
                        async with engine.connect() as conn:
                            done: Any = await redeem(conn, program_ids=prog.id, at=at, **mine)
                        ids.setdefault(done.redemption_id, f"r{w}-{i}")
                    except BenefitsError as exc:
                        done = exc
                    got.append(_outcome(done, ids))
                assert got[0] == got[1], (w, i, case)
            by_key: dict[str, dict[str, Any]] = {}
            for r in asked:  # a key's first request is the one its row records
                by_key.setdefault(r["idempotency_key"], r)
            rows_a = _rows(await ledger(engine, a.id), ids, by_key)
            rows_b = _rows(await ledger(engine, b.id), ids, by_key)
            assert len(rows_a) == len(rows_b), w
            for ra, rb in zip(rows_a, rows_b, strict=True):
                assert ra == rb, repr({k: (v, rb.get(k)) for k, v in ra.items() if v != rb.get(k)})
            assert await _counters(engine, a.id) == await _counters(engine, b.id), w
    finally:
        set_budget_stripes(stripes_before)
    # The comparison is of two paths: the slim one must have served a good share of requests.
    assert served >= (WORLDS + 2) * CASES // 6, served
    print("served by the slim path:", served)
