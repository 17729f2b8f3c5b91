"""The demo stores' places on the map (WGS-84, around Yichang), hours and phone numbers, and a
few more 工惠驿家 rest stations with their amenities, so the demo shows 附近 and its map.
Idempotent: a store that already has a location is left as it is."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.principal import SYSTEM
from merchants.directory.amenities import Amenity
from merchants.directory.hours import DAYS, parse_hours
from merchants.models import Store
from merchants.onboarding.service import create_store

_ALL = tuple(Amenity)
_DAILY = {"weekly": {d: ["09:00-21:00"] for d in DAYS}}
_NIGHT = {"weekly": {d: ["10:00-14:00", "17:00-01:00"] for d in DAYS}}
_ALWAYS = {"weekly": {d: ["00:00-24:00"] for d in DAYS}}
_WORKDAYS = {"weekly": {d: ["08:30-17:30"] for d in DAYS[:5]}}

Place = tuple[float, float, str, dict[str, Any], tuple[Amenity, ...]]
# Store name → (lat, lng, phone, hours, amenities).
PLACES: dict[str, Place] = {
    "老街面馆（解放路店）": (30.69652, 111.28551, "07176221801", _NIGHT, ()),
    "惠民超市（伍家岗店）": (30.65310, 111.35602, "07176532266", _DAILY, ()),
    "三峡影城（国贸店）": (30.70683, 111.29861, "07176447788", _ALWAYS, ()),
    "康宁体检中心（夷陵路）": (30.70021, 111.29203, "07176901234", _WORKDAYS, ()),
    "动力健身馆（万达店）": (30.64802, 111.34311, "07176588899", _DAILY, ()),
    "工惠驿家·解放路站": (30.69604, 111.28702, "07176221888", _ALWAYS, _ALL),
    "职工技能培训学校（夷陵校区）": (30.76804, 111.32502, "07177823456", _WORKDAYS, ()),
}
# More rest stations of the demo's 工惠驿家 merchant: name, address, region, lat, lng, amenities.
MORE_STATIONS: tuple[tuple[str, str, str, float, float, tuple[Amenity, ...]], ...] = (
    (
        "工惠驿家·夜明珠站",
        "宜昌市西陵区夜明珠路 21 号",
        "420502",
        30.71072,
        111.30118,
        (Amenity.water, Amenity.toilet, Amenity.charging, Amenity.seats, Amenity.wifi),
    ),
    (
        "工惠驿家·万达广场站",
        "宜昌市伍家岗区沿江大道 188 号",
        "420503",
        30.65004,
        111.35297,
        (
            Amenity.water,
            Amenity.charging,
            Amenity.microwave,
            Amenity.seats,
            Amenity.air_conditioning,
        ),
    ),
    (
        "工惠驿家·夷陵广场站",
        "宜昌市夷陵区夷陵大道 1 号",
        "420506",
        30.77102,
        111.32704,
        (Amenity.water, Amenity.toilet, Amenity.first_aid, Amenity.seats),
    ),
)
REST_STATION = "工惠驿家·解放路站"


def _mask(amenities: tuple[Amenity, ...]) -> int:
    mask = 0
    for a in amenities:
        mask |= a
    return mask


async def seed_listings(
    session: AsyncSession, settings: Any, demo: dict[str, Any]
) -> dict[str, int]:
    """Demo step (after the merchants'): places, hours and amenities of the demo stores."""
    made: Counter[str] = Counter()
    home = await session.scalar(select(Store).where(Store.name == REST_STATION))
    if home is not None:
        for name, address, region, lat, lng, amenities in MORE_STATIONS:
            found = await session.scalar(
                select(Store).where(Store.merchant_id == home.merchant_id, Store.name == name)
            )
            if found is None:
                await create_store(
                    session, SYSTEM, home.merchant_id, name=name, address=address, region=region
                )
                made["stations"] += 1
            PLACES.setdefault(name, (lat, lng, "07176221888", _ALWAYS, amenities))
    await session.flush()
    for store in await session.scalars(select(Store).where(Store.name.in_(list(PLACES)))):
        if store.latitude is not None:
            continue
        lat, lng, phone, hours, amenities = PLACES[store.name]
        store.latitude, store.longitude = lat, lng
        store.phone = "+86" + phone[1:]
        store.hours = parse_hours(hours)
        store.amenities = _mask(amenities)
        made["placed"] += 1
    return dict(made)
