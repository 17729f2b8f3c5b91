"""Merchants and stores by name for a programme's scope: the editor's search picker.

Names only (never contacts or bank details), to whoever may edit programmes: a benefits
manager names the shops a programme applies at without reading the merchant records.
"""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from merchants.models import Merchant, MerchantStatus, Store, StoreStatus
from merchants.onboarding.service import require


async def scope_choices(
    session: AsyncSession, viewer: Principal, q: str, *, limit: int = 10
) -> list[tuple[Merchant, list[Store]]]:
    """Merchants whose name contains ``q``, with their open stores: what a programme's scope
    may name. Open to whoever may edit programmes (a benefits manager does not read merchant
    records) and shows names only, never contacts or bank details."""
    if not (viewer.can(Perm.benefits_write) or viewer.can(Perm.merchants_read)):
        require(viewer, Perm.merchants_read)  # raises
    term = q.strip()
    if not term:
        return []
    merchants = list(
        await session.scalars(
            select(Merchant)
            .where(
                Merchant.status == MerchantStatus.active,
                or_(
                    Merchant.display_name.contains(term, autoescape=True),
                    Merchant.legal_name.contains(term, autoescape=True),
                ),
            )
            .order_by(Merchant.display_name, Merchant.id)
            .limit(limit)
        )
    )
    stores: dict[uuid.UUID, list[Store]] = {m.id: [] for m in merchants}
    if merchants:
        for s in await session.scalars(
            select(Store)
            .where(Store.merchant_id.in_(list(stores)), Store.status == StoreStatus.active)
            .order_by(Store.name, Store.id)
        ):
            stores[s.merchant_id].append(s)
    return [(m, stores[m.id]) for m in merchants]


async def scope_names(
    session: AsyncSession, merchant_ids: list[uuid.UUID], store_ids: list[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Display names of the merchants and stores a programme's scope names (id → name)."""
    names: dict[uuid.UUID, str] = {}
    if merchant_ids:
        for mid, name in await session.execute(
            select(Merchant.id, Merchant.display_name).where(Merchant.id.in_(merchant_ids))
        ):
            names[mid] = name
    if store_ids:
        for sid, store, merchant in await session.execute(
            select(Store.id, Store.name, Merchant.display_name)
            .join(Merchant, Merchant.id == Store.merchant_id)
            .where(Store.id.in_(store_ids))
        ):
            names[sid] = f"{merchant} · {store}"
    return names
