"""How often a card was used lately, read from the ledger.

A printed card's code is not single-use; its hourly limit is counted here, from the
redemptions themselves, so that losing a cache (a Redis restart, or Redis down and each worker
counting alone) never grants more uses than the limit. The member's index
(``member_id, occurred_at``) serves the query: a member has few redemptions in an hour.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select

from benefits.engine.counter_sql import to_asyncpg
from benefits.engine.txn import Db, as_utc, read_connection
from benefits.models import Redemption

_SQL = (
    "SELECT occurred_at FROM benefit_redemption WHERE member_id = :member_id "
    "AND card_id = :card_id AND line = 0 AND occurred_at >= :since "
    "ORDER BY occurred_at LIMIT :n"
)
_PG_SQL, _PG_NAMES = to_asyncpg(_SQL)


async def card_uses_since(
    db: Db,
    *,
    member_id: uuid.UUID,
    card_id: uuid.UUID,
    since: datetime,
    limit: int,
    pg: Any | None = None,
) -> list[datetime]:
    """When the card's checkouts since ``since`` happened, oldest first, at most ``limit``
    (reversed ones included: a reversal does not give a use back). ``pg``: an asyncpg
    connection to read on instead of ``db``."""
    params = {"member_id": member_id, "card_id": card_id, "since": as_utc(since), "n": limit}
    if pg is not None:
        rows = await pg.fetch(_PG_SQL, *(params[k] for k in _PG_NAMES))
        return [as_utc(r[0]) for r in rows]
    q = (
        select(Redemption.occurred_at)
        .where(
            Redemption.member_id == member_id,
            Redemption.card_id == card_id,
            Redemption.line == 0,
            Redemption.occurred_at >= params["since"],
        )
        .order_by(Redemption.occurred_at)
        .limit(limit)
    )
    async with read_connection(db) as conn:
        return [as_utc(t) for t in (await conn.execute(q)).scalars()]
