"""A redemption's writes in one statement: its counter charges, then its ledger rows.

Without clamp policies a redemption knows, before it writes anything, its benefit and what each
counter must grant (``benefits.engine.redeem``). On PostgreSQL, outside a caller's transaction,
one statement (autocommit) then does what BEGIN, one statement per counter, the INSERT and
COMMIT did, in one round trip::

    WITH c0(u) AS (<charge counter 0>),
         c1(u) AS (<charge counter 1> … FROM c0),           -- only if c0 granted
         line AS (INSERT INTO benefit_redemption (…)
                  VALUES ((SELECT $id FROM c1), …), (…))     -- the id through the last charge
    SELECT c0.u, c1.u FROM c0, c1

Each charge is the transaction path's own conditional statement (an upsert, in
``benefit_member_counter`` for a member's own counter, or the update of the budget stripe
picked for the key: ``benefits.engine.counter_sql``, ``benefits.engine.statements``), and runs only on the row
of the charge before it, so counters are charged (and locked) in charging order and a refusal
stops the chain. The first ledger row's id comes through the last charge: after a refusal it is
NULL, the primary key refuses the row and the whole statement, every charge before it
included, is undone (:func:`is_refusal`). The caller then runs the transaction path, which
tells which limit refused, or walks the budget stripes. A twin under the same idempotency key
or token fails on the ledger's unique indexes, as in the transaction; counter row locks are
held for no network round trip.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from benefits.engine.ledger_keys import lookup_rows_sql
from benefits.engine.statements import LINE_COLUMNS

# What a charge is: the conditional upsert of a counter shared by members, the UPDATE of a
# budget stripe, or the conditional upsert of a member's own counter (its own table).
UPSERT, STRIPE, MEMBER = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Charge:
    """One counter charge of kind ``kind`` (:data:`UPSERT`, :data:`STRIPE`, :data:`MEMBER`);
    ``params`` named as in ``benefits.engine.counter_sql``."""

    kind: int
    params: dict[str, Any]


_UPSERT_NAMES = ("k_id", "k_program", "k_policy", "k_metric", "k_scope", "k_period", "init", "lim")
_MEMBER_NAMES = ("k_member", *_UPSERT_NAMES)
_STRIPE_NAMES = ("k_program", "k_policy", "k_metric", "k_scope", "k_period", "stripes", "share")


def _upsert(k: int, at: int, member: bool) -> str:
    """Counter ``k`` charged by the conditional upsert; parameters from ``$at``:
    _UPSERT_NAMES (_MEMBER_NAMES for a member's counter) then ``n``."""
    m = [f"${at}"] if member else []
    p = [f"${at + len(m) + i}" for i in range(len(_UPSERT_NAMES) + 1)]
    gate = f" FROM c{k - 1}" if k else ""
    table, col, val = (
        ("benefit_member_counter", "member_id, ", f"{m[0]}::uuid, ")
        if member
        else ("benefit_counter", "", "")
    )
    return f"""c{k}(u) AS (
INSERT INTO {table} AS bc
    (id, {col}program_id, policy_key, metric, scope_key, period_key, used, "limit", last_take)
SELECT {p[0]}::uuid, {val}{p[1]}::uuid, {p[2]}::varchar, {p[3]}::varchar, {p[4]}::varchar,
       {p[5]}::varchar, {p[6]}::bigint, {p[7]}::bigint, {p[6]}::bigint{gate}
ON CONFLICT ({col}program_id, policy_key, metric, scope_key, period_key) DO UPDATE SET
    used = bc.used + {p[8]}::bigint, last_take = {p[8]}::bigint, "limit" = {p[7]}::bigint
WHERE bc.used + {p[8]}::bigint <= {p[7]}::bigint
RETURNING bc.used)"""


def _stripe(k: int, at: int) -> str:
    """Counter ``k``'s picked stripe charged by its conditional UPDATE; parameters from
    ``$at``: _STRIPE_NAMES then ``n``."""
    p = [f"${at + i}" for i in range(len(_STRIPE_NAMES) + 1)]
    gate = f" FROM c{k - 1}" if k else ""
    return f"""c{k}(u) AS (
UPDATE benefit_counter AS bc SET
    used = bc.used + {p[7]}::bigint, last_take = {p[7]}::bigint, "limit" = {p[6]}::bigint{gate}
WHERE bc.program_id = {p[0]}::uuid AND bc.policy_key = {p[1]}::varchar
  AND bc.metric = {p[2]}::varchar AND bc.scope_key = {p[3]}::varchar
  AND bc.period_key = {p[4]}::varchar AND bc.stripes = {p[5]}::integer
  AND bc.used + {p[7]}::bigint <= {p[6]}::bigint
RETURNING bc.used)"""


# The arguments in statement order, picked in C rather than by a loop per call.
_ARGS = (
    itemgetter(*_UPSERT_NAMES, "n"),
    itemgetter(*_STRIPE_NAMES, "n"),
    itemgetter(*_MEMBER_NAMES, "n"),
)
_COUNT = (len(_UPSERT_NAMES) + 1, len(_STRIPE_NAMES) + 1, len(_MEMBER_NAMES) + 1)
_LINE_ARGS = itemgetter(*LINE_COLUMNS)
_TAKES = LINE_COLUMNS.index("takes")

_sql_cache: dict[tuple[tuple[int, ...], int], str] = {}


def statement_sql(kinds: tuple[int, ...], lines: int) -> str:
    """The statement for charges of these kinds and that many ledger rows, built once per
    shape."""
    sql = _sql_cache.get((kinds, lines))
    if sql is not None:
        return sql
    parts: list[str] = []
    at = 1
    for k, kind in enumerate(kinds):
        parts.append(_stripe(k, at) if kind == STRIPE else _upsert(k, at, kind == MEMBER))
        at += _COUNT[kind]
    rows = []
    first = dict(zip(LINE_COLUMNS, (f"${at + j}" for j in range(len(LINE_COLUMNS))), strict=True))
    for i in range(lines):
        values = [f"${at + j}" for j in range(len(LINE_COLUMNS))]
        if i == 0 and kinds:
            values[0] = f"(SELECT {values[0]}::uuid FROM c{len(kinds) - 1})"
        rows.append(f"({', '.join(values)})")
        at += len(LINE_COLUMNS)
    insert = f"INSERT INTO benefit_redemption ({', '.join(LINE_COLUMNS)}) VALUES {', '.join(rows)}"
    # The checkout's lookup rows (key, token) from line 0's parameters (statements.lookup_rows_sql)
    parts.append(lookup_rows_sql(first))
    if kinds:
        ctes = ",\n".join([*parts, f"line AS ({insert})"])
        used = ", ".join(f"c{k}.u" for k in range(len(kinds)))
        tables = ", ".join(f"c{k}" for k in range(len(kinds)))
        sql = f"WITH {ctes}\nSELECT {used} FROM {tables}"
    else:
        sql = f"WITH {parts[0]}\n{insert}"
    _sql_cache[(kinds, lines)] = sql
    return sql


def is_refusal(exc: BaseException) -> bool:
    """The error of a refused charge: the ledger row's id left NULL (not-null violation)."""
    return getattr(exc, "sqlstate", None) == "23502" and getattr(exc, "column_name", None) == "id"


async def charge_and_insert(
    pg: Any, charges: Sequence[Charge], lines: Sequence[dict[str, Any]]
) -> list[int]:
    """Run the statement on ``pg`` (an asyncpg connection outside a transaction): each charge's
    counter ``used`` after it. Raises the driver's error; :func:`is_refusal` tells a refused
    charge (nothing was written)."""
    args: list[Any] = []
    for c in charges:
        args += _ARGS[c.kind](c.params)
    for line in lines:
        values = list(_LINE_ARGS(line))
        values[_TAKES] = json.dumps(values[_TAKES])
        args += values
    return await run_statement(pg, tuple(c.kind for c in charges), len(lines), args)


async def run_statement(
    pg: Any, kinds: tuple[int, ...], lines: int, args: Sequence[Any]
) -> list[int]:
    """:func:`statement_sql` for that shape run with ``args`` (each charge's, then each ledger
    row's, in statement order): each charge's counter ``used`` after it."""
    sql = statement_sql(kinds, lines)
    if not kinds:
        await pg.execute(sql, *args)
        return []
    row = await pg.fetchrow(sql, *args)
    return list(row)
