"""The voucher rows of claims, each written with its stock slot (``voucher_slot``).

PostgreSQL: the claim storm's successful claims each need their row committed before the
answer; one autocommitted multi-row statement per batch (``writer``, a
``benefits.coalesce.Coalescer``) does that for all the claims waiting at that moment, each claim
awaiting the statement that carries its row. SQLite: ``write_one``, one claim in the caller's
transaction. Either way the rows are checked against their campaign row in the statement; a
row that conflicts (a retry, a stale slot) is left out, and its claim looks it up by request
key.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

import asyncpg
from asyncpg.exceptions import InternalClientError
from sqlalchemy import Table, and_, bindparam, delete, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from benefits.coalesce import Coalescer, for_engine
from benefits.engine.txn import driver_of
from benefits.vouchers.models import Campaign, CampaignStatus, Voucher, VoucherSlot, VoucherStatus

_C = cast(Table, Campaign.__table__)
_V = cast(Table, Voucher.__table__)
_S = cast(Table, VoucherSlot.__table__)

# The concurrent claims of a worker as one autocommitted multi-row INSERT: each claim waits for
# the statement that carries its row (so a 201 still has its committed row); the rows are
# checked against their campaign row in the statement, as _INSERT does one at a time. Each row
# takes its stock slot in voucher_slot first (the slot's unique key, distributed by campaign);
# the voucher goes in only with its slot. A row that conflicts (a retry, a stale slot) is left
# out and its claim looks it up by request key. A row of the member's nth or request key already
# taken is left out before it takes a slot; only a twin of it in flight at that very moment
# (possible only with a stale admission store) can leave a slot without its voucher, which
# the campaign's rebuild gives back (benefits.vouchers.rebuild.snapshot).
_PG_INSERT_MANY = """
WITH v AS (
  SELECT v.id, v.campaign_id, v.member_id, v.slot, v.nth, v.request_key, v.claimed_at,
         v.expires_at
  FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::integer[], $5::integer[], $6::varchar[],
              $8::timestamptz[], $9::timestamptz[])
       AS v(id, campaign_id, member_id, slot, nth, request_key, claimed_at, expires_at)
  JOIN voucher_campaign c ON c.id = v.campaign_id
  WHERE c.status = $10 AND c.stock > v.slot AND c.per_member > v.nth
    AND NOT EXISTS (SELECT 1 FROM voucher o
                    WHERE o.campaign_id = v.campaign_id AND o.member_id = v.member_id
                      AND (o.nth = v.nth OR o.request_key = v.request_key))
), s AS (
  INSERT INTO voucher_slot (campaign_id, slot, member_id, voucher_id)
  SELECT campaign_id, slot, member_id, id FROM v
  ORDER BY campaign_id, slot
  ON CONFLICT DO NOTHING
  RETURNING voucher_id
)
INSERT INTO voucher (id, campaign_id, member_id, slot, nth, request_key, status, claimed_at,
                     expires_at)
SELECT v.id, v.campaign_id, v.member_id, v.slot, v.nth, v.request_key, $7, v.claimed_at,
       v.expires_at
FROM v JOIN s ON s.voucher_id = v.id
ORDER BY v.campaign_id, v.slot
ON CONFLICT DO NOTHING
RETURNING id
"""
_BATCH_ROWS = 500  # rows per statement
_FLUSHES = 2  # statements in flight per worker


async def _write(engine: Any, rows: list[dict[str, Any]]) -> list[uuid.UUID | None]:
    """Each row's id once committed, None for a row the database left out."""
    cols = ("id", "campaign_id", "member_id", "slot", "nth", "request_key")
    args = [[r[c] for r in rows] for c in cols]
    async with driver(engine) as pg:
        got = await pg.fetch(
            _PG_INSERT_MANY,
            *args,
            VoucherStatus.active.value,
            [r["claimed_at"] for r in rows],
            [r["expires_at"] for r in rows],
            CampaignStatus.published.value,
        )
    written = {r[0] for r in got}
    return [r["id"] if r["id"] in written else None for r in rows]


_COLUMNS = (
    "id",
    "campaign_id",
    "member_id",
    "slot",
    "nth",
    "request_key",
    "status",
    "claimed_at",
    "expires_at",
)


def _insert_statement(dialect: Any) -> Any:
    """INSERT … SELECT from the campaign row, so its bounds are checked in the same statement;
    nothing on a conflict (a retry, a stale slot)."""
    source = select(*[bindparam(k, type_=_V.c[k].type).label(k) for k in _COLUMNS]).where(
        and_(
            _C.c.id == bindparam("campaign_id"),
            _C.c.status == bindparam("published"),
            _C.c.stock > bindparam("slot"),
            _C.c.per_member > bindparam("nth"),
        )
    )
    stmt = dialect.insert(_V).from_select(list(_COLUMNS), source)
    return stmt.on_conflict_do_nothing().returning(_V.c.id)


_INSERT = _insert_statement(sqlite)  # PostgreSQL: _PG_INSERT_MANY, the same per row
# The voucher's stock slot, taken in its transaction (the slot's unique key); a taken slot
# undoes the voucher just written.
_TAKE_SLOT = (
    sqlite.insert(_S)
    .values(
        campaign_id=bindparam("campaign_id"),
        slot=bindparam("slot"),
        member_id=bindparam("member_id"),
        voucher_id=bindparam("id"),
    )
    .on_conflict_do_nothing()
    .returning(_S.c.slot)
)
_UNDO = delete(_V).where(_V.c.id == bindparam("id"), _V.c.member_id == bindparam("member_id"))


async def write_one(conn: AsyncConnection, values: dict[str, Any]) -> uuid.UUID | None:
    """One claim's voucher and its slot in the caller's transaction (SQLite); None if the
    database left it out."""
    new_id: uuid.UUID | None = (await conn.execute(_INSERT, values)).scalar()
    if new_id is not None and (await conn.execute(_TAKE_SLOT, values)).scalar() is None:
        await conn.execute(_UNDO, values)
        return None
    return new_id


# What the driver raises when the connection failed (SQLAlchemy would have wrapped these).
DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, InternalClientError)


@contextlib.asynccontextmanager
async def driver(engine: Any) -> AsyncIterator[Any]:
    """An asyncpg connection from the engine's pool, autocommitting; discarded after an error
    (out of SQLAlchemy's sight, it may be closed or left in the middle of the protocol)."""
    async with engine.connect() as conn:
        pg = await driver_of(conn)
        try:
            yield pg
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.invalidate()
            raise


_writers: dict[int, Coalescer[dict[str, Any], uuid.UUID | None]] = {}


def writer(db: AsyncSession) -> Coalescer[dict[str, Any], uuid.UUID | None]:
    """The writer of the session's engine: ``await writer(db).submit(values)`` is the row's id
    once committed, None if the database left it out."""
    engine = db.bind
    return for_engine(
        _writers, engine, lambda: Coalescer(engine, _write, batch=_BATCH_ROWS, flushes=_FLUSHES)
    )
