"""Programme API and member benefits shapes, and how engine results become them."""

import uuid
from collections import Counter as Tally
from datetime import date, datetime
from typing import Annotated, Any

import msgspec

from benefits.access import MemberRef
from benefits.engine.txn import as_utc
from benefits.public import (
    LimitState,
    MemberBenefit,
    ProgramQuote,
    ProgramRefusal,
    ProgramUsage,
    ProgramView,
    Quote,
)
from benefits.rules.programme import MerchantCategory

STATUS_LABELS_ZH = {"draft": "草稿", "active": "进行中", "paused": "已暂停", "ended": "已结束"}
Rules = Annotated[
    dict[str, Any], msgspec.Meta(description="rule JSON (docs/benefits.md, “Rule JSON”)")
]


class FieldErrorOut(msgspec.Struct):
    field: str
    reason: str
    reason_en: str


class ProgramOut(msgspec.Struct):
    id: uuid.UUID
    code: str
    name: str
    owner_org_id: uuid.UUID
    status: str
    status_label: str
    version_number: int
    current_version_id: uuid.UUID | None
    priority: int
    valid_from: datetime | None
    valid_until: datetime | None
    timezone: str
    rules: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class PolicyUsageOut(msgspec.Struct):
    policy: str
    metric: str
    scope: str
    period: str
    period_key: str
    limit: int
    on_exceed: str
    is_budget: bool
    counters: int
    used_total: int
    used_max: int
    remaining: int | None


class UsageOut(msgspec.Struct):
    at: datetime
    policies: list[PolicyUsageOut]
    budget_limit_fen: int | None
    budget_spent_fen: int | None
    redemptions: int
    reversed: int
    discount_fen: int
    subsidy_fen: int
    units: int


class ProgramDetail(ProgramOut, kw_only=True):
    usage: UsageOut


class ProgramPage(msgspec.Struct):
    items: list[ProgramOut]
    total: int
    limit: int
    offset: int


class VersionOut(msgspec.Struct):
    id: uuid.UUID
    number: int
    published_at: datetime
    published_by: uuid.UUID | None
    rules: dict[str, Any]


class ProgramIn(msgspec.Struct):
    code: Annotated[str, msgspec.Meta(min_length=2, max_length=32, examples=["YC-CINEMA"])]
    owner_org_id: uuid.UUID
    rules: Rules


class ProgramPatch(msgspec.Struct):
    rules: Rules
    expected_version: Annotated[int, msgspec.Meta(ge=0)] | None = None
    new_version: bool = False  # required for an active/paused programme: the edit goes live


class ValidateIn(msgspec.Struct):
    rules: Rules
    for_publish: bool = True


class ValidateOut(msgspec.Struct):
    valid: bool
    errors: list[FieldErrorOut]
    rules: dict[str, Any] | None  # the canonical form when valid


class MerchantIn(msgspec.Struct):
    merchant_id: uuid.UUID | None = None
    store_id: uuid.UUID | None = None
    category: MerchantCategory | None = None
    region: Annotated[str, msgspec.Meta(max_length=32)] | None = None


class SimulateIn(msgspec.Struct):
    amount_fen: Annotated[int, msgspec.Meta(ge=0, le=10**12)]
    merchant: MerchantIn = msgspec.field(default_factory=MerchantIn)
    units: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1
    member_id: uuid.UUID | None = None
    member_no: Annotated[str, msgspec.Meta(min_length=1, max_length=16)] | None = None
    org_id: uuid.UUID | None = None
    sample: Annotated[int, msgspec.Meta(ge=1, le=200)] = 20
    program_ids: list[uuid.UUID] | None = None
    at: datetime | None = None


class LimitOut(msgspec.Struct):
    policy: str
    metric: str
    scope: str
    period: str
    period_key: str | None
    period_ends_at: datetime | None
    limit: int
    remaining: int | None  # None: counted per merchant and no merchant given
    take: int | None


class ReasonOut(msgspec.Struct):
    code: str
    message_zh: str
    message_en: str
    detail: dict[str, Any] | None = None


class AppliesOut(msgspec.Struct):
    program_id: uuid.UUID
    code: str
    name: str
    status: str
    version_number: int
    discount_fen: int
    payable_fen: int
    units: int
    subsidy_fen: int
    value_fen: int
    clamped: bool
    limits: list[LimitOut]


class RefusedOut(msgspec.Struct):
    program_id: uuid.UUID
    code: str
    name: str
    status: str
    error_code: str
    reasons: list[ReasonOut]


class MemberSimulation(msgspec.Struct):
    member_id: uuid.UUID
    member_no: str
    applicable: list[AppliesOut]
    not_applicable: list[RefusedOut]


class ProgramSimSummary(msgspec.Struct):
    program_id: uuid.UUID
    code: str
    name: str
    applicable: int
    not_applicable: int
    reasons: dict[str, int]  # reason code → members refused for it


class SimulateOut(msgspec.Struct):
    at: datetime
    amount_fen: int
    units: int
    members: list[MemberSimulation]
    programs: list[ProgramSimSummary]


class MyLimitOut(msgspec.Struct):
    policy: str
    metric: str
    scope: str  # member, or member_merchant (then counted per merchant: remaining is null)
    period: str
    period_key: str | None
    period_ends_at: datetime | None
    limit: int
    used: int | None
    remaining: int | None


class MyBenefitOut(msgspec.Struct):
    program_id: uuid.UUID
    code: str
    name: str
    description: str
    benefit: dict[str, Any]
    scope: dict[str, Any]
    valid_until: datetime | None  # exclusive: the first instant it no longer applies
    valid_through: date | None  # the last valid day (what a person reads as 有效期至)
    usable_now: bool
    limits: list[MyLimitOut]


class MyBenefits(msgspec.Struct):
    at: datetime
    items: list[MyBenefitOut]


def program_out(p: ProgramView) -> ProgramOut:
    return ProgramOut(
        id=p.id,
        code=p.code,
        name=p.name,
        owner_org_id=p.owner_org_id,
        status=p.status,
        status_label=STATUS_LABELS_ZH.get(p.status, p.status),
        version_number=p.version_number,
        current_version_id=p.current_version_id,
        priority=p.priority,
        valid_from=p.valid_from,
        valid_until=p.valid_until,
        timezone=p.timezone,
        rules=p.rules,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def _limit_out(s: LimitState) -> LimitOut:
    return LimitOut(
        policy=s.policy,
        metric=s.metric,
        scope=s.scope,
        period=s.period,
        period_key=s.period_key,
        period_ends_at=s.period_ends_at,
        limit=s.limit,
        remaining=s.remaining_before,
        take=s.take,
    )


def _applies_out(q: ProgramQuote) -> AppliesOut:
    return AppliesOut(
        program_id=q.program_id,
        code=q.code,
        name=q.name,
        status=q.status,
        version_number=q.version_number,
        discount_fen=q.discount_fen,
        payable_fen=q.payable_fen,
        units=q.units,
        subsidy_fen=q.subsidy_fen,
        value_fen=q.value_fen,
        clamped=q.clamped,
        limits=[_limit_out(s) for s in q.limits],
    )


def _refused_out(r: ProgramRefusal) -> RefusedOut:
    return RefusedOut(
        program_id=r.program_id,
        code=r.code,
        name=r.name,
        status=r.status,
        error_code=r.error_code,
        reasons=[ReasonOut(x.code, x.message_zh, x.message_en, x.detail) for x in r.reasons],
    )


def program_detail_out(p: ProgramView, u: ProgramUsage) -> ProgramDetail:
    base = program_out(p)
    usage = UsageOut(
        at=u.at,
        policies=[
            PolicyUsageOut(
                policy=x.policy,
                metric=x.metric,
                scope=x.scope,
                period=x.period,
                period_key=x.period_key,
                limit=x.limit,
                on_exceed=x.on_exceed,
                is_budget=x.is_budget,
                counters=x.counters,
                used_total=x.used_total,
                used_max=x.used_max,
                remaining=x.remaining,
            )
            for x in u.policies
        ],
        budget_limit_fen=u.budget_limit_fen,
        budget_spent_fen=u.budget_spent_fen,
        redemptions=u.redemptions,
        reversed=u.reversed,
        discount_fen=u.discount_fen,
        subsidy_fen=u.subsidy_fen,
        units=u.units,
    )
    return ProgramDetail(**{f: getattr(base, f) for f in base.__struct_fields__}, usage=usage)


def simulation_out(
    members: list[MemberRef],
    quotes: list[Quote],
    visible: set[uuid.UUID],
    data: SimulateIn,
    at: datetime,
) -> SimulateOut:
    """The members' quotes as the staff may see them: only the ``visible`` programmes."""
    summary: dict[uuid.UUID, tuple[str, str, Tally[str]]] = {}
    out: list[MemberSimulation] = []
    for ref, q in zip(members, quotes, strict=True):
        applies = [a for a in q.applicable if a.program_id in visible]
        refused = [r for r in q.not_applicable if r.program_id in visible]
        for a in applies:
            summary.setdefault(a.program_id, (a.code, a.name, Tally()))[2]["applicable"] += 1
        for r in refused:
            tally = summary.setdefault(r.program_id, (r.code, r.name, Tally()))[2]
            tally["not_applicable"] += 1
            for reason in r.reasons or ():
                tally["reason:" + reason.code] += 1
        out.append(
            MemberSimulation(
                member_id=ref.facts.id,
                member_no=ref.member_no,
                applicable=[_applies_out(a) for a in applies],
                not_applicable=[_refused_out(r) for r in refused],
            )
        )
    programs = [
        ProgramSimSummary(
            program_id=pid,
            code=code,
            name=name,
            applicable=t["applicable"],
            not_applicable=t["not_applicable"],
            reasons={k[7:]: n for k, n in sorted(t.items()) if k.startswith("reason:")},
        )
        for pid, (code, name, t) in sorted(summary.items(), key=lambda kv: kv[1][0])
    ]
    return SimulateOut(as_utc(at), data.amount_fen, data.units, out, programs)


def my_benefits_out(at: datetime, items: list[MemberBenefit]) -> MyBenefits:
    """Only the member's own counters; programme-wide figures show only as ``usable_now``."""
    out: list[MyBenefitOut] = []
    for b in items:
        limits = [
            MyLimitOut(
                policy=s.policy,
                metric=s.metric,
                scope=s.scope,
                period=s.period,
                period_key=s.period_key,
                period_ends_at=s.period_ends_at,
                limit=s.limit,
                used=None if s.remaining_before is None else s.limit - s.remaining_before,
                remaining=s.remaining_before,
            )
            for s in b.limits
            if s.scope in ("member", "member_merchant")
        ]
        out.append(
            MyBenefitOut(
                program_id=b.program_id,
                code=b.code,
                name=b.name,
                description=b.description,
                benefit=b.benefit,
                scope=b.scope,
                valid_until=b.valid_until,
                valid_through=b.valid_through,
                usable_now=b.usable_now,
                limits=limits,
            )
        )
    return MyBenefits(at, out)
