"""The month's voucher figures per merchant and campaign, for the settlement: a use counts in
the month it happened; a reversal nets it out of the same month, or is a negative line
(``carried_reversals``) in the month it was reversed in. ``subsidy_fen`` is what the federation
owes the merchant (the discount when the campaign is ``funded_by: federation``, 0 when the
merchant bears it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, case, func, select

from benefits.engine.months import month_bounds
from benefits.engine.txn import Db, read_connection
from benefits.vouchers.models import Campaign, VoucherUse

_C = cast(Table, Campaign.__table__)
_U = cast(Table, VoucherUse.__table__)


@dataclass
class VoucherLine:
    """One campaign's uses at one merchant in a month. Amounts in fen, net of reversals."""

    campaign_id: uuid.UUID
    campaign_code: str
    campaign_name: str
    funded_by: str
    uses: int = 0  # uses in the month, reversed ones included
    reversed: int = 0  # of them, reversed in the same month (netted out)
    carried_reversals: int = 0  # reversals here of uses of earlier months
    count: int = 0  # uses − reversed − carried_reversals
    gross_fen: int = 0
    discount_fen: int = 0
    payable_fen: int = 0
    subsidy_fen: int = 0  # what the federation owes the merchant


def _sums(counted: Any) -> list[Any]:
    cols = (_U.c.amount_fen, _U.c.discount_fen, _U.c.subsidy_fen)
    return [func.coalesce(func.sum(case((counted, c), else_=0)), 0) for c in cols]


async def month_voucher_lines(
    db: Db,
    *,
    month: str,
    time_zone: str,
    now: datetime,
    merchant_ids: list[uuid.UUID] | None = None,
) -> dict[uuid.UUID, list[VoucherLine]]:
    """Each merchant's voucher lines of ``month`` (by campaign code), uses up to ``now``."""
    since, until = month_bounds(month, time_zone)
    until = min(until, now)
    here = and_(_U.c.reversed_at.is_not(None), _U.c.reversed_at < until)
    keys = (_U.c.merchant_id, _U.c.campaign_id, _C.c.code, _C.c.name, _U.c.funded_by)
    own = (
        select(*keys, func.count(), func.coalesce(func.sum(case((here, 1), else_=0)), 0))
        .add_columns(*_sums(~here))
        .join(_C, _C.c.id == _U.c.campaign_id)
        .where(_U.c.occurred_at >= since, _U.c.occurred_at < until)
        .group_by(*keys)
    )
    carried = (
        select(*keys, func.count(), *_sums(_U.c.id.is_not(None)))
        .join(_C, _C.c.id == _U.c.campaign_id)
        .where(
            _U.c.reversed_at >= since,
            _U.c.reversed_at < until,
            _U.c.occurred_at < since,
        )
        .group_by(*keys)
    )
    if merchant_ids is not None:
        own = own.where(_U.c.merchant_id.in_(merchant_ids))
        carried = carried.where(_U.c.merchant_id.in_(merchant_ids))
    lines: dict[tuple[uuid.UUID, uuid.UUID], VoucherLine] = {}
    async with read_connection(db) as conn:
        for mid, cid, code, name, funded, n, rev, gross, disc, sub in await conn.execute(own):
            g = lines[(mid, cid)] = VoucherLine(cid, code, name, str(funded), uses=int(n))
            g.reversed = int(rev)
            g.count = g.uses - g.reversed
            g.gross_fen, g.discount_fen, g.subsidy_fen = int(gross), int(disc), int(sub)
        for mid, cid, code, name, funded, n, gross, disc, sub in await conn.execute(carried):
            g = lines.setdefault((mid, cid), VoucherLine(cid, code, name, str(funded)))
            g.carried_reversals = int(n)
            g.count -= int(n)
            g.gross_fen -= int(gross)
            g.discount_fen -= int(disc)
            g.subsidy_fen -= int(sub)
    out: dict[uuid.UUID, list[VoucherLine]] = {}
    for (mid, _), g in sorted(lines.items(), key=lambda kv: (kv[1].campaign_code, str(kv[0]))):
        g.payable_fen = g.gross_fen - g.discount_fen
        out.setdefault(mid, []).append(g)
    return out
