"""The store directory's API: stores near a point, nearest first, one store and its photos
(public); a store's listing and photos, and stores imported in bulk (staff)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.openapi import BINARY, header, problem_responses, success_operation
from cardsvc.kernel.principal import Principal
from cardsvc.public import UPLOAD_RESPONSES, read_one_file
from merchants.directory import photos
from merchants.directory.amenities import to_mask
from merchants.directory.edit import Pin, set_details
from merchants.directory.schemas import (
    MAX_RADIUS_M,
    ListingOut,
    ListingPatch,
    PhotoOut,
    StoreDetail,
    StoreImportIn,
    StoreImportOut,
    StorePage,
    card,
    detail,
    import_out,
    import_row,
    listing_out,
    parse_near,
)
from merchants.directory.search import Near, near, one_store
from merchants.directory.store_import import import_rows
from merchants.errors import StoreNotFound
from merchants.kinds import MerchantCategory
from merchants.onboarding.routes import STAFF

STAFF_TAGS = ["staff: merchants"]


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


class StorePhotoController(Controller):
    """A store's photos: anyone sees a listed store's; staff add and remove them."""

    path = "/api/v1/stores/{store_id:uuid}/photos"

    @get(
        "/{photo_id:str}",
        tags=["public: stores"],
        summary="One of a listed store's photos (a JPEG, without any metadata)",
        media_type="image/jpeg",
        operation_class=success_operation(
            media={"image/jpeg": BINARY}, headers={"ETag": header("the photo's SHA-256")}
        ),
    )
    async def photo(
        self, state: State, db_session: AsyncSession, store_id: uuid.UUID, photo_id: str
    ) -> Response[bytes]:
        data = await photos.read_photo(db_session, state.settings, store_id, photo_id)
        return Response(
            data,
            media_type="image/jpeg",
            headers={"Cache-Control": "public, max-age=86400", "ETag": f'"{photo_id}"'},
        )

    @post(
        "/",
        tags=STAFF_TAGS,
        security=STAFF,
        summary="Upload a photo of the store (shown on its public page, in upload order)",
        description=(
            "multipart/form-data with one JPEG, PNG or WebP in the field `file` (checked by "
            "content), at most `UNIONCARD_ATTACHMENT_MAX_MB` and 40 megapixels. It is "
            "re-encoded as a JPEG of at most 1600 px a side without any metadata (no EXIF, no "
            "GPS position). At most 9 photos a store. Errors: 413 `attachment_too_large` / "
            "`photo_too_many_pixels`, 415 `photo_type`, 422 `photo_unreadable`, 409 "
            "`too_many_photos` / `store_closed`. Reorder or remove with PATCH …/listing "
            "(`photos`) or DELETE …/photos/{id}."
        ),
        request_max_body_size=None,  # read with our own limit (clear 413 code)
        responses={
            **UPLOAD_RESPONSES,
            **problem_responses(
                {
                    "photo_type": (415, "只能上传 JPEG、PNG 或 WebP 格式的照片", "JPEG, PNG, WebP"),
                    "too_many_photos": (409, "每家门店最多 9 张照片", "At most 9 photos"),
                },
                "photo_type",
                "too_many_photos",
            ),
        },
    )
    async def add_photo(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        store_id: uuid.UUID,
    ) -> PhotoOut:
        await photos.check_room(db_session, staff, store_id)
        data, _ = await read_one_file(request, state.settings)
        store, photo_id = await photos.add_photo(db_session, state.settings, staff, store_id, data)
        return PhotoOut(photo_id, photos.photo_url(store.id, photo_id), list(store.photos or ()))

    @delete(
        "/{photo_id:str}",
        tags=STAFF_TAGS,
        security=STAFF,
        summary="Remove a photo from the store",
        status_code=200,
    )
    async def remove_photo(
        self, staff: Principal, db_session: AsyncSession, store_id: uuid.UUID, photo_id: str
    ) -> ListingOut:
        return listing_out(await photos.remove_photo(db_session, staff, store_id, photo_id))


class StoreImportController(Controller):
    path = "/api/v1/merchants"
    tags = ["staff: merchants"]
    security = STAFF

    @post(
        "/{merchant_id:uuid}/stores/import",
        summary="Add or update a merchant's stores in bulk, each row on its own",
        description=(
            "The rows of the console's spreadsheet import, as JSON, checked by the same "
            "function: a bad row is reported in `problems` (its position, field and reason) and "
            "the others are applied. A row naming one of the merchant's stores updates it; a "
            "row that changes nothing is counted in `unchanged`, so sending the same rows "
            "again changes nothing. `dry_run` checks and changes nothing."
        ),
        status_code=200,
    )
    async def import_json(
        self,
        staff: Principal,
        db_session: AsyncSession,
        merchant_id: uuid.UUID,
        data: StoreImportIn,
    ) -> StoreImportOut:
        rows = ((i, import_row(r)) for i, r in enumerate(data.rows))
        result = await import_rows(
            db_session, staff, merchant_id, rows, dry_run=data.dry_run, source="api"
        )
        return import_out(result, dry_run=data.dry_run)
