"""A store's place in the directory, edited in the console: the map pin (typed, or dropped on
the map), the phone, the weekly opening hours and closures, and a rest station's amenities. The same service
call as ``PATCH /api/v1/stores/{id}/listing`` (subtree check and audit row included). Its photos:
uploaded, made the cover or removed through the API's functions (merchants.directory.photos)."""

from __future__ import annotations

import math
import uuid
from typing import Any

from litestar import Request, Response, post
from litestar.datastructures import State, UploadFile
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import AppError, Conflict, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.pages.console.common import ConsoleController, field_errors, message_of
from cardsvc.pages.console.store_hours import DAY_FIELDS, hours_from_form, hours_values
from cardsvc.public import read_one_file
from merchants.directory import photos
from merchants.directory.amenities import AMENITY_LABELS_EN, AMENITY_LABELS_ZH, Amenity, from_mask
from merchants.directory.edit import MAX_PHOTOS, Pin, set_details
from merchants.directory.xlsx_import import import_stores
from merchants.onboarding.service import get_merchant, get_store

AMENITIES = {a.name: (AMENITY_LABELS_ZH[a], AMENITY_LABELS_EN[a]) for a in Amenity}


def listing_values(store: Any) -> dict[str, Any]:
    """The form's values for a store (``merchants.models.Store``)."""
    return {
        "lat": "" if store.latitude is None else f"{store.latitude:.6f}",
        "lng": "" if store.longitude is None else f"{store.longitude:.6f}",
        "datum": "wgs84",
        "phone": store.phone or "",
        **hours_values(store.hours),
        "amenities": from_mask(store.amenities or 0),
        "photos": list(store.photos or ()),
    }


def _number(field: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValidationError.field(field, "请填写数字，如 30.6965", "a number, e.g. 30.6965")
    return value


def _pin(values: dict[str, Any]) -> Pin | None:
    if not values["lat"] and not values["lng"]:
        return None
    datum = "gcj02" if values["datum"] == "gcj02" else "wgs84"
    return Pin(_number("lat", values["lat"]), _number("lng", values["lng"]), datum)


def _by_input(errors: dict[str, str]) -> dict[str, str]:
    """Error paths (``hours.weekly.mon[0]``, ``location``) → the form's inputs."""
    out: dict[str, str] = {}
    for path, reason in errors.items():
        name = path.split(".")[0].split("[")[0]
        if name == "hours" and path.startswith("hours.weekly."):  # the parser's own paths
            name = "hours_" + path.split(".")[2][:3]
        elif path.startswith("hours.closures"):
            name = "closures"
        out.setdefault("lat" if name == "location" else name, reason)
    return out


MAX_UPLOAD = 5 * 1024 * 1024
# One photo a request, read by the API's reader (its own size limit and clear error).


def _photos_fragment(
    merchant_id: uuid.UUID, store: Any, *, error: str = "", status: int = 200
) -> Template:
    return Template(
        "console/_store_photos.html",
        context={
            "merchant_id": merchant_id,
            "store_id": store.id,
            "photos": list(store.photos or ()),
            "max_photos": MAX_PHOTOS,
            "photo_error": error,
        },
        status_code=status,
    )


class StoreListingPages(ConsoleController):
    path = "/console/merchants"

    @post("/{merchant_id:uuid}/stores/import", status_code=200, request_max_body_size=MAX_UPLOAD)
    async def import_file(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        db_session: AsyncSession,
        merchant_id: uuid.UUID,
    ) -> Template:
        await get_merchant(db_session, staff, merchant_id, Perm.merchants_write)
        form = await request.form()
        upload = form.get("file")
        data = await upload.read() if isinstance(upload, UploadFile) else b""
        dry_run = str(form.get("dry_run", "")) == "1"
        result = await import_stores(db_session, staff, merchant_id, data, dry_run=dry_run)
        return Template(
            "console/_store_import.html",
            context={
                "merchant_id": merchant_id,
                "result": result,
                "problems": result.problems,
                "dry_run": dry_run,
                "done": True,
            },
        )

    @post("/{merchant_id:uuid}/stores/{store_id:uuid}/listing", status_code=200)
    async def edit_listing(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        db_session: AsyncSession,
        merchant_id: uuid.UUID,
        store_id: uuid.UUID,
    ) -> Response[Any]:
        form = await request.form()
        values: dict[str, Any] = {
            k: str(form.get(k, "")).strip()
            for k in ("lat", "lng", "datum", "phone", "hours", "closures", *DAY_FIELDS)
        }
        values["amenities"] = (
            [str(a) for a in form.getall("amenities")] if "amenities" in form else []
        )
        try:
            await set_details(
                db_session,
                staff,
                store_id,
                pin=_pin(values),
                phone=values["phone"],
                hours=hours_from_form(values),
                amenities=values["amenities"],
            )
        except (ValidationError, Conflict) as exc:
            if not exc.errors:
                raise
            return Template(
                "console/_store_listing.html",
                context={
                    "merchant_id": merchant_id,
                    "store_id": store_id,
                    "values": values,
                    "errors": _by_input(field_errors(exc, request)),
                    "amenity_labels": AMENITIES,
                    "day_fields": DAY_FIELDS,
                },
                status_code=422,
            )
        return Response("", headers={"HX-Redirect": f"/console/merchants/{merchant_id}"})

    @post(
        "/{merchant_id:uuid}/stores/{store_id:uuid}/photos",
        status_code=200,
        request_max_body_size=None,  # read_one_file applies the attachment limit
    )
    async def upload_photo(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        merchant_id: uuid.UUID,
        store_id: uuid.UUID,
    ) -> Template:
        try:
            await photos.check_room(db_session, staff, store_id)
            data, _ = await read_one_file(request, state.settings)
            store, _ = await photos.add_photo(db_session, state.settings, staff, store_id, data)
        except AppError as exc:
            if exc.status == 404:
                raise
            store, _ = await get_store(db_session, staff, store_id, Perm.merchants_write)
            return _photos_fragment(
                merchant_id, store, error=message_of(exc, request), status=exc.status
            )
        return _photos_fragment(merchant_id, store)

    @post(
        "/{merchant_id:uuid}/stores/{store_id:uuid}/photos/{photo_id:str}/delete", status_code=200
    )
    async def remove_photo(
        self,
        staff: Principal,
        db_session: AsyncSession,
        merchant_id: uuid.UUID,
        store_id: uuid.UUID,
        photo_id: str,
    ) -> Template:
        store = await photos.remove_photo(db_session, staff, store_id, photo_id)
        return _photos_fragment(merchant_id, store)

    @post("/{merchant_id:uuid}/stores/{store_id:uuid}/photos/{photo_id:str}/first", status_code=200)
    async def cover_photo(
        self,
        staff: Principal,
        db_session: AsyncSession,
        merchant_id: uuid.UUID,
        store_id: uuid.UUID,
        photo_id: str,
    ) -> Template:
        store = await photos.photo_first(db_session, staff, store_id, photo_id)
        return _photos_fragment(merchant_id, store)
