"""What other packages (the pages and the composition root) may use of merchants besides its
routes: display names for figures that the benefits engine keeps by id, the point of sale and
the member facts exactly as a terminal builds them (the staff simulator answers as a scan)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.rules.facts import MerchantContext
from merchants.directory.amenities import AMENITY_LABELS_EN, AMENITY_LABELS_ZH, Amenity, to_mask
from merchants.directory.geo import wgs84_to_gcj02
from merchants.directory.hours import DAY_LABELS_ZH, closure_today
from merchants.directory.navigation import nav_links
from merchants.directory.schemas import MAX_RADIUS_M, StoreCard, card, parse_near
from merchants.directory.search import (
    Near,
    NearbyStore,
    Rider,
    district_centre,
    near,
    near_with,
    one_store,
    stores_where,
)
from merchants.kinds import CATEGORY_LABELS_EN, CATEGORY_LABELS_ZH, MerchantCategory
from merchants.models import Merchant, Store
from merchants.terminal.scan import facts_from_row, sale_context

__all__ = [
    "AMENITY_LABELS_EN",
    "AMENITY_LABELS_ZH",
    "CATEGORY_LABELS_EN",
    "CATEGORY_LABELS_ZH",
    "DAY_LABELS_ZH",
    "MAX_RADIUS_M",
    "Amenity",
    "MerchantCategory",
    "Near",
    "NearbyStore",
    "Rider",
    "StoreCard",
    "card",
    "closure_today",
    "district_centre",
    "facts_from_row",
    "merchant_names",
    "nav_links",
    "near",
    "near_with",
    "one_store",
    "parse_near",
    "point_of_sale",
    "store_context",
    "store_names",
    "stores_where",
    "to_mask",
    "wgs84_to_gcj02",
]


def store_context(s: NearbyStore) -> MerchantContext:
    """A directory store as a terminal there presents it to the engine (no terminal yet)."""
    return sale_context(
        merchant_id=s.merchant_id,
        store_id=s.store_id,
        terminal_id=None,
        category=s.category,
        store_region=s.region,
        merchant_region=s.merchant_region,
    )


async def merchant_names(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        select(Merchant.id, Merchant.display_name).where(Merchant.id.in_(list(ids)))
    )
    return {r[0]: r[1] for r in rows}


async def store_names(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await session.execute(select(Store.id, Store.name).where(Store.id.in_(list(ids))))
    return {r[0]: r[1] for r in rows}


async def point_of_sale(
    session: AsyncSession, *, merchant_id: uuid.UUID | None, store_id: uuid.UUID | None
) -> MerchantContext | None:
    """The merchant (and store) as a terminal there would present them to the engine, built by
    the same function as the terminal's (:func:`merchants.terminal.scan.sale_context`); None
    when the merchant or store does not exist or the store is another merchant's."""
    store: Store | None = None
    if store_id is not None:
        store = await session.get(Store, store_id)
        if store is None or (merchant_id is not None and store.merchant_id != merchant_id):
            return None
        merchant_id = store.merchant_id
    if merchant_id is None:
        return None
    merchant = await session.get(Merchant, merchant_id)
    if merchant is None:
        return None
    return sale_context(
        merchant_id=merchant.id,
        store_id=store.id if store else None,
        terminal_id=None,
        category=merchant.category.value,
        store_region=store.region if store else None,
        merchant_region=merchant.region,
    )
