"""Staff and merchants set a store's location, phone, hours, amenities and photos (audited)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import record
from cardsvc.kernel.errors import Conflict, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from merchants.directory.amenities import from_mask, to_mask
from merchants.directory.geo import gcj02_to_wgs84
from merchants.directory.hours import parse_hours
from merchants.models import Store, StoreStatus
from merchants.onboarding import validation as check
from merchants.onboarding.service import get_store

MAX_PHOTOS = 9


@dataclass(frozen=True, slots=True)
class Pin:
    lat: float
    lng: float
    datum: str = "wgs84"  # or "gcj02": dropped on a map drawn in China's datum

    def wgs84(self) -> tuple[float, float]:
        if not (-90 <= self.lat <= 90 and -180 <= self.lng <= 180):
            raise ValidationError.field("location", "经纬度超出范围", "coordinates out of range")
        if self.datum == "gcj02":
            return gcj02_to_wgs84(self.lat, self.lng)
        return self.lat, self.lng


def check_photos(photos: list[str], current: list[str] | None) -> list[str]:
    """Photos elsewhere (``https://``), and this store's uploaded ones in a new order or fewer
    (a new photo is uploaded: ``POST /api/v1/stores/{id}/photos``)."""
    if len(photos) > MAX_PHOTOS:
        raise ValidationError.field(
            "photos", f"最多 {MAX_PHOTOS} 张照片", f"at most {MAX_PHOTOS} photos"
        )
    for i, url in enumerate(photos):
        if not url.startswith("https://") or len(url) > 500:
            if url.startswith("/") and url in (current or ()):
                continue
            raise ValidationError.field(
                f"photos[{i}]",
                "照片地址应以 https:// 开头，或为本门店已上传的照片",
                "a photo URL starts with https://, or is one of this store's uploaded photos",
            )
    if len(set(photos)) != len(photos):
        raise ValidationError.field("photos", "照片重复", "a photo is listed twice")
    return photos


def _state(store: Store) -> dict[str, Any]:
    return {
        "latitude": store.latitude,
        "longitude": store.longitude,
        "phone": store.phone,
        "hours": store.hours,
        "amenities": from_mask(store.amenities or 0),
        "photos": store.photos,
    }


async def set_details(
    session: AsyncSession,
    actor: Principal,
    store_id: uuid.UUID,
    *,
    pin: Pin | None = None,
    phone: str | None = None,
    hours: dict[str, Any] | None = None,
    amenities: list[str] | None = None,
    photos: list[str] | None = None,
) -> Store:
    """Change what is given (None: unchanged; an empty phone clears it)."""
    store, merchant = await get_store(session, actor, store_id, Perm.merchants_write)
    if store.status != StoreStatus.active:
        raise Conflict("store_closed", "该门店已关闭", "The store is closed")
    before = _state(store)
    if pin is not None:
        store.latitude, store.longitude = pin.wgs84()
    if phone is not None:
        store.phone = check.phone("phone", phone) if phone.strip() else None
    if hours is not None:
        store.hours = parse_hours(hours)
    if amenities is not None:
        store.amenities = to_mask("amenities", amenities)
    if photos is not None:
        store.photos = check_photos(photos, store.photos)
    record(
        session,
        actor,
        "store.details",
        target_type="store",
        target_id=store.id,
        org_path=merchant.org_path,
        summary={"before": before, "after": _state(store)},
    )
    return store
