"""What other packages (the pages and the composition root) may use of merchants besides its
routes: display names for figures that the benefits engine keeps by id."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from merchants.models import Merchant, Store


async def merchant_names(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        select(Merchant.id, Merchant.display_name).where(Merchant.id.in_(list(ids)))
    )
    return {r[0]: r[1] for r in rows}


async def store_names(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await session.execute(select(Store.id, Store.name).where(Store.id.in_(list(ids))))
    return {r[0]: r[1] for r in rows}
