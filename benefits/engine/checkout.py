"""Stored checkouts: ledger rows shaped as a result, and read back by id or by key."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from benefits.engine.counters import PROGRAM_SCOPE, SqlCounters, stripe_index, stripe_scope
from benefits.engine.results import LimitState, RedemptionLine, RedemptionResult
from benefits.engine.statements import PgStatements, SaStatements, Statements
from benefits.engine.txn import Db, read_connection
from benefits.engine.versions import CompiledRules, load_versions
from benefits.errors import IdempotencyConflict
from benefits.rules.limits import Take
from benefits.rules.periods import end_of_key


def merge_stripes(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Stripe entries of one policy as one: the member and the merchant see one budget."""
    if not any(_striped(e) for e in entries):
        return [dict(e) for e in entries]  # nothing to merge (the common case)
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    for e in entries:
        striped = stripe_index(e["s"]) is not None
        key = (e["p"], "p" if striped else e["s"], e["k"])
        if key in merged:
            merged[key]["n"] += e["n"]
            merged[key]["u"] = None  # several stripes: the budget's total is not at hand
        else:
            merged[key] = {**e, "s": key[1]}
            if e.get("T", 1) > 1:
                merged[key]["u"] = None
    return list(merged.values())


def _striped(e: Mapping[str, Any]) -> bool:
    """A stripe's entry (or one of a counter laid out in several)."""
    s = e["s"]
    return "T" in e or s == PROGRAM_SCOPE or s.startswith(_STRIPE_PREFIX)


_STRIPE_PREFIX = stripe_scope(1)[:-1]  # "p#"
_NO_LABELS = ("", "", "", False)


def _limit_state(take: Mapping[str, Any], compiled: CompiledRules) -> LimitState:
    used, limit, n, key = take.get("u"), take["l"], take["n"], take["k"]
    after = None if used is None else max(0, limit - used)
    policy = compiled.by_key.get(take["p"])
    scope, period, on_exceed, is_budget = (
        _NO_LABELS if policy is None else compiled.labels[policy.key]
    )
    return LimitState(
        policy=take["p"],
        metric=take["m"],
        scope=scope,
        period=period,
        on_exceed=on_exceed,
        is_budget=is_budget,
        limit=limit,
        period_key=key,
        period_ends_at=end_of_key(policy.period, key, compiled.tz) if policy else None,
        remaining_before=None if after is None else after + n,
        take=n,
        remaining_after=after,
    )


def checkout_result(
    lines: Sequence[Mapping[str, Any]],
    # by version id: the stored ones (a replay), or those of this redemption (None: a draft's)
    versions: Mapping[uuid.UUID, CompiledRules] | Mapping[uuid.UUID | None, CompiledRules],
    *,
    replayed: bool,
    reversed_: bool = False,
    merged: bool = False,
) -> RedemptionResult:
    """``merged``: the lines' takes are merged already (:func:`with_used`)."""
    out: list[RedemptionLine] = []
    for d in lines:
        compiled = versions[d["program_version_id"]]
        takes = d["takes"] if merged else merge_stripes(d["takes"])
        out.append(
            RedemptionLine(
                id=d["id"],
                line=d["line"],
                program_id=d["program_id"],
                program_code=d["program_code"],
                program_name=compiled.rules.name,
                version_id=d["program_version_id"],
                version_number=d["version_number"],
                amount_fen=d["amount_fen"],
                discount_fen=d["discount_fen"],
                payable_fen=d["payable_fen"],
                units=d["units"],
                subsidy_fen=d["subsidy_fen"],
                value_fen=d["value_fen"],
                limits=tuple(_limit_state(t, compiled) for t in takes),
            )
        )
    first, last = lines[0], lines[-1]
    return RedemptionResult(
        redemption_id=first["checkout_id"],
        merchant_id=first["merchant_id"],
        store_id=first["store_id"],
        terminal_id=first["terminal_id"],
        member_id=first["member_id"],
        card_id=first["card_id"],
        token_id=first["token_id"],
        occurred_at=first["occurred_at"],
        idempotency_key=first["idempotency_key"],
        amount_fen=first["amount_fen"],
        discount_fen=sum(d["discount_fen"] for d in lines),
        payable_fen=last["payable_fen"],
        subsidy_fen=sum(d["subsidy_fen"] for d in lines),
        lines=tuple(out),
        replayed=replayed,
        reversed=reversed_,
        bill_ref=first.get("bill_ref"),
    )


async def load_checkout(
    st: Statements, checkout_id: uuid.UUID, *, fingerprint: str | None = None
) -> RedemptionResult | None:
    """The stored result of a checkout; with ``fingerprint``, only if the request matches."""
    rows = await st.load_lines(checkout_id)
    if not rows:
        return None
    if fingerprint is not None and rows[0]["fingerprint"] != fingerprint:
        raise IdempotencyConflict(idempotency_key=rows[0]["idempotency_key"])
    versions = await load_versions(st, {r["program_version_id"] for r in rows})
    reversed_ = any(r["reversal_id"] is not None for r in rows)
    return checkout_result(rows, versions, replayed=True, reversed_=reversed_)


async def find_redemption(
    db: Db,
    *,
    redemption_id: uuid.UUID | None = None,
    merchant_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
    pg: Any | None = None,
) -> RedemptionResult | None:
    """A stored checkout by id, or by merchant + idempotency key (to answer a retry before
    doing anything else, e.g. before burning a QR token). ``merchant_id`` restricts an id
    lookup to that merchant's own redemptions. ``pg``: an asyncpg connection to read on
    instead of ``db``."""
    if redemption_id is None and (merchant_id is None or idempotency_key is None):
        raise ValueError("give redemption_id, or merchant_id and idempotency_key")
    if pg is not None:
        return await _find(PgStatements(pg), redemption_id, merchant_id, idempotency_key)
    async with read_connection(db) as conn:
        st: Statements = SaStatements(conn)
        if conn.dialect.driver == "asyncpg":
            st = PgStatements((await conn.get_raw_connection()).driver_connection)
        return await _find(st, redemption_id, merchant_id, idempotency_key)


async def _find(
    st: Statements,
    redemption_id: uuid.UUID | None,
    merchant_id: uuid.UUID | None,
    idempotency_key: str | None,
) -> RedemptionResult | None:
    if redemption_id is None:
        assert merchant_id is not None and idempotency_key is not None
        redemption_id = await st.find_checkout(merchant_id, idempotency_key)
        if redemption_id is None:
            return None
    result = await load_checkout(st, redemption_id)
    if result is None or (merchant_id is not None and result.merchant_id != merchant_id):
        return None
    return result


def takes_json(store: SqlCounters, takes: list[Take]) -> list[dict[str, Any]]:
    """What the ledger stores of the takes: enough to give them back and to reconcile.

    One entry per counter row charged: a programme-scope counter split into stripes has one
    entry per stripe taken from (``s`` names the stripe, ``T`` the counter's number of stripes
    when it has more than one); ``l`` is always the policy's limit.
    """
    out: list[dict[str, Any]] = []
    for t in takes:
        k = t.key
        if k.scope_key != PROGRAM_SCOPE and not k.scope_key.startswith(_STRIPE_PREFIX):
            # not a programme-scope counter: one row, no stripes (store.planned's answer)
            out.append(
                {
                    "p": k.policy_key,
                    "m": k.metric,
                    "s": k.scope_key,
                    "k": k.period_key,
                    "n": t.n,
                    "l": t.limit,
                }
            )
            continue
        parts, stripes = store.planned(k, t.n)
        for i, n in parts:
            entry = {
                "p": k.policy_key,
                "m": k.metric,
                "s": stripe_scope(i) if stripe_index(k.scope_key) is not None else k.scope_key,
                "k": k.period_key,
                "n": n,
                "l": t.limit,
            }
            if stripes > 1:
                entry["T"] = stripes
            out.append(entry)
    return out


def with_used(entries: list[dict[str, Any]], takes: list[Take]) -> list[dict[str, Any]]:
    """The result's view of the takes: one per policy, with the counter's ``used`` if known."""
    used = {(t.key.policy_key, t.key.period_key): t.used for t in takes}
    merged = merge_stripes(entries)  # fresh dicts, so set in place
    for e in merged:
        e["u"] = used.get((e["p"], e["k"]))
    return merged
