"""The statements that charge, give back and read limit counters (``benefits.engine.counters``).

Two tables hold the counters (``benefits.models``): ``benefit_counter`` those shared by members
(programme budgets and their stripes, merchant caps) and ``benefit_member_counter`` a member's
own (scope keys ``m:…``, ``mx:…``), with the member's id in its keys. A statement's parameters
name the member as ``k_member`` (:func:`benefits.rules.limits.member_of` of the scope key):
``None`` picks the shared table. Either way a charge is the one conditional upsert below.

Written as text, with ``:name`` parameters (:func:`to_asyncpg` turns them into asyncpg's
``$n``): the dialects' insert().on_conflict_do_update() constructs are not cacheable in
SQLAlchemy 2.0 and would be recompiled on every call (~0.5 ms each).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from advanced_alchemy.types import GUID
from sqlalchemy import BigInteger, bindparam, text

from benefits.rules.limits import member_of

SHARED, MEMBER = "benefit_counter", "benefit_member_counter"
_PARAM = re.compile(r"(?<![:\w]):([a-z_]+)")


def to_asyncpg(sql: str) -> tuple[str, tuple[str, ...]]:
    """``:name`` parameters → ``$1…$n``; returns the SQL and the names in argument order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PARAM.sub(number, sql), tuple(names)


def _insert(member: bool) -> str:
    table, col, val = (MEMBER, "member_id, ", ":k_member, ") if member else (SHARED, "", "")
    return f"""
INSERT INTO {table}
    (id, {col}program_id, policy_key, metric, scope_key, period_key, used, "limit", last_take)
VALUES (:k_id, {val}:k_program, :k_policy, :k_metric, :k_scope, :k_period, :init, :lim, :init)
ON CONFLICT ({col}program_id, policy_key, metric, scope_key, period_key) DO UPDATE SET
"""


def _upsert(clamp: bool, member: bool) -> str:
    t = MEMBER if member else SHARED
    if not clamp:
        return (
            _insert(member)
            + f"""    used = {t}.used + :n, last_take = :n, "limit" = :lim
WHERE {t}.used + :n <= :lim
RETURNING used, last_take"""
        )
    # clamp: take min(n, limit - used); SET expressions see the row as it was (both databases)
    return (
        _insert(member)
        + f"""    used = CASE WHEN {t}.used + :n <= :lim THEN {t}.used + :n ELSE :lim END,
    last_take = CASE WHEN {t}.used + :n <= :lim THEN :n ELSE :lim - {t}.used END,
    "limit" = :lim
WHERE {t}.used < :lim
RETURNING used, last_take"""
    )


# (clamp, member) → the conditional upsert. No row back: the limit refused.
UPSERT_SQL = {(c, m): _upsert(c, m) for c in (False, True) for m in (False, True)}


def _release(member: bool) -> str:
    # Give back (a later clamp granted less, or a reversal); never below zero: a counter short
    # of what the ledger says it holds is drift, which reconciliation reports.
    return f"""
UPDATE {MEMBER if member else SHARED}
SET used = CASE WHEN used >= :n THEN used - :n ELSE 0 END
WHERE {"member_id = :k_member AND " if member else ""}program_id = :k_program
  AND policy_key = :k_policy AND metric = :k_metric
  AND scope_key = :k_scope AND period_key = :k_period
"""


RELEASE_SQL = {m: _release(m) for m in (False, True)}
_TYPES = (
    bindparam("k_id", type_=GUID()),
    bindparam("k_program", type_=GUID()),
    bindparam("n", type_=BigInteger),
    bindparam("lim", type_=BigInteger),
    bindparam("init", type_=BigInteger),
)
_MEMBER_TYPE = bindparam("k_member", type_=GUID())
SA_UPSERT = {
    (c, m): text(sql).bindparams(*_TYPES, *((_MEMBER_TYPE,) if m else ()))
    for (c, m), sql in UPSERT_SQL.items()
}
SA_RELEASE = {
    m: text(sql).bindparams(
        bindparam("k_program", type_=GUID()),
        bindparam("n", type_=BigInteger),
        *((_MEMBER_TYPE,) if m else ()),
    )
    for m, sql in RELEASE_SQL.items()
}
PG_UPSERT = {k: to_asyncpg(sql) for k, sql in UPSERT_SQL.items()}
PG_RELEASE = {m: to_asyncpg(sql) for m, sql in RELEASE_SQL.items()}

# The current ``used`` of a list of counters ``(program_id, policy_key, metric, scope_key,
# period_key)``, each looked up in its table (the member's by its key, which starts with the
# member): six arrays, the sixth the member ids (NULL for shared counters).
PG_READ_COUNTERS = f"""
WITH k AS (
    SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::varchar[], $4::varchar[],
                         $5::varchar[], $6::uuid[])
    AS k(program_id, policy_key, metric, scope_key, period_key, member_id))
SELECT c.program_id, c.policy_key, c.metric, c.scope_key, c.period_key, c.used
FROM k JOIN {SHARED} c
  ON (c.program_id, c.policy_key, c.metric, c.scope_key, c.period_key)
   = (k.program_id, k.policy_key, k.metric, k.scope_key, k.period_key)
WHERE k.member_id IS NULL
UNION ALL
SELECT c.program_id, c.policy_key, c.metric, c.scope_key, c.period_key, c.used
FROM k JOIN {MEMBER} c
  ON (c.member_id, c.program_id, c.policy_key, c.metric, c.scope_key, c.period_key)
   = (k.member_id, k.program_id, k.policy_key, k.metric, k.scope_key, k.period_key)
"""


def key_columns(keys: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    """Counter keys (tuples of five) as :data:`PG_READ_COUNTERS`'s six arrays."""
    cols = [list(col) for col in zip(*keys, strict=True)]
    return [*cols, [member_of(s) for s in cols[3]]]


def split_keys(
    keys: Sequence[tuple[Any, ...]],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Counter keys (tuples of five) → the shared ones, and the member's own with the member
    id first (the order of ``benefit_member_counter``'s unique key)."""
    shared: list[tuple[Any, ...]] = []
    own: list[tuple[Any, ...]] = []
    for k in keys:
        if (m := member_of(k[3])) is None:
            shared.append(tuple(k))
        else:
            own.append((m, *k))
    return shared, own
