"""``plan_takes`` is ``apply_limits`` against a store that grants everything, without awaiting."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benefits.rules.benefit import Outcome, compute
from benefits.rules.limits import CounterKey, LimitHit, apply_limits, plan_order, plan_takes
from benefits.rules.periods import Period, zone
from benefits.rules.programme import (
    Benefit,
    BenefitKind,
    LimitPolicy,
    LimitScope,
    Metric,
    OnExceed,
)

SHANGHAI = zone("Asia/Shanghai")
BENEFIT = Benefit(kind=BenefitKind.percent_off, basis_points=1000, cap_fen=3000)


class Granting:
    async def take(
        self, key: CounterKey, n: int, limit: int, clamp: bool
    ) -> tuple[int, int | None] | None:
        return n, None

    async def give_back(self, key: CounterKey, n: int) -> None:
        raise AssertionError("a store that grants everything is never given anything back")


policies = st.lists(
    st.builds(
        LimitPolicy,
        key=st.sampled_from(["a", "b", "c", "d", "e"]),
        metric=st.sampled_from(list(Metric)),
        scope=st.sampled_from(list(LimitScope)),
        period=st.sampled_from(list(Period)),
        limit=st.integers(0, 5000),
        on_exceed=st.sampled_from(list(OnExceed)),
    ),
    max_size=5,
    unique_by=lambda p: p.key,
)


@settings(max_examples=300, deadline=None)
@given(policies, st.integers(0, 50_000), st.integers(1, 5), st.booleans())
def test_the_same_takes_as_apply_limits_granting_all(
    limits: list[LimitPolicy], amount: int, units: int, merchant_known: bool
) -> None:
    outcome = compute(BENEFIT, amount, units)
    assert isinstance(outcome, Outcome)
    args = {
        "program_id": uuid.UUID(int=7),
        "policies": plan_order(tuple(limits)),
        "outcome": outcome,
        "member_id": uuid.UUID(int=8),
        "merchant_id": uuid.UUID(int=9) if merchant_known else None,
        "at": datetime(2026, 3, 1, 15, 59, tzinfo=UTC),
        "tz": SHANGHAI,
    }
    try:
        expected = asyncio.run(apply_limits(Granting(), benefit=BENEFIT, **args))  # type: ignore[arg-type]
    except LimitHit as hit:
        with pytest.raises(LimitHit) as planned:
            plan_takes(**args)  # type: ignore[arg-type]
        assert planned.value.policy == hit.policy and planned.value.used == hit.used
        return
    same_outcome, takes = expected
    assert same_outcome == outcome
    plan = plan_takes(**args)  # type: ignore[arg-type]
    assert [(t.key, t.policy, t.n, t.used, t.limit) for t in plan] == [
        (t.key, t.policy, t.n, t.used, t.limit) for t in takes
    ]
