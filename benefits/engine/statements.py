"""The statements of the redemption hot path, issued through SQLAlchemy or straight to asyncpg.

``redeem`` works against the small :class:`Statements` interface. Two implementations:

* :class:`SaStatements`: SQLAlchemy Core on an ``AsyncConnection`` (SQLite, and PostgreSQL
  inside a caller's transaction);
* :class:`PgStatements`: the asyncpg connection underneath, used when the engine runs the whole
  transaction itself on PostgreSQL. It skips SQLAlchemy's per-statement client work (~50 µs a
  statement on this machine kind; ``bench/redeem.py`` measures the difference).

Both send the same SQL; the counter statements (:mod:`benefits.engine.counter_sql`) are written
once, with ``:name`` parameters, and turned into asyncpg's ``$n`` form by
:func:`~benefits.engine.counter_sql.to_asyncpg`. Both are exercised on PostgreSQL by the
tests (a redemption inside a caller's transaction takes the SQLAlchemy path).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import (
    BigInteger,
    Integer,
    Table,
    bindparam,
    insert,
    select,
    text,
    tuple_,
)
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from benefits.engine.counter_sql import (
    PG_READ_COUNTERS,
    PG_RELEASE,
    PG_UPSERT,
    SA_RELEASE,
    SA_UPSERT,
    key_columns,
    split_keys,
    to_asyncpg,
)
from benefits.engine.ledger_keys import id_window, key_row, lookup_rows_sql, token_row
from benefits.models import (
    Counter,
    MemberCounter,
    Program,
    ProgramVersion,
    Redemption,
    RedemptionKey,
    RedemptionToken,
    Reversal,
)

# Declarative models map a Table; SQLAlchemy types ``__table__`` as the wider FromClause.
_P = cast(Table, Program.__table__)
_V = cast(Table, ProgramVersion.__table__)
_R = cast(Table, Redemption.__table__)
_RV = cast(Table, Reversal.__table__)
_K = cast(Table, RedemptionKey.__table__)
_T = cast(Table, RedemptionToken.__table__)
# --- budget stripes (benefits.engine.counters) --------------------------------------------------------
# A programme-scope counter split into stripes: rows "p" (stripe 0), "p#1" … "p#<M-1>", each
# holding ``share`` of the limit; ``stripes`` (M) is the layout, fixed by stripe 0 when it is
# created. Every statement checks the row's layout, so a process configured for another number
# of stripes can never apply its shares to rows laid out differently.
_KEY_WHERE = (
    "program_id = :k_program AND policy_key = :k_policy AND metric = :k_metric"
    " AND scope_key = :k_scope AND period_key = :k_period"
)
# A stripe is charged with a plain UPDATE, which on PostgreSQL leaves a row it refuses
# unlocked; the stripes are created by the walk (benefits.engine.counters), all at once.
STRIPE_TAKE_SQL = {
    False: f"""
UPDATE benefit_counter SET used = used + :n, last_take = :n, "limit" = :share
WHERE {_KEY_WHERE} AND stripes = :stripes AND used + :n <= :share
RETURNING used, last_take""",
    True: f"""
UPDATE benefit_counter SET
    used = CASE WHEN used + :n <= :share THEN used + :n ELSE :share END,
    last_take = CASE WHEN used + :n <= :share THEN :n ELSE :share - used END,
    "limit" = :share
WHERE {_KEY_WHERE} AND stripes = :stripes AND used < :share
RETURNING used, last_take""",
}
# The stripes of one counter: stripe 0 is "p", the others "p#<i>".
STRIPE_ROWS_SQL = """
SELECT scope_key, stripes FROM benefit_counter
WHERE program_id = :k_program AND policy_key = :k_policy AND metric = :k_metric
  AND period_key = :k_period AND (scope_key = :k_scope OR scope_key LIKE :k_like)"""
STRIPE_CREATE_SQL = """
INSERT INTO benefit_counter
    (id, program_id, policy_key, metric, scope_key, period_key, used, "limit", last_take, stripes)
VALUES (:k_id, :k_program, :k_policy, :k_metric, :k_scope, :k_period, 0, :share, 0, :stripes)
ON CONFLICT (program_id, policy_key, metric, scope_key, period_key) DO NOTHING"""
# A ledger row written before its counters were charged names the stripe it planned to take
# from; when the charge had to come from other stripes, the same transaction corrects it.
UPDATE_TAKES_SQL = (
    "UPDATE benefit_redemption SET takes = :takes WHERE id = :line_id AND occurred_at = :at"
)
_STRIPE_TYPES = (
    bindparam("k_id", type_=GUID()),
    bindparam("k_program", type_=GUID()),
    bindparam("n", type_=BigInteger),
    bindparam("share", type_=BigInteger),
    bindparam("stripes", type_=Integer),
)
_SA_STRIPE_TAKE = {
    c: text(sql).bindparams(*_STRIPE_TYPES[1:]) for c, sql in STRIPE_TAKE_SQL.items()
}
_SA_STRIPE_ROWS = text(STRIPE_ROWS_SQL).bindparams(bindparam("k_program", type_=GUID()))
_SA_STRIPE_CREATE = text(STRIPE_CREATE_SQL).bindparams(*(b for b in _STRIPE_TYPES if b.key != "n"))
_SA_UPDATE_TAKES = text(UPDATE_TAKES_SQL).bindparams(
    bindparam("takes", type_=_R.c.takes.type),
    bindparam("line_id", type_=GUID()),
    bindparam("at", type_=DateTimeUTC(timezone=True)),
)
_PG_STRIPE_TAKE = {c: to_asyncpg(sql) for c, sql in STRIPE_TAKE_SQL.items()}
_PG_STRIPE_ROWS = to_asyncpg(STRIPE_ROWS_SQL)
_PG_STRIPE_CREATE = to_asyncpg(STRIPE_CREATE_SQL)
_PG_UPDATE_TAKES = to_asyncpg(UPDATE_TAKES_SQL)

# --- programme head, idempotency probe, ledger -----------------------------------------------
# The probe reads the lookup table of idempotency keys (RedemptionKey), not the ledger.
_EXISTING = (
    select(_K.c.checkout_id)
    .where(
        _K.c.merchant_id == bindparam("merchant_id"),
        _K.c.idempotency_key == bindparam("idem"),
    )
    .scalar_subquery()
)
_HEAD_COLS = (
    _P.c.id,
    _P.c.code,
    _P.c.status,
    _P.c.current_version_id,
    _P.c.owner_org_path,
    _EXISTING.label("existing"),
)
_SA_HEAD_ONE = select(*_HEAD_COLS).where(_P.c.id == bindparam("pid"))
# A caller's read may carry the head of one programme along (a LEFT JOIN LATERAL of this, with
# parameters ``pid``, ``merchant_id``, ``idem``): ``redeem``'s ``head_row``.
REDEMPTION_HEAD = _SA_HEAD_ONE.lateral("redemption_head")
HEAD_COLUMN_COUNT = len(_HEAD_COLS)
_SA_HEAD_MANY = select(*_HEAD_COLS).where(_P.c.id.in_(bindparam("pids", expanding=True)))
SA_FIND_CHECKOUT = select(_K.c.checkout_id).where(
    _K.c.merchant_id == bindparam("merchant_id"), _K.c.idempotency_key == bindparam("idem")
)
SA_LOAD_LINES = (
    select(_R, _P.c.code.label("program_code"), _RV.c.id.label("reversal_id"))
    .join(_P, _P.c.id == _R.c.program_id)
    .outerjoin(_RV, _RV.c.redemption_id == _R.c.id)
    .where(_R.c.checkout_id == bindparam("cid"))
    .order_by(_R.c.line)
)
# The same within the millisecond of the checkout id (PostgreSQL: one partition).
_SA_LOAD_LINES_AT = SA_LOAD_LINES.where(
    _R.c.occurred_at >= bindparam("lo"), _R.c.occurred_at < bindparam("hi")
)
_C = cast(Table, Counter.__table__)
_MC = cast(Table, MemberCounter.__table__)
_COUNTER_KEY = ("program_id", "policy_key", "metric", "scope_key", "period_key")
# Each table read by its unique key: ``keys`` the shared counters', ``mkeys`` the members'.
_SA_READ_COUNTERS = (
    select(*(_C.c[n] for n in _COUNTER_KEY), _C.c.used)
    .where(tuple_(*(_C.c[n] for n in _COUNTER_KEY)).in_(bindparam("keys", expanding=True)))
    .union_all(
        select(*(_MC.c[n] for n in _COUNTER_KEY), _MC.c.used).where(
            tuple_(_MC.c.member_id, *(_MC.c[n] for n in _COUNTER_KEY)).in_(
                bindparam("mkeys", expanding=True)
            )
        )
    )
)
_SA_TOKEN_USED = select(_T.c.checkout_id).where(_T.c.token_id == bindparam("token_id"))
_SA_VERSIONS = select(_V.c.id, _V.c.number, _V.c.rules).where(
    _V.c.id.in_(bindparam("ids", expanding=True))
)
_SA_INSERT_LINE = insert(_R)
_SA_INSERT_KEY = insert(_K)
_SA_INSERT_TOKEN = insert(_T)

_PG_HEAD = """
SELECT p.id, p.code, p.status, p.current_version_id, p.owner_org_path,
       (SELECT k.checkout_id FROM benefit_redemption_key k
         WHERE k.merchant_id = $2 AND k.idempotency_key = $3) AS existing
FROM benefit_program p WHERE """
_PG_HEAD_ONE = _PG_HEAD + "p.id = $1"
_PG_HEAD_MANY = _PG_HEAD + "p.id = ANY($1::uuid[])"
_PG_FIND_CHECKOUT = (
    "SELECT checkout_id FROM benefit_redemption_key WHERE merchant_id = $1 AND idempotency_key = $2"
)
# The scan's reads (benefits.engine.quote): a member's live programmes (their rules come from the
# version cache) and the current ``used`` of a list of counters.
_PG_LIVE_FOR_ORG = """
SELECT id, code, status, current_version_id, owner_org_path, NULL AS rules
FROM benefit_program
WHERE status IN ('active', 'paused') AND $1::varchar LIKE owner_org_path || '%'
ORDER BY priority DESC, code
"""
_PG_TOKEN_USED = "SELECT 1 FROM benefit_redemption_token WHERE token_id = $1"
_PG_VERSIONS = "SELECT id, number, rules FROM benefit_program_version WHERE id = ANY($1::uuid[])"
_PG_LOAD_LINES = """
SELECT r.*, p.code AS program_code, v.id AS reversal_id
FROM benefit_redemption r
JOIN benefit_program p ON p.id = r.program_id
LEFT JOIN benefit_reversal v ON v.redemption_id = r.id
WHERE r.checkout_id = $1"""
_PG_LOAD_LINES_AT = _PG_LOAD_LINES + " AND r.occurred_at >= $2 AND r.occurred_at < $3"
_PG_LOAD_LINES += " ORDER BY r.line"
_PG_LOAD_LINES_AT += " ORDER BY r.line"
LINE_COLUMNS = tuple(c.name for c in _R.columns if c.name != "sa_orm_sentinel")


_LINE_PARAMS = [f"${i + 1}" for i in range(len(LINE_COLUMNS))]
_PG_INSERT_LINE = (
    f"INSERT INTO benefit_redemption ({', '.join(LINE_COLUMNS)}) VALUES ({', '.join(_LINE_PARAMS)})"
)
# Line 0 with the checkout's lookup rows, in one statement.
_PG_INSERT_FIRST = (
    f"WITH {lookup_rows_sql(dict(zip(LINE_COLUMNS, _LINE_PARAMS, strict=True)))}\n"
    + _PG_INSERT_LINE
)


@dataclass(slots=True)  # not frozen: one per redemption (see benefits.engine.results)
class Head:
    """A programme row as redemption needs it, plus any redemption already under the key."""

    id: uuid.UUID
    code: str
    status: str
    current_version_id: uuid.UUID | None
    owner_org_path: str
    existing: uuid.UUID | None


class Statements(Protocol):
    async def head(
        self, program_ids: Sequence[uuid.UUID], merchant_id: uuid.UUID, idem: str
    ) -> list[Head]: ...

    async def find_checkout(self, merchant_id: uuid.UUID, idem: str) -> uuid.UUID | None: ...

    async def version_rows(self, ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, int, Any]]: ...

    async def token_used(self, token_id: str) -> bool:
        """Whether a checkout used this QR token id."""
        ...

    async def counters(self, keys: Sequence[tuple[Any, ...]]) -> Sequence[Any]:
        """``(program_id, policy_key, metric, scope_key, period_key, used)`` of those that exist
        among ``keys`` (tuples of the first five)."""
        ...

    async def insert_lines(self, lines: list[dict[str, Any]]) -> None:
        """A checkout's ledger rows, and its lookup rows (key, token)."""
        ...

    async def upsert_counter(self, clamp: bool, params: dict[str, Any]) -> tuple[int, int] | None:
        """``(used, last_take)``, or ``None`` when the limit refused."""
        ...

    async def release_counter(self, params: dict[str, Any]) -> None: ...

    async def stripe_take(self, clamp: bool, params: dict[str, Any]) -> tuple[int, int] | None:
        """``(used, last_take)`` of the stripe, or ``None`` when it refused (or is missing)."""
        ...

    async def stripe_rows(self, params: dict[str, Any]) -> list[tuple[str, int]]: ...

    async def stripe_create(self, params: dict[str, Any]) -> None: ...

    async def update_takes(
        self, line_id: uuid.UUID, at: datetime, takes: list[dict[str, Any]]
    ) -> None: ...

    async def load_lines(self, checkout_id: uuid.UUID) -> list[dict[str, Any]]: ...


def head_of(row: Any) -> Head:
    return Head(
        row[0], row[1], str(row[2]), row[3], row[4], row[5]
    )  # positional: works for SQLAlchemy rows and asyncpg records alike


class SaStatements:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def head(
        self, program_ids: Sequence[uuid.UUID], merchant_id: uuid.UUID, idem: str
    ) -> list[Head]:
        keys = {"merchant_id": merchant_id, "idem": idem}
        if len(program_ids) == 1:
            result = await self.conn.execute(_SA_HEAD_ONE, {"pid": program_ids[0], **keys})
        else:
            result = await self.conn.execute(_SA_HEAD_MANY, {"pids": list(program_ids), **keys})
        return [head_of(r) for r in result]

    async def find_checkout(self, merchant_id: uuid.UUID, idem: str) -> uuid.UUID | None:
        params = {"merchant_id": merchant_id, "idem": idem}
        return (await self.conn.execute(SA_FIND_CHECKOUT, params)).scalar()

    async def version_rows(self, ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, int, Any]]:
        return [(r[0], r[1], r[2]) for r in await self.conn.execute(_SA_VERSIONS, {"ids": ids})]

    async def token_used(self, token_id: str) -> bool:
        return (await self.conn.execute(_SA_TOKEN_USED, {"token_id": token_id})).first() is not None

    async def counters(self, keys: Sequence[tuple[Any, ...]]) -> Sequence[Any]:
        shared, own = split_keys(keys)
        return (await self.conn.execute(_SA_READ_COUNTERS, {"keys": shared, "mkeys": own})).all()

    async def insert_lines(self, lines: list[dict[str, Any]]) -> None:
        await self.conn.execute(_SA_INSERT_KEY, key_row(lines[0]))
        if lines[0]["token_id"] is not None:
            await self.conn.execute(_SA_INSERT_TOKEN, token_row(lines[0]))
        await self.conn.execute(_SA_INSERT_LINE, lines)

    async def upsert_counter(self, clamp: bool, params: dict[str, Any]) -> tuple[int, int] | None:
        row = (
            await self.conn.execute(SA_UPSERT[clamp, params["k_member"] is not None], params)
        ).first()
        return None if row is None else (row[0], row[1])

    async def release_counter(self, params: dict[str, Any]) -> None:
        await self.conn.execute(SA_RELEASE[params["k_member"] is not None], params)

    async def stripe_take(self, clamp: bool, params: dict[str, Any]) -> tuple[int, int] | None:
        row = (await self.conn.execute(_SA_STRIPE_TAKE[clamp], params)).first()
        return None if row is None else (row[0], row[1])

    async def stripe_rows(self, params: dict[str, Any]) -> list[tuple[str, int]]:
        return [(r[0], r[1]) for r in await self.conn.execute(_SA_STRIPE_ROWS, params)]

    async def stripe_create(self, params: dict[str, Any]) -> None:
        await self.conn.execute(_SA_STRIPE_CREATE, params)

    async def update_takes(
        self, line_id: uuid.UUID, at: datetime, takes: list[dict[str, Any]]
    ) -> None:
        params = {"line_id": line_id, "at": at, "takes": takes}
        await self.conn.execute(_SA_UPDATE_TAKES, params)

    async def load_lines(self, checkout_id: uuid.UUID) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in await sa_load_lines(self.conn, checkout_id)]


class PgStatements:
    """On the asyncpg connection (``conn.get_raw_connection().driver_connection``).

    JSON goes in as text and comes out decoded: SQLAlchemy registers those codecs on every
    asyncpg connection it opens.
    """

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    async def head(
        self, program_ids: Sequence[uuid.UUID], merchant_id: uuid.UUID, idem: str
    ) -> list[Head]:
        if len(program_ids) == 1:
            rows = await self.driver.fetch(_PG_HEAD_ONE, program_ids[0], merchant_id, idem)
        else:
            rows = await self.driver.fetch(_PG_HEAD_MANY, list(program_ids), merchant_id, idem)
        return [head_of(r) for r in rows]

    async def find_checkout(self, merchant_id: uuid.UUID, idem: str) -> uuid.UUID | None:
        return await self.driver.fetchval(_PG_FIND_CHECKOUT, merchant_id, idem)

    async def version_rows(self, ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, int, Any]]:
        return [(r[0], r[1], r[2]) for r in await self.driver.fetch(_PG_VERSIONS, ids)]

    async def token_used(self, token_id: str) -> bool:
        return await self.driver.fetchval(_PG_TOKEN_USED, token_id) is not None

    async def live_programs(self, org_path: str) -> list[Any]:
        """Active and paused programmes owned by ``org_path`` or an ancestor (no rules)."""
        return list(await self.driver.fetch(_PG_LIVE_FOR_ORG, org_path))

    async def counters(self, keys: Sequence[tuple[Any, ...]]) -> Sequence[Any]:
        if not keys:
            return []
        return list(await self.driver.fetch(PG_READ_COUNTERS, *key_columns(keys)))

    async def insert_lines(self, lines: list[dict[str, Any]]) -> None:
        for i, line in enumerate(lines):  # executemany() costs extra round trips for one row
            await self.driver.execute(
                _PG_INSERT_LINE if i else _PG_INSERT_FIRST,
                *[json.dumps(line[c]) if c == "takes" else line[c] for c in LINE_COLUMNS],
            )

    async def upsert_counter(self, clamp: bool, params: dict[str, Any]) -> tuple[int, int] | None:
        sql, names = PG_UPSERT[clamp, params["k_member"] is not None]
        row = await self.driver.fetchrow(sql, *[params[n] for n in names])
        return None if row is None else (row[0], row[1])

    async def release_counter(self, params: dict[str, Any]) -> None:
        sql, names = PG_RELEASE[params["k_member"] is not None]
        await self.driver.execute(sql, *[params[n] for n in names])

    async def _row(self, compiled: tuple[str, tuple[str, ...]], params: dict[str, Any]) -> Any:
        sql, names = compiled
        return await self.driver.fetchrow(sql, *[params[n] for n in names])

    async def stripe_take(self, clamp: bool, params: dict[str, Any]) -> tuple[int, int] | None:
        row = await self._row(_PG_STRIPE_TAKE[clamp], params)
        return None if row is None else (row[0], row[1])

    async def stripe_rows(self, params: dict[str, Any]) -> list[tuple[str, int]]:
        sql, names = _PG_STRIPE_ROWS
        return [(r[0], r[1]) for r in await self.driver.fetch(sql, *[params[n] for n in names])]

    async def stripe_create(self, params: dict[str, Any]) -> None:
        sql, names = _PG_STRIPE_CREATE
        await self.driver.execute(sql, *[params[n] for n in names])

    async def update_takes(
        self, line_id: uuid.UUID, at: datetime, takes: list[dict[str, Any]]
    ) -> None:
        sql, names = _PG_UPDATE_TAKES
        args = {"takes": json.dumps(takes), "line_id": line_id, "at": at}
        await self.driver.execute(sql, *[args[n] for n in names])

    async def load_lines(self, checkout_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = []
        if (window := id_window(checkout_id)) is not None:
            rows = await self.driver.fetch(_PG_LOAD_LINES_AT, checkout_id, *window)
        if not rows:  # a row from before its id named its time, or no such checkout
            rows = await self.driver.fetch(_PG_LOAD_LINES, checkout_id)
        return [dict(r) for r in rows]


async def sa_load_lines(conn: AsyncConnection, checkout_id: uuid.UUID) -> Sequence[Row[Any]]:
    """A checkout's ledger rows with their programme code and reversal id, in line order; on
    PostgreSQL read from the month its id names first (:func:`id_window`)."""
    if conn.dialect.name == "postgresql" and (window := id_window(checkout_id)) is not None:
        params = {"cid": checkout_id, "lo": window[0], "hi": window[1]}
        if rows := (await conn.execute(_SA_LOAD_LINES_AT, params)).all():
            return rows
    return (await conn.execute(SA_LOAD_LINES, {"cid": checkout_id})).all()
