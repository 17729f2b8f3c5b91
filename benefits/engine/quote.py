"""Read-only answers: what applies here (quote) and simulations; the member view builds on them.

They run the same checks and the same limit algorithm as ``redeem`` on counters read once into
memory, so a quote says exactly what a redemption made at that moment would do. A terminal's
scan (``quote``) and the staff simulator (``simulate``) answer from one function,
``_evaluate``, given member facts and a point of sale built by the same host functions
(``merchants.terminal.scan.facts_from_row`` and ``sale_context``); the simulator differs only in
counting drafts and paused programmes as active.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import String, bindparam, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from benefits.engine.counters import PROGRAM_SCOPE, budget_stripes, stripe_index, stripe_scope
from benefits.engine.evaluate import check_program
from benefits.engine.results import LimitState, ProgramQuote, ProgramRefusal, Quote
from benefits.engine.statements import PgStatements, SaStatements, Statements
from benefits.engine.txn import Db, as_utc, read_connection
from benefits.engine.versions import (
    CompiledRules,
    compile_rules,
    live_programs_cached,
    load_versions,
    remember_live_programs,
)
from benefits.errors import Reason
from benefits.models import Program
from benefits.rules.benefit import Outcome, compute
from benefits.rules.facts import MemberFacts, MerchantContext
from benefits.rules.limits import CounterKey, LimitHit, MemoryCounters, apply_limits, counter_key
from benefits.rules.periods import period_bounds
from benefits.rules.programme import ProgramRules, rules_to_json

_P = Program.__table__
_CHUNK = 400

_CAND_COLS = (
    _P.c.id,
    _P.c.code,
    _P.c.status,
    _P.c.current_version_id,
    _P.c.owner_org_path,
    _P.c.rules,
)

_ORDER = (_P.c.priority.desc(), _P.c.code)
# The scan's case (active and paused programmes of the member's org or an ancestor), built
# once: building a Select per request costs more Python than the query's round trip.
_LIVE_FOR_ORG = (
    select(*_CAND_COLS)
    .where(_P.c.status.in_(["active", "paused"]))
    .where(bindparam("org_path", type_=String()).like(_P.c.owner_org_path + "%"))
    .order_by(*_ORDER)
)


@dataclass(frozen=True, slots=True)
class Candidate:
    id: uuid.UUID
    code: str
    status: str
    owner_org_path: str
    compiled: CompiledRules | None  # None: never published and drafts not wanted


async def candidates(
    conn: AsyncConnection,
    *,
    member_org_path: str | None,
    program_ids: Sequence[uuid.UUID] | None,
    include_drafts: bool,
) -> list[Candidate]:
    if program_ids is None and not include_drafts and member_org_path is not None:
        rows = (await conn.execute(_LIVE_FOR_ORG, {"org_path": member_org_path})).all()
    else:
        stmt = select(*_CAND_COLS)
        if program_ids is not None:
            stmt = stmt.where(_P.c.id.in_(list(program_ids)))
        else:
            statuses = ["active", "paused"] + (["draft"] if include_drafts else [])
            stmt = stmt.where(_P.c.status.in_(statuses))
            if member_org_path is not None:
                # Programmes owned by the member's org or an ancestor of it.
                stmt = stmt.where(literal(member_org_path).like(_P.c.owner_org_path + "%"))
        rows = (await conn.execute(stmt.order_by(*_ORDER))).all()
    return await _with_rules(conn, rows, include_drafts=include_drafts)


async def _with_rules(
    source: AsyncConnection | PgStatements, rows: Sequence[Any], *, include_drafts: bool
) -> list[Candidate]:
    """Candidates from rows of ``_CAND_COLS`` (by position: SQLAlchemy rows or asyncpg
    records), with their current version's compiled rules (from the version cache)."""
    versions = await load_versions(source, [r[3] for r in rows if r[3] and str(r[2]) != "draft"])
    out: list[Candidate] = []
    for r in rows:
        status = str(r[2])
        compiled: CompiledRules | None
        if status == "draft":
            compiled = compile_rules(r[5]) if include_drafts else None
        else:
            compiled = versions.get(r[3]) if r[3] else None
        out.append(Candidate(r[0], r[1], status, r[4], compiled))
    return out


async def _live(st: PgStatements, org_path: str) -> list[Candidate]:
    rows = live_programs_cached(org_path)
    if rows is None:
        rows = await st.live_programs(org_path)
        remember_live_programs(org_path, rows)
    return await _with_rules(st, rows, include_drafts=False)


async def live_rules(pg: Any, org_path: str) -> dict[uuid.UUID, ProgramRules]:
    """The current rules of the active and paused programmes owned by ``org_path`` or an
    ancestor, read on an asyncpg connection (what a scan considers; cached briefly)."""
    return {c.id: c.compiled.rules for c in await _live(PgStatements(pg), org_path) if c.compiled}


async def read_counters(
    conn: AsyncConnection | Statements, keys: Iterable[CounterKey]
) -> dict[CounterKey, int]:
    """Current ``used`` of the given counters (absent ones are simply not in the result).

    A programme-scope counter is the sum of its stripes (the configured number of them: after
    the setting is lowered, stripes beyond it are not read until their period ends; redemption
    itself always checks every stripe).
    """
    wanted = list(dict.fromkeys(keys))
    stripes = budget_stripes()
    rows: list[tuple[Any, ...]] = []
    for k in wanted:
        rows.append((k.program_id, k.policy_key, k.metric, k.scope_key, k.period_key))
        if k.scope_key == PROGRAM_SCOPE:
            rows += [
                (k.program_id, k.policy_key, k.metric, stripe_scope(i), k.period_key)
                for i in range(1, stripes)
            ]
    st = SaStatements(conn) if isinstance(conn, AsyncConnection) else conn
    out: dict[CounterKey, int] = {}
    for i in range(0, len(rows), _CHUNK):
        for row in await st.counters(rows[i : i + _CHUNK]):
            scope = PROGRAM_SCOPE if stripe_index(row[3]) is not None else row[3]
            key = CounterKey(row[0], row[1], row[2], scope, row[4])
            out[key] = out.get(key, 0) + row[5]
    return out


def _refusal(c: Candidate, code: str, reasons: list[Reason]) -> ProgramRefusal:
    name = c.compiled.rules.name if c.compiled else c.code
    return ProgramRefusal(c.id, c.code, name, c.status, code, tuple(reasons))


def _draft_refusal(c: Candidate) -> ProgramRefusal:
    reason = Reason("program_draft", "项目尚未发布", "The programme is not published yet")
    return ProgramRefusal(c.id, c.code, c.code, c.status, "program_inactive", (reason,))


async def _evaluate(
    conn: AsyncConnection | Statements,
    candidates: list[Candidate],
    *,
    member: MemberFacts,
    merchant: MerchantContext,
    amount_fen: int,
    units: int,
    at: datetime,
    ignore_status: bool,
) -> Quote:
    refusals: list[ProgramRefusal] = []
    passing = _passing(
        candidates,
        refusals,
        member=member,
        merchant=merchant,
        amount_fen=amount_fen,
        units=units,
        at=at,
        ignore_status=ignore_status,
    )
    keys = _counter_keys(passing, member=member, merchant=merchant, at=at)
    used = await read_counters(conn, keys)
    return await finish_quote(
        passing,
        refusals,
        used,
        member=member,
        merchant=merchant,
        amount_fen=amount_fen,
        units=units,
        at=at,
    )


async def finish_quote(
    passing: list[tuple[Candidate, CompiledRules, Outcome]],
    refusals: list[ProgramRefusal],
    used: dict[CounterKey, int],
    *,
    member: MemberFacts,
    merchant: MerchantContext,
    amount_fen: int,
    units: int,
    at: datetime,
) -> Quote:
    """The limits applied to the programmes that passed, on counters already read."""
    quotes: list[ProgramQuote] = []
    for c, compiled, outcome in passing:
        memory = MemoryCounters(used)
        try:
            final, takes = await apply_limits(
                memory,
                program_id=c.id,
                policies=compiled.policies,
                benefit=compiled.rules.benefit,
                outcome=outcome,
                member_id=member.id,
                merchant_id=merchant.merchant_id,
                at=at,
                tz=compiled.tz,
            )
        except LimitHit as hit:
            reason = hit.reason()
            refusals.append(_refusal(c, reason.code, [reason]))
            continue
        states = tuple(
            limit_state(t.policy, compiled, at, used.get(t.key, 0), t.n, t.key.period_key)
            for t in takes
        )
        quotes.append(_program_quote(c, compiled, amount_fen, outcome, final, states))
    return Quote(
        member_id=member.id,
        merchant_id=merchant.merchant_id,
        at=at,
        amount_fen=amount_fen,
        units=units,
        applicable=tuple(quotes),
        not_applicable=tuple(refusals),
    )


def _passing(
    candidates: list[Candidate],
    refusals: list[ProgramRefusal],
    *,
    member: MemberFacts,
    merchant: MerchantContext,
    amount_fen: int,
    units: int,
    at: datetime,
    ignore_status: bool,
) -> list[tuple[Candidate, CompiledRules, Outcome]]:
    """The candidates that apply before limits, with their benefit; the others to ``refusals``."""
    passing: list[tuple[Candidate, CompiledRules, Outcome]] = []
    for c in candidates:
        if c.compiled is None:
            refusals.append(_draft_refusal(c))
            continue
        refused = check_program(
            status=c.status,
            compiled=c.compiled,
            owner_org_path=c.owner_org_path,
            member=member,
            merchant=merchant,
            at=at,
            ignore_status=ignore_status,
        )
        if refused is not None:
            refusals.append(_refusal(c, *refused))
            continue
        outcome = compute(c.compiled.rules.benefit, amount_fen, units)
        if isinstance(outcome, Reason):
            refusals.append(_refusal(c, "below_min_spend", [outcome]))
            continue
        passing.append((c, c.compiled, outcome))
    return passing


def _counter_keys(
    passing: list[tuple[Candidate, CompiledRules, Outcome]],
    *,
    member: MemberFacts,
    merchant: MerchantContext,
    at: datetime,
) -> list[CounterKey]:
    """The counters the passing programmes' limits read, all read in one query."""
    return [
        k
        for c, compiled, _ in passing
        for p in compiled.policies
        if (
            k := counter_key(
                c.id,
                p,
                member_id=member.id,
                merchant_id=merchant.merchant_id,
                at=at,
                tz=compiled.tz,
            )
        )
    ]


def _program_quote(
    c: Candidate,
    compiled: CompiledRules,
    amount_fen: int,
    outcome: Outcome,
    final: Outcome,
    states: tuple[LimitState, ...],
) -> ProgramQuote:
    rules = compiled.rules
    return ProgramQuote(
        program_id=c.id,
        code=c.code,
        name=rules.name,
        description=rules.description,
        status=c.status,
        version_number=compiled.number,
        priority=rules.priority,
        stacking_mode=rules.stacking.mode.value,
        stacking_group=rules.stacking.group,
        benefit=rules_to_json(rules)["benefit"],
        amount_fen=amount_fen,
        discount_fen=final.discount_fen,
        payable_fen=amount_fen - final.discount_fen,
        units=final.units,
        subsidy_fen=final.subsidy_fen,
        value_fen=final.value_fen,
        clamped=final != outcome,
        limits=states,
    )


def limit_state(
    policy: Any,
    compiled: CompiledRules,
    at: datetime,
    used: int | None,
    take: int | None,
    period_key: str | None,
) -> LimitState:
    _, ends = period_bounds(policy.period, at, compiled.tz)
    before = None if used is None else max(0, policy.limit - used)
    return LimitState(
        policy=policy.key,
        metric=policy.metric.value,
        scope=policy.scope.value,
        period=policy.period.value,
        on_exceed=policy.on_exceed.value,
        is_budget=policy.is_budget,
        limit=policy.limit,
        period_key=period_key,
        period_ends_at=ends,
        remaining_before=before,
        take=take,
        remaining_after=None if before is None or take is None else max(0, before - take),
    )


async def quote(
    db: Db,
    *,
    member: MemberFacts,
    merchant: MerchantContext,
    amount_fen: int,
    units: int = 1,
    at: datetime | None = None,
    program_ids: Sequence[uuid.UUID] | None = None,
    pg: Any | None = None,
) -> Quote:
    """Programmes that apply to ``member`` at ``merchant``'s store for this bill, each with the
    benefit and every limit's remaining amount, and the others with the reasons they don't.

    Without ``program_ids`` it considers the active and paused programmes owned by the
    member's org or its ancestors. ``pg``, an asyncpg connection, reads there instead of on
    ``db`` (a terminal's scan: see ``cardsvc.kernel.db.driver_connection``).
    """
    at = as_utc(at)
    if amount_fen < 0 or units < 1:
        raise ValueError("amount_fen must be >= 0 and units >= 1")
    evaluate = functools.partial(
        _evaluate,
        member=member,
        merchant=merchant,
        amount_fen=amount_fen,
        units=units,
        at=at,
        ignore_status=False,
    )
    if pg is not None and program_ids is None:
        st = PgStatements(pg)
        cands = await _live(st, member.org_path)
        return await evaluate(st, cands)
    async with read_connection(db) as conn:
        cands = await candidates(
            conn, member_org_path=member.org_path, program_ids=program_ids, include_drafts=False
        )
        return await evaluate(conn, cands)


_GENERIC_NOT_ELIGIBLE = Reason(
    "not_eligible", "会员不符合该项目的享受条件", "The member is not eligible for this programme"
)


def redact_for_merchant(q: Quote) -> Quote:
    """The quote a merchant may see: eligibility reasons (hardship, age, categories) are
    sensitive personal data, so refusals for eligibility keep only the generic reason."""
    return replace(
        q,
        not_applicable=tuple(
            replace(r, reasons=(_GENERIC_NOT_ELIGIBLE,)) if r.error_code == "not_eligible" else r
            for r in q.not_applicable
        ),
    )


async def simulate(
    db: Db,
    *,
    members: Sequence[MemberFacts],
    merchant: MerchantContext,
    amount_fen: int,
    units: int = 1,
    at: datetime | None = None,
    program_ids: Sequence[uuid.UUID] | None = None,
    include_drafts: bool = True,
) -> list[Quote]:
    """Staff preview: a quote for each member, counting drafts and paused programmes as if
    they were active (the status is still shown), and writing nothing."""
    at = as_utc(at)
    out: list[Quote] = []
    async with read_connection(db) as conn:
        fixed = None
        if program_ids is not None:
            fixed = await candidates(
                conn, member_org_path=None, program_ids=program_ids, include_drafts=include_drafts
            )
        for member in members:
            cands = fixed
            if cands is None:
                cands = await candidates(
                    conn,
                    member_org_path=member.org_path,
                    program_ids=None,
                    include_drafts=include_drafts,
                )
            out.append(
                await _evaluate(
                    conn,
                    cands,
                    member=member,
                    merchant=merchant,
                    amount_fen=amount_fen,
                    units=units,
                    at=at,
                    ignore_status=True,
                )
            )
    return out
