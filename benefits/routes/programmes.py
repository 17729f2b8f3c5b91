"""HTTP: the staff programme API and the member's own benefits view (thin controllers).

Dependencies the host provides (see :mod:`benefits.plugin` and :mod:`benefits.access`):
``staff`` (the signed-in staff principal), ``db_session``, ``benefits_directory`` (org and
member lookups), ``benefits_audit`` (audit log writer) and ``member_facts`` (the signed-in
member). Every staff mutation writes one audit row in the request's transaction.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter as Tally
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, patch, post
from litestar.datastructures import CacheControlHeader
from litestar.openapi.spec import SecurityRequirement
from litestar.params import Parameter, SkipValidation
from litestar.types import ControllerRouterHandler
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.access import (
    READ,
    WRITE,
    Audit,
    Directory,
    Forbidden,
    MemberRef,
    StaffPrincipal,
    ensure_readable,
    ensure_writable,
    program_not_found,
    read_prefixes,
)
from benefits.engine.txn import as_utc, utc_now
from benefits.errors import FieldError, ValidationError, VersionImmutable
from benefits.models import ProgramStatus
from benefits.programmes.lifecycle import owner_paths
from benefits.programmes.simulation import org_not_found, simulation_members
from benefits.public import (
    LimitState,
    ProgramQuote,
    ProgramRefusal,
    ProgramView,
    Quote,
    create_program,
    end_program,
    get_program,
    get_version,
    list_programs,
    list_versions,
    member_benefits,
    pause_program,
    program_usage,
    publish_program,
    resume_program,
    simulate,
    update_program,
    validate_rules,
)
from benefits.rules.facts import MemberFacts, MerchantContext
from benefits.rules.programme import MerchantCategory, rules_to_json

STAFF: list[SecurityRequirement] = [{"staffSession": []}]
NO_STORE = CacheControlHeader(no_store=True)
STATUS_LABELS_ZH = {"draft": "草稿", "active": "进行中", "paused": "已暂停", "ended": "已结束"}
# Simulating without a merchant id: a placeholder that matches no merchant list or counter.
NO_MERCHANT = uuid.UUID(int=0)
TARGET = "benefit_program"

MAX_OFFSET = 1_000_000_000  # past the driver's 64-bit integers it was a 500
Limit = Annotated[int, Parameter(ge=1, le=200, description="page size (1–200)")]
Offset = Annotated[int, Parameter(ge=0, le=MAX_OFFSET, description="rows to skip")]
Staff = SkipValidation[StaffPrincipal]
Dir = SkipValidation[Directory]
AuditLog = SkipValidation[Audit]
Rules = Annotated[
    dict[str, Any], msgspec.Meta(description="rule JSON (docs/benefits.md, “Rule JSON”)")
]


# ---------------------------------------------------------------- shapes


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
    valid_until: datetime | None
    usable_now: bool
    limits: list[MyLimitOut]


class MyBenefits(msgspec.Struct):
    at: datetime
    items: list[MyBenefitOut]


# ---------------------------------------------------------------- mapping


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


# Fields the engine names that are not inside the rule JSON.
_NOT_RULE_FIELDS = frozenset(
    {"rules", "code", "owner_org_id", "owner_org_path", "status", "expected_version", "new_version"}
)


def _rule_field(field: str) -> str:
    """An engine field path (relative to the rule JSON) as a path in the request body."""
    return field if re.split(r"[.\[]", field)[0] in _NOT_RULE_FIELDS else f"rules.{field}"


@contextmanager
def rules_in_body() -> Iterator[None]:
    """Name rule fields as they sit in the body (``rules.benefit.basis_points``)."""
    try:
        yield
    except ValidationError as exc:
        if not any(_rule_field(e.field) != e.field for e in exc.errors):
            raise
        raise ValidationError.from_fields(
            [FieldError(_rule_field(e.field), e.reason_zh, e.reason_en) for e in exc.errors]
        ) from None


async def _readable(db: AsyncSession, staff: StaffPrincipal, program_id: uuid.UUID) -> ProgramView:
    program = await get_program(db, program_id=program_id)
    ensure_readable(staff, program)
    return program


async def _writable(db: AsyncSession, staff: StaffPrincipal, program_id: uuid.UUID) -> ProgramView:
    program = await get_program(db, program_id=program_id)
    ensure_writable(staff, program)
    return program


# ---------------------------------------------------------------- staff API


class ProgramController(Controller):
    path = "/api/v1/programs"
    tags = ["staff: benefit programmes"]
    security = STAFF

    @get("/", summary="List programmes in my subtrees (filter by status, owner org, search)")
    async def index(
        self,
        staff: Staff,
        db_session: AsyncSession,
        benefits_directory: Dir,
        status: list[ProgramStatus] | None = None,
        owner_org_id: uuid.UUID | None = None,
        q: Annotated[str, Parameter(max_length=64)] | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> ProgramPage:
        under = None
        if owner_org_id is not None:
            under = await benefits_directory.org_path(owner_org_id)
            if under is None:
                return ProgramPage([], 0, limit, offset)
        rows, total = await list_programs(
            db_session,
            owner_path_prefix=under,
            owner_path_prefixes=read_prefixes(staff),
            status=[s.value for s in status] if status else None,
            search=q.strip() if q and q.strip() else None,
            limit=limit,
            offset=offset,
        )
        return ProgramPage([program_out(p) for p in rows], total, limit, offset)

    @post("/", summary="Create a draft owned by an org in my subtree")
    async def create(
        self,
        staff: Staff,
        db_session: AsyncSession,
        benefits_directory: Dir,
        benefits_audit: AuditLog,
        data: ProgramIn,
    ) -> ProgramOut:
        path = await benefits_directory.org_path(data.owner_org_id)
        if path is None or not staff.can(READ, path):
            raise org_not_found("owner_org_id")
        if not staff.can(WRITE, path):
            raise Forbidden(
                message_zh="您在该组织只有查看权限",
                message_en="You may only view programmes of this org",
            )
        with rules_in_body():
            view = await create_program(
                db_session,
                code=data.code,
                owner_org_id=data.owner_org_id,
                owner_org_path=path,
                rules=data.rules,
                actor_id=staff.id,
            )
        benefits_audit(
            "program.create",
            TARGET,
            view.id,
            view.owner_org_path,
            {"code": view.code, "name": view.name},
        )
        return program_out(view)

    @post("/validate", summary="Check rule JSON without saving (field errors)", status_code=200)
    async def validate(self, staff: Staff, data: ValidateIn) -> ValidateOut:
        if not staff.can(WRITE):
            raise Forbidden()
        try:
            with rules_in_body():
                parsed = validate_rules(data.rules, for_publish=data.for_publish)
        except ValidationError as exc:
            errors = [FieldErrorOut(e.field, e.reason_zh, e.reason_en) for e in exc.errors]
            return ValidateOut(False, errors, None)
        return ValidateOut(True, [], rules_to_json(parsed))

    @post(
        "/simulate",
        summary="Which programmes apply to a member (or a sample) here, and why not",
        status_code=200,
    )
    async def simulate(
        self, staff: Staff, db_session: AsyncSession, benefits_directory: Dir, data: SimulateIn
    ) -> SimulateOut:
        at = data.at or utc_now()
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValidationError.field("at", "必须带时区偏移", "must include a UTC offset")
        members = await simulation_members(
            staff,
            benefits_directory,
            member_id=data.member_id,
            member_no=data.member_no,
            org_id=data.org_id,
            sample=data.sample,
        )
        if data.program_ids is not None:
            paths = await owner_paths(db_session, data.program_ids)
            for pid in data.program_ids:
                if pid not in paths or not staff.can(READ, paths[pid]):
                    raise program_not_found(pid)
        m = data.merchant
        merchant = MerchantContext(
            merchant_id=m.merchant_id or NO_MERCHANT,
            store_id=m.store_id,
            category=m.category.value if m.category else None,
            region=m.region,
        )
        quotes = await simulate(
            db_session,
            members=[r.facts for r in members],
            merchant=merchant,
            amount_fen=data.amount_fen,
            units=data.units,
            at=at,
            program_ids=data.program_ids,
        )
        return await _simulation_out(db_session, staff, members, quotes, data, at)

    @get("/{program_id:uuid}", summary="One programme with its usage this period")
    async def detail(
        self, staff: Staff, db_session: AsyncSession, program_id: uuid.UUID
    ) -> ProgramDetail:
        p = await _readable(db_session, staff, program_id)
        u = await program_usage(db_session, program_id=program_id)
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

    @patch(
        "/{program_id:uuid}",
        summary="Edit the rules: a draft in place; a published programme as a new version",
    )
    async def update(
        self,
        staff: Staff,
        db_session: AsyncSession,
        benefits_audit: AuditLog,
        program_id: uuid.UUID,
        data: ProgramPatch,
    ) -> ProgramOut:
        current = await _writable(db_session, staff, program_id)
        published = current.status in (ProgramStatus.active, ProgramStatus.paused)
        if published and not data.new_version:
            raise VersionImmutable(
                errors=[
                    FieldError(
                        "new_version",
                        "已发布的版本不可直接修改;设置 new_version=true 以发布新版本",
                        "a published version cannot be edited in place; "
                        "set new_version=true to publish the edit as a new version",
                    )
                ],
                current_version=current.version_number,
            )
        expected = data.expected_version
        if expected is None and not data.new_version:
            # A draft published meanwhile must not go live through an in-place edit.
            expected = current.version_number
        with rules_in_body():
            view = await update_program(
                db_session,
                program_id=program_id,
                rules=data.rules,
                actor_id=staff.id,
                expected_version=expected,
            )
        benefits_audit(
            "program.update",
            TARGET,
            view.id,
            view.owner_org_path,
            {"code": view.code, "status": view.status, "version": view.version_number},
        )
        return program_out(view)

    @post("/{program_id:uuid}/publish", summary="Publish a draft as version 1", status_code=200)
    async def publish(
        self,
        staff: Staff,
        db_session: AsyncSession,
        benefits_audit: AuditLog,
        program_id: uuid.UUID,
    ) -> ProgramOut:
        await _writable(db_session, staff, program_id)
        with rules_in_body():
            view = await publish_program(db_session, program_id=program_id, actor_id=staff.id)
        benefits_audit(
            "program.publish",
            TARGET,
            view.id,
            view.owner_org_path,
            {"code": view.code, "version": view.version_number},
        )
        return program_out(view)

    @post("/{program_id:uuid}/pause", summary="Pause an active programme", status_code=200)
    async def pause(
        self,
        staff: Staff,
        db_session: AsyncSession,
        benefits_audit: AuditLog,
        program_id: uuid.UUID,
    ) -> ProgramOut:
        return await _transition(staff, db_session, benefits_audit, program_id, "pause")

    @post("/{program_id:uuid}/resume", summary="Resume a paused programme", status_code=200)
    async def resume(
        self,
        staff: Staff,
        db_session: AsyncSession,
        benefits_audit: AuditLog,
        program_id: uuid.UUID,
    ) -> ProgramOut:
        return await _transition(staff, db_session, benefits_audit, program_id, "resume")

    @post("/{program_id:uuid}/end", summary="End a programme for good", status_code=200)
    async def end(
        self,
        staff: Staff,
        db_session: AsyncSession,
        benefits_audit: AuditLog,
        program_id: uuid.UUID,
    ) -> ProgramOut:
        return await _transition(staff, db_session, benefits_audit, program_id, "end")

    @get("/{program_id:uuid}/versions", summary="Version history, newest first")
    async def versions(
        self, staff: Staff, db_session: AsyncSession, program_id: uuid.UUID
    ) -> list[VersionOut]:
        await _readable(db_session, staff, program_id)
        return [
            VersionOut(v.id, v.number, v.published_at, v.published_by, v.rules)
            for v in await list_versions(db_session, program_id=program_id)
        ]

    @get("/{program_id:uuid}/versions/{number:int}", summary="One published version")
    async def version(
        self, staff: Staff, db_session: AsyncSession, program_id: uuid.UUID, number: int
    ) -> VersionOut:
        await _readable(db_session, staff, program_id)
        v = await get_version(db_session, program_id=program_id, number=number)
        return VersionOut(v.id, v.number, v.published_at, v.published_by, v.rules)


_TRANSITIONS = {"pause": pause_program, "resume": resume_program, "end": end_program}


async def _transition(
    staff: StaffPrincipal,
    db: AsyncSession,
    audit: Audit,
    program_id: uuid.UUID,
    action: str,
) -> ProgramOut:
    await _writable(db, staff, program_id)
    view = await _TRANSITIONS[action](db, program_id=program_id)
    audit(
        f"program.{action}",
        TARGET,
        view.id,
        view.owner_org_path,
        {"code": view.code, "status": view.status},
    )
    return program_out(view)


async def _simulation_out(
    db: AsyncSession,
    staff: StaffPrincipal,
    members: list[MemberRef],
    quotes: list[Quote],
    data: SimulateIn,
    at: datetime,
) -> SimulateOut:
    # Programmes owned above the staff's subtrees may apply to these members; they stay unseen.
    ids = {x.program_id for q in quotes for x in q.applicable}
    ids |= {x.program_id for q in quotes for x in q.not_applicable}
    paths = await owner_paths(db, list(ids))
    visible = {pid for pid, path in paths.items() if staff.can(READ, path)}
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


# ---------------------------------------------------------------- member API


class MyBenefitsController(Controller):
    path = "/api/v1/me/benefits"
    tags = ["member: benefits"]

    @get(
        "/", summary="Programmes I can use now and what is left this period", cache_control=NO_STORE
    )
    async def mine(
        self, db_session: AsyncSession, member_facts: SkipValidation[MemberFacts]
    ) -> MyBenefits:
        # Only the member's own counters are shown; programme-wide figures (budgets, other
        # members' use) stay server-side and only show as usable_now. No eligibility reasons.
        at = utc_now()
        items = await member_benefits(db_session, member=member_facts, at=at)
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
                    usable_now=b.usable_now,
                    limits=limits,
                )
            )
        return MyBenefits(at, out)


def route_handlers() -> list[ControllerRouterHandler]:
    return [ProgramController, MyBenefitsController]
