"""Redeem: the engine's hot path, exact under concurrency and retries.

``redeem`` does, in one transaction:

1. one SELECT for the programme rows *and* any earlier redemption under the same merchant +
   idempotency key (a retry returns the stored result without touching a counter; a different
   request under the same key is ``idempotency_conflict``);
2. re-checks status, window, eligibility and scope against the *current* version (rules come
   from the in-process version cache); with a bill, stacking across it (``engine.bills``);
3. one conditional upsert per limit counter (``benefits.engine.counters``), in a fixed order;
4. one INSERT of the ledger row(s), whose unique (merchant, key) index makes concurrent retries
   collapse into one: the loser rolls back (its counter charges with it) and returns the
   winner's result.

Nothing is read and then written back, and no lock is held across anything but these
statements. On PostgreSQL outside a caller's transaction, a redemption without clamp policies
or a bill sends steps 3 and 4 as one statement instead (:mod:`benefits.engine.at_once`; the
reads of steps 1 and 2 need no transaction around them); whatever it cannot finish (a limit
refusing, a budget stripe to walk) it leaves unwritten, to the transaction. ``reverse`` (:mod:`benefits.engine.reverse`) inserts the reversal row first (unique
per redemption, so only one of two concurrent reversals wins) and then gives back exactly the
recorded takes. Stored checkouts are shaped and read back in :mod:`benefits.engine.checkout`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from benefits.engine.at_once import STRIPE, Charge, charge_and_insert, is_refusal
from benefits.engine.bills import bill_turn
from benefits.engine.checkout import checkout_result, load_checkout, takes_json, with_used
from benefits.engine.counters import (
    SqlCounters,
    WalkNeeded,
    budget_stripes,
    pick_stripe,
)
from benefits.engine.evaluate import check_program, check_stacking, refusal_error
from benefits.engine.ledger_lines import PLAN_ONLY, exhausted, ledger_lines
from benefits.engine.request import Request, prepare_request, with_bill
from benefits.engine.results import RedemptionResult
from benefits.engine.slim import redeem_one
from benefits.engine.statements import (
    Head,
    PgStatements,
    SaStatements,
    Statements,
    head_of,
)
from benefits.engine.txn import (
    Db,
    bare_driver,
    driver_name,
    driver_of,
    is_retryable,
    is_unique_violation,
    read_connection,
    write_transaction,
)
from benefits.engine.versions import CompiledRules, cached_versions, load_versions
from benefits.errors import (
    NotFound,
    ProgramInactive,
    Reason,
    TokenReplayed,
)
from benefits.rules.facts import MemberFacts, MerchantContext
from benefits.rules.limits import (
    CounterStore,
    LimitHit,
    Take,
)


def _retryable(exc: DBAPIError) -> bool:
    return is_retryable(exc.orig)


async def redeem(
    db: Db,
    *,
    member: MemberFacts,
    merchant: MerchantContext,
    program_ids: Sequence[uuid.UUID] | uuid.UUID,
    amount_fen: int,
    idempotency_key: str,
    units: int = 1,
    at: datetime | None = None,
    card_id: uuid.UUID | None = None,
    token_id: str | None = None,
    pg: Any | None = None,
    bill_ref: str | None = None,
    head_row: Sequence[Any] | None = None,
) -> RedemptionResult:
    """Apply one programme (or several stackable ones) to a bill, exactly once per key.

    ``pg``, an asyncpg connection outside any transaction, runs the transaction instead of
    ``db`` (which then serves only the rare after-conflict reads). ``bill_ref``, the merchant's
    reference of the bill, makes the stacking rules hold across every redemption naming it
    (:mod:`benefits.engine.bills`; refused with ``bill_stacking_conflict``).

    ``head_row``: the columns of ``REDEMPTION_HEAD`` for the one programme and this merchant +
    key, read by the caller just before with a read of its own (one round trip fewer). At read
    committed isolation the transaction's own first read sees no more than that one did; a
    twin that commits after it is caught by the ledger's unique index, as ever. Used by the
    first attempt only; without a programme row in it the transaction reads the head itself.

    Raises ``program_inactive``, ``not_eligible``, ``not_in_scope``, ``below_min_spend``,
    ``quota_exhausted``/``budget_exhausted`` (naming the policy), ``stacking_conflict``,
    ``bill_stacking_conflict``, ``idempotency_conflict``, ``token_replayed``, ``not_found``, ``validation_error``.
    """
    req = prepare_request(
        member, merchant, program_ids, amount_fen, units, at, idempotency_key, card_id, token_id
    )
    req = with_bill(req, bill_ref)
    walk = False  # budget stripes: go straight to the ascending walk (benefits.engine.counters)
    head = _given_head(req, head_row)
    if req.bill_ref is None:
        if (result := await _at_once(db, req, head, pg)) is not None:
            return result
        head = None  # the transaction reads it again
    attempt = 0
    while True:
        attempt += 1
        try:
            async with _redeem_transaction(db, pg) as statements:
                given, head = head, None
                done = await _redeem_in(statements, req, walk=walk, head=given)
            # Shaping the result happens after COMMIT: counter locks are held for no Python work.
            return _result(done)
        except WalkNeeded:
            if walk:
                raise AssertionError("walked and still asked to walk") from None
            walk, attempt = True, attempt - 1  # rolled back, with any stripe it held; not a failure
            continue
        except IntegrityError as exc:
            # A unique index caught a twin: the same key (a concurrent retry) or the same token.
            return await _after_unique_violation(db, req, exc, pg)
        except DBAPIError as exc:
            if attempt < 3 and _retryable(exc):
                continue
            raise
        except asyncpg.PostgresError as exc:  # from the asyncpg path (PgStatements)
            if is_unique_violation(exc):
                return await _after_unique_violation(db, req, exc, pg)
            if attempt < 3 and is_retryable(exc):
                continue
            raise


_Done = tuple[list[dict[str, Any]], dict[uuid.UUID | None, CompiledRules]]


def _result(done: RedemptionResult | _Done) -> RedemptionResult:
    if isinstance(done, RedemptionResult):
        return done
    return checkout_result(*done, replayed=False, merged=True)  # merged by _shaped


def _given_head(req: Request, head_row: Sequence[Any] | None) -> Head | None:
    if head_row is None or head_row[0] is None or len(req.program_ids) != 1:
        return None
    head = head_of(head_row)
    return head if head.id == req.program_ids[0] else None


@asynccontextmanager
async def _redeem_transaction(db: Db, pg: Any | None = None) -> AsyncIterator[Statements]:
    """The redemption's transaction and the statements to run in it.

    On PostgreSQL with no transaction open, asyncpg runs the transaction itself (BEGIN …
    COMMIT on ``pg`` or on the connection SQLAlchemy lent us): the hot path pays nothing for
    SQLAlchemy. Otherwise SQLAlchemy does, in a savepoint of the caller's transaction if
    there is one.
    """
    if pg is not None:
        async with pg.transaction():
            yield PgStatements(pg)
    elif driver_name(db) == "asyncpg" and not db.in_transaction():
        conn = db if isinstance(db, AsyncConnection) else await db.connection()
        driver = await driver_of(conn)
        assert driver is not None  # an open pooled connection always has its driver's
        try:
            async with driver.transaction():
                yield PgStatements(driver)
        finally:
            if isinstance(db, AsyncSession):
                # Ends the session's (empty) SQLAlchemy transaction; nothing reaches the server.
                await db.commit()
    else:
        async with write_transaction(db) as conn:
            yield SaStatements(conn)


async def _after_unique_violation(
    db: Db, req: Request, exc: Exception, pg: Any | None = None
) -> RedemptionResult:
    if pg is not None:
        return await _twin(PgStatements(pg), req, exc)
    async with read_connection(db) as conn:
        return await _twin(SaStatements(conn), req, exc)


async def _twin(st: Statements, req: Request, exc: Exception) -> RedemptionResult:
    """The result of the request a unique index says came first: the same key's (a retry),
    else ``token_replayed`` if it was the same token."""
    checkout_id = await st.find_checkout(req.merchant.merchant_id, req.idempotency_key)
    if checkout_id is not None:
        return await _replay(st, req, checkout_id)
    if req.token_id is not None and await st.token_used(req.token_id):
        raise TokenReplayed() from exc
    raise exc


async def _programs(
    st: Statements, req: Request, head: Head | None
) -> RedemptionResult | list[tuple[Head, CompiledRules]]:
    """A replayed result, or the programmes to apply, checked, in charging order."""
    rows, existing = ([head], head.existing) if head is not None else await _head(st, req)
    if existing is not None:
        return await _replay(st, req, existing)
    _ensure_found(req, rows)
    ids = [r.current_version_id for r in rows if r.current_version_id is not None]
    versions = cached_versions(ids)  # the usual case: no await
    programs = _checked_programs(
        req, rows, versions if versions is not None else await load_versions(st, ids)
    )
    if req.bill_ref is not None and (twin := await bill_turn(st, req, programs)) is not None:
        return await _replay(st, req, twin)  # a concurrent retry committed on this bill first
    return programs


async def _at_once(
    db: Db, req: Request, head: Head | None, pg: Any | None
) -> RedemptionResult | None:
    """The redemption by :func:`_redeem_at_once` where it can run; ``None``: nothing was
    written, the transaction path is to run."""
    if pg is None and isinstance(db, AsyncConnection):
        # bare_driver's case without its context manager (nothing to do after): the hot path
        bare = db.dialect.driver == "asyncpg" and not db.in_transaction()
        outcome = await _at_once_on(await driver_of(db) if bare else None, req, head)
    else:
        async with bare_driver(db, pg) as driver:
            outcome = await _at_once_on(driver, req, head)
    if isinstance(outcome, asyncpg.PostgresError):
        return await _after_unique_violation(db, req, outcome, pg)
    return outcome


async def _at_once_on(
    driver: Any | None, req: Request, head: Head | None
) -> RedemptionResult | asyncpg.PostgresError | None:
    """:func:`_at_once` on the bare driver, if any; a unique violation is returned, for the
    caller to answer once the driver is given back."""
    if driver is None:
        return None
    try:
        done = await _redeem_at_once(PgStatements(driver), req, head)
        return None if done is None else _result(done)
    except asyncpg.PostgresError as exc:
        if is_refusal(exc) or is_retryable(exc):
            return None  # the transaction path says which limit refused, or walks
        if not is_unique_violation(exc):
            raise
        return exc


async def _redeem_at_once(
    st: PgStatements, req: Request, head: Head | None
) -> RedemptionResult | _Done | None:
    """The redemption without a transaction of its own (``benefits.engine.at_once``): its
    reads, then its writes in one statement. ``None``: a case for the transaction path (a
    clamp policy, a budget stripe short of the take); nothing was written."""
    programs = await _programs(st, req, head)
    if isinstance(programs, RedemptionResult):
        return programs
    if len(programs) == 1 and (done := await redeem_one(st.driver, req, *programs[0])):
        return done  # the common case, with less Python (benefits.engine.slim)
    if any(c.clamps for _, c in programs):
        return None
    stripes = budget_stripes()
    store = SqlCounters(st, stripes=stripes, pick=pick_stripe(req.idempotency_key, stripes))
    values, line_takes = await ledger_lines(req, programs, PLAN_ONLY, store)
    charged: list[Take] = []
    charges: list[Charge] = []
    for t in (t for takes in line_takes for t in takes if t.n != 0):
        if (charge := store.charge(t.key, t.n, t.limit)) is None:
            return None
        charged.append(t)
        charges.append(charge)
    used = await charge_and_insert(st.driver, charges, values)
    for t, c, u in zip(charged, charges, used, strict=True):
        t.used = u if c.kind != STRIPE or stripes == 1 else None  # as SqlCounters.take
    return _shaped(programs, values, line_takes)


def _shaped(
    programs: list[tuple[Head, CompiledRules]],
    values: list[dict[str, Any]],
    line_takes: list[list[Take]],
) -> _Done:
    for (row, _), d, takes in zip(programs, values, line_takes, strict=True):
        d["program_code"] = row.code
        d["takes"] = with_used(d["takes"], takes)
    return values, {c.version_id: c for _, c in programs}


async def _redeem_in(
    st: Statements, req: Request, *, walk: bool = False, head: Head | None = None
) -> RedemptionResult | _Done:
    """The transaction's work: a replayed result, or the new ledger rows to shape a result from."""
    programs = await _programs(st, req, head)
    if isinstance(programs, RedemptionResult):
        return programs

    # Without clamp policies the benefit is final before any counter is charged, so the ledger
    # row goes in first and the counter upserts (shared budget rows last) are the final
    # statements before COMMIT: their row locks are held for one round trip. A concurrent retry
    # then also waits on the ledger's unique index before it touches any counter. Clamps change
    # the benefit, so with clamps the counters are charged first and the ledger written after.
    stripes = budget_stripes()
    store = SqlCounters(
        st, stripes=stripes, pick=pick_stripe(req.idempotency_key, stripes), walk=walk
    )
    clamps = any(c.clamps for _, c in programs)
    planner: CounterStore = store if clamps else PLAN_ONLY
    values, line_takes = await ledger_lines(req, programs, planner, store)
    await st.insert_lines(values)
    if not clamps:
        await _charge_counters(st, store, programs, values, line_takes)
    return _shaped(programs, values, line_takes)


async def _head(st: Statements, req: Request) -> tuple[list[Head], uuid.UUID | None]:
    """The programme rows, and the checkout already stored under this merchant + key if any."""
    merchant_id, key = req.merchant.merchant_id, req.idempotency_key
    rows = await st.head(req.program_ids, merchant_id, key)
    existing = rows[0].existing if rows else await st.find_checkout(merchant_id, key)
    return rows, existing


def _ensure_found(req: Request, rows: list[Head]) -> None:
    if len(rows) != len(req.program_ids):
        found = {r.id for r in rows}
        missing = [str(p) for p in req.program_ids if p not in found]
        raise NotFound(
            message_zh="未找到该普惠项目", message_en="Programme not found", program_ids=missing
        )


def _checked_programs(
    req: Request, rows: list[Head], versions: dict[uuid.UUID, CompiledRules]
) -> list[tuple[Head, CompiledRules]]:
    """Each programme with its current rules (``versions``), re-checked here and now, in
    charging order."""
    programs: list[tuple[Head, CompiledRules]] = []
    for row in rows:
        compiled = versions.get(row.current_version_id) if row.current_version_id else None
        if compiled is None:  # never published
            raise ProgramInactive(
                [Reason("program_draft", "项目尚未发布", "The programme is not published yet")],
                program=row.code,
            )
        refused = check_program(
            status=row.status,
            compiled=compiled,
            owner_org_path=row.owner_org_path,
            member=req.member,
            merchant=req.merchant,
            at=req.at,
        )
        if refused is not None:
            raise refusal_error(refused[0], refused[1], program=row.code)
        programs.append((row, compiled))
    if len(programs) > 1:
        if (stacking := check_stacking([(r.code, c) for r, c in programs])) is not None:
            raise stacking
        # Highest priority first; the id breaks ties so that every transaction charges (and
        # locks) counters in the same order.
        programs.sort(key=lambda p: (-p[1].rules.priority, p[0].id))
    return programs


async def _charge_counters(
    st: Statements,
    store: SqlCounters,
    programs: list[tuple[Head, CompiledRules]],
    values: list[dict[str, Any]],
    line_takes: list[list[Take]],
) -> None:
    """Without clamps, after the ledger rows: charge the planned takes, in charging order."""
    for (row, _), takes in zip(programs, line_takes, strict=True):
        for t in takes:
            if t.n == 0:
                continue
            got = await store.take(t.key, t.n, t.limit, False)
            if got is None:
                raise exhausted(LimitHit(t.policy, None), row.code)
            t.used = got[1]
    for d, takes in zip(values, line_takes, strict=True):
        # A budget charged from other stripes than planned: the ledger row says which.
        if (charged := takes_json(store, takes)) != d["takes"]:
            await st.update_takes(d["id"], d["occurred_at"], charged)
            d["takes"] = charged


async def _replay(st: Statements, req: Request, checkout_id: uuid.UUID) -> RedemptionResult:
    result = await load_checkout(st, checkout_id, fingerprint=req.fingerprint)
    assert result is not None
    return result
