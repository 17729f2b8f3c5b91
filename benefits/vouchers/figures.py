"""A campaign's figures: claimed, used, expired and left, counted from the voucher rows.
An expired voucher that gave its slot back (slot NULL) no longer takes from what is left."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.vouchers.campaigns import CampaignView
from benefits.vouchers.models import Voucher

_V = cast(Table, Voucher.__table__)


@dataclass(frozen=True, slots=True)
class CampaignFigures:
    campaign_id: uuid.UUID
    stock: int
    claimed: int
    used: int
    expired: int
    left: int


async def campaign_figures(db: AsyncSession, c: CampaignView) -> CampaignFigures:
    conn = await db.connection()
    rows = await conn.execute(
        select(_V.c.status, func.count(), func.count(_V.c.slot))
        .where(_V.c.campaign_id == c.id)
        .group_by(_V.c.status)
    )
    by: dict[str, int] = {}
    held = 0
    for status, n, with_slot in rows:
        by[str(status)] = int(n)
        held += int(with_slot)
    claimed = sum(by.values())
    return CampaignFigures(
        c.id, c.stock, claimed, by.get("used", 0), by.get("expired", 0), max(0, c.stock - held)
    )
