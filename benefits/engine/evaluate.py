"""Does a programme apply here and now? The checks redeem, quote and simulate share (pure).

Checked in this order, and the first group that refuses names the error redeem raises:

1. ``program_inactive``: status not active (``program_draft``/``program_paused``/
   ``program_ended``) or outside the validity window (``not_started``/``expired``);
2. ``not_eligible``: the member (see :mod:`benefits.rules.eligibility`);
3. ``not_in_scope``: the store (see :mod:`benefits.rules.scope`).

Then the benefit itself (``below_min_spend``) and the limits (``quota_exhausted``/
``budget_exhausted``), which need amounts and counters.
"""

from __future__ import annotations

from datetime import datetime

from benefits.engine.versions import CompiledRules
from benefits.errors import (
    BelowMinSpend,
    BenefitsError,
    BudgetExhausted,
    NotEligible,
    NotInScope,
    ProgramInactive,
    QuotaExhausted,
    Reason,
    RefusalError,
    StackingConflict,
)
from benefits.rules.eligibility import check_eligibility
from benefits.rules.facts import MemberFacts, MerchantContext
from benefits.rules.periods import local_date
from benefits.rules.programme import StackingMode
from benefits.rules.scope import check_scope

_STATUS_REASONS = {
    "draft": Reason("program_draft", "项目尚未发布", "The programme is not published yet"),
    "paused": Reason("program_paused", "项目已暂停", "The programme is paused"),
    "ended": Reason("program_ended", "项目已结束", "The programme has ended"),
}

ERRORS: dict[str, type[RefusalError]] = {
    "program_inactive": ProgramInactive,
    "not_eligible": NotEligible,
    "not_in_scope": NotInScope,
    "below_min_spend": BelowMinSpend,
    "quota_exhausted": QuotaExhausted,
    "budget_exhausted": BudgetExhausted,
}


def refusal_error(code: str, reasons: list[Reason], **extra: object) -> RefusalError:
    return ERRORS[code](reasons, **extra)


def check_program(
    *,
    status: str,
    compiled: CompiledRules,
    owner_org_path: str,
    member: MemberFacts,
    merchant: MerchantContext | None,
    at: datetime,
    ignore_status: bool = False,
) -> tuple[str, list[Reason]] | None:
    """``(error_code, reasons)`` when the programme does not apply, else ``None``.

    ``reasons`` holds every failed check (the quote shows them all); ``error_code`` is the
    first group that failed. ``merchant=None`` skips the scope (member view).
    """
    rules = compiled.rules
    inactive: list[Reason] = []
    if not ignore_status and status != "active":
        inactive.append(_STATUS_REASONS.get(status, _STATUS_REASONS["draft"]))
    if rules.valid_from is not None and at < rules.valid_from:
        inactive.append(
            Reason(
                "not_started",
                "项目尚未开始",
                "The programme has not started yet",
                {"valid_from": rules.valid_from.isoformat()},
            )
        )
    if rules.valid_until is not None and at >= rules.valid_until:
        inactive.append(
            Reason(
                "expired",
                "项目已过期",
                "The programme has expired",
                {"valid_until": rules.valid_until.isoformat()},
            )
        )
    eligibility = check_eligibility(
        rules.eligibility,
        owner_org_path=owner_org_path,
        member=member,
        on=local_date(at, compiled.tz),
    )
    scope = check_scope(rules.scope, merchant) if merchant is not None else []
    for code, group in (
        ("program_inactive", inactive),
        ("not_eligible", eligibility),
        ("not_in_scope", scope),
    ):
        if group:
            return code, inactive + eligibility + scope
    return None


def check_stacking(programs: list[tuple[str, CompiledRules]]) -> BenefitsError | None:
    """Several programmes on one bill must all be stackable in one group."""
    if len(programs) < 2:
        return None
    groups = {c.rules.stacking.group for _, c in programs}
    exclusive = [code for code, c in programs if c.rules.stacking.mode is StackingMode.exclusive]
    if exclusive or len(groups) != 1:
        return StackingConflict(
            programs=[
                {"code": code, "mode": c.rules.stacking.mode.value, "group": c.rules.stacking.group}
                for code, c in programs
            ],
            exclusive=exclusive,
        )
    return None
