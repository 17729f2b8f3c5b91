"""A redemption's ledger rows: one per programme, each on what the ones before it left to pay,
with the counter takes its limits plan (``benefits.rules.limits``)."""

from __future__ import annotations

from typing import Any

from benefits.engine.checkout import takes_json
from benefits.engine.counters import (
    SqlCounters,
)
from benefits.engine.evaluate import refusal_error
from benefits.engine.ledger_keys import line_id
from benefits.engine.request import Request
from benefits.engine.statements import (
    Head,
)
from benefits.engine.versions import CompiledRules
from benefits.errors import (
    BudgetExhausted,
    QuotaExhausted,
    Reason,
)
from benefits.rules.benefit import compute
from benefits.rules.limits import (
    CounterKey,
    CounterStore,
    LimitHit,
    Take,
    apply_limits,
    plan_takes,
)


class PlanOnly:
    """A counter store that grants everything: works out a redemption's takes, charges none."""

    async def take(
        self, key: CounterKey, n: int, limit: int, clamp: bool
    ) -> tuple[int, int | None] | None:
        return n, None

    async def give_back(self, key: CounterKey, n: int) -> None:
        return None


PLAN_ONLY = PlanOnly()


def exhausted(hit: LimitHit, program_code: str) -> QuotaExhausted | BudgetExhausted:
    error = BudgetExhausted if hit.policy.is_budget else QuotaExhausted
    return error([hit.reason()], program=program_code, policy=hit.policy.key)


async def ledger_lines(
    req: Request,
    programs: list[tuple[Head, CompiledRules]],
    planner: CounterStore,
    store: SqlCounters,
) -> tuple[list[dict[str, Any]], list[list[Take]]]:
    """One ledger row per programme, each on what the ones before it left to pay, and its takes
    (charged by ``planner`` when it is the counter store, that is with clamps)."""
    checkout_id = line_id(req.at)  # ids of its time: the ledger's month (ledger_keys.line_id)
    base = req.amount_fen
    values: list[dict[str, Any]] = []
    line_takes: list[list[Take]] = []
    for i, (row, compiled) in enumerate(programs):
        outcome = compute(compiled.rules.benefit, base, req.units)
        if isinstance(outcome, Reason):
            raise refusal_error("below_min_spend", [outcome], program=row.code)
        try:
            if planner is PLAN_ONLY:  # grants everything: the same takes, without awaiting it
                takes = plan_takes(
                    program_id=row.id,
                    policies=compiled.policies,
                    outcome=outcome,
                    member_id=req.member.id,
                    merchant_id=req.merchant.merchant_id,
                    at=req.at,
                    tz=compiled.tz,
                )
            else:
                outcome, takes = await apply_limits(
                    planner,
                    program_id=row.id,
                    policies=compiled.policies,
                    benefit=compiled.rules.benefit,
                    outcome=outcome,
                    member_id=req.member.id,
                    merchant_id=req.merchant.merchant_id,
                    at=req.at,
                    tz=compiled.tz,
                )
        except LimitHit as hit:
            raise exhausted(hit, row.code) from None
        values.append(
            {
                "id": checkout_id if i == 0 else line_id(req.at),
                "checkout_id": checkout_id,
                "line": i,
                "merchant_id": req.merchant.merchant_id,
                "store_id": req.merchant.store_id,
                "terminal_id": req.merchant.terminal_id,
                "member_id": req.member.id,
                "member_org_path": req.member.org_path,
                "card_id": req.card_id,
                "program_id": row.id,
                "program_version_id": compiled.version_id,
                "version_number": compiled.number,
                "amount_fen": base,
                "discount_fen": outcome.discount_fen,
                "payable_fen": base - outcome.discount_fen,
                "units": outcome.units,
                "subsidy_fen": outcome.subsidy_fen,
                "value_fen": outcome.value_fen,
                "occurred_at": req.at,
                "idempotency_key": req.idempotency_key,
                "fingerprint": req.fingerprint,
                "token_id": req.token_id,
                "bill_ref": req.bill_ref,
                "takes": takes_json(store, takes),
            }
        )
        line_takes.append(takes)
        base -= outcome.discount_fen
    return values, line_takes
