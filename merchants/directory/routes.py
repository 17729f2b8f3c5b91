"""Public API of the store directory: stores near a point, nearest first, and one store."""

from __future__ import annotations

import uuid
from typing import Annotated
from zoneinfo import ZoneInfo

from litestar import Controller, get, patch
from litestar.datastructures import State
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.principal import Principal
from merchants.directory.amenities import to_mask
from merchants.directory.edit import Pin, set_details
from merchants.directory.schemas import (
    MAX_RADIUS_M,
    ListingOut,
    ListingPatch,
    StoreDetail,
    StorePage,
    card,
    detail,
    listing_out,
    parse_near,
)
from merchants.directory.search import Near, near, one_store
from merchants.errors import StoreNotFound
from merchants.kinds import MerchantCategory
from merchants.onboarding.routes import STAFF


class StoreDirectoryController(Controller):
    path = "/api/v1/stores"
    tags = ["public: stores"]

    @get("/", summary="Stores near a point, nearest first, with their distance (paginated)")
    async def index(
        self,
        state: State,
        db_session: AsyncSession,
        near_: Annotated[str, Parameter(query="near", max_length=64)],
        radius_m: Annotated[int | None, Parameter(ge=1, le=MAX_RADIUS_M)] = None,
        category: MerchantCategory | None = None,
        open_now: bool = False,
        amenity: Annotated[list[str] | None, Parameter(max_items=8)] = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
        offset: Annotated[int, Parameter(ge=0, le=1000)] = 0,
    ) -> StorePage:
        lat, lng = parse_near(near_)
        mask = to_mask("amenity", [a for raw in amenity or () for a in raw.split(",") if a])
        q = Near(
            lat, lng, radius_m, category.value if category else None, open_now, mask, limit, offset
        )
        rows, more = await near(
            db_session, q, at=utc_now(), zone=ZoneInfo(state.settings.time_zone)
        )
        return StorePage([card(s) for s in rows], limit, offset, more)

    @get(
        "/{store_id:uuid}/public",
        summary="One store as the directory shows it: location, hours, amenities, navigation links",
    )
    async def show(
        self, state: State, db_session: AsyncSession, store_id: uuid.UUID
    ) -> StoreDetail:
        now, zone = utc_now(), ZoneInfo(state.settings.time_zone)
        s = await one_store(db_session, store_id, at=now, zone=zone)
        if s is None:
            raise StoreNotFound()
        return detail(s, now, zone)


class StoreListingController(Controller):
    path = "/api/v1/stores"
    tags = ["staff: merchants"]
    security = STAFF

    @patch(
        "/{store_id:uuid}/listing",
        summary="Set a store's map pin, phone, opening hours, amenities and photos",
    )
    async def update(
        self, staff: Principal, db_session: AsyncSession, store_id: uuid.UUID, data: ListingPatch
    ) -> ListingOut:
        loc = data.location
        store = await set_details(
            db_session,
            staff,
            store_id,
            pin=Pin(loc.lat, loc.lng, loc.datum) if loc else None,
            phone=data.phone,
            hours=data.hours,
            amenities=data.amenities,
            photos=data.photos,
        )
        return listing_out(store)
