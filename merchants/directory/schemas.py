"""The store directory's request and response shapes, and the functions that fill them."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import msgspec

from cardsvc.kernel.errors import ValidationError
from merchants.directory.amenities import from_mask
from merchants.directory.edit import Pin
from merchants.directory.geo import wgs84_to_gcj02
from merchants.directory.hours import closure_today
from merchants.directory.navigation import nav_links
from merchants.directory.search import NearbyStore
from merchants.directory.store_import import MAX_ROWS, ImportResult, StoreRow
from merchants.kinds import CATEGORY_LABELS_ZH, MerchantCategory

MAX_RADIUS_M = 500_000


class Point(msgspec.Struct):
    lat: float
    lng: float


class StoreCard(msgspec.Struct):
    id: uuid.UUID
    merchant_id: uuid.UUID
    name: str
    merchant_name: str
    category: MerchantCategory
    category_label: str
    address: str
    region: str
    location: Point  # WGS-84
    gcj02: Point  # the same place in the datum of maps licensed in mainland China
    open_now: bool
    amenities: list[str]
    phone: str | None = None
    distance_m: int | None = None


class StorePage(msgspec.Struct):
    items: list[StoreCard]
    limit: int
    offset: int
    has_more: bool


class StoreDetail(msgspec.Struct):
    store: StoreCard
    hours: dict[str, Any] | None
    closed_today: str | None  # the closure's note ("" without one) when closed all day today
    photos: list[str]
    navigation: dict[str, str]


class LocationIn(msgspec.Struct):
    """A map pin: ``datum`` says which map it was dropped on."""

    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    lng: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    datum: Annotated[str, msgspec.Meta(pattern="^(wgs84|gcj02)$")] = "wgs84"


def parse_near(raw: str) -> tuple[float, float]:
    """``"LAT,LNG"`` in WGS-84 degrees."""
    parts = raw.split(",")
    try:
        lat, lng = (float(p) for p in parts) if len(parts) == 2 else (math.nan, math.nan)
    except ValueError:
        lat = lng = math.nan
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
        raise ValidationError.field(
            "near",
            "位置应为纬度与经度，以半角逗号隔开",
            'near is "LAT,LNG" in degrees, e.g. 30.69,111.28',
        )
    return lat, lng


def card(s: NearbyStore, *, with_distance: bool = True) -> StoreCard:
    glat, glng = wgs84_to_gcj02(s.latitude, s.longitude)
    category = MerchantCategory(s.category)
    return StoreCard(
        id=s.store_id,
        merchant_id=s.merchant_id,
        name=s.name,
        merchant_name=s.merchant_name,
        category=category,
        category_label=CATEGORY_LABELS_ZH[category],
        address=s.address,
        region=s.region,
        location=Point(s.latitude, s.longitude),
        gcj02=Point(round(glat, 7), round(glng, 7)),
        open_now=s.open_now,
        amenities=from_mask(s.amenities),
        phone=s.phone,
        distance_m=s.distance_m if with_distance else None,
    )


def detail(s: NearbyStore, at: datetime, zone: ZoneInfo) -> StoreDetail:
    return StoreDetail(
        store=card(s, with_distance=False),
        hours=s.hours,
        closed_today=closure_today(s.hours, at, zone),
        photos=s.photos,
        navigation=nav_links(s.latitude, s.longitude, s.name),
    )


class ListingPatch(msgspec.Struct):
    """What the directory shows of a store; omitted fields stay as they are."""

    location: LocationIn | None = None  # a map pin; stored in WGS-84
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None  # "" clears it
    hours: dict[str, Any] | None = None  # {"weekly": {"mon": ["09:00-21:00"]}, "closures": []}
    amenities: (
        Annotated[list[Annotated[str, msgspec.Meta(max_length=32)]], msgspec.Meta(max_length=8)]
        | None
    ) = None
    photos: (
        Annotated[list[Annotated[str, msgspec.Meta(max_length=500)]], msgspec.Meta(max_length=9)]
        | None
    ) = None


class ListingOut(msgspec.Struct):
    store_id: uuid.UUID
    location: Point | None
    gcj02: Point | None
    phone: str | None
    hours: dict[str, Any] | None
    amenities: list[str]
    photos: list[str]


def listing_out(store: Any) -> ListingOut:
    located = store.latitude is not None and store.longitude is not None
    g = wgs84_to_gcj02(store.latitude, store.longitude) if located else None
    return ListingOut(
        store_id=store.id,
        location=Point(store.latitude, store.longitude) if located else None,
        gcj02=Point(round(g[0], 7), round(g[1], 7)) if g else None,
        phone=store.phone,
        hours=store.hours,
        amenities=from_mask(store.amenities or 0),
        photos=list(store.photos or ()),
    )


class PhotoOut(msgspec.Struct):
    """An uploaded photo, and the store's photos in their order (the first is its cover)."""

    id: str
    url: str
    photos: list[str]


class PinIn(msgspec.Struct):
    """A row's pin (range checked per row, like a spreadsheet's)."""

    lat: float
    lng: float
    datum: Literal["wgs84", "gcj02"] = "wgs84"


class StoreImportRow(msgspec.Struct):
    """One store, as a spreadsheet row gives it. A store of the merchant with this name is
    updated; empty optional fields leave its value as it is."""

    name: Annotated[str, msgspec.Meta(max_length=128)]
    address: Annotated[str, msgspec.Meta(max_length=255)]
    region: Annotated[str, msgspec.Meta(max_length=12)]
    location: PinIn | None = None
    phone: Annotated[str, msgspec.Meta(max_length=32)] = ""
    # The same spans every day, e.g. ["09:00-12:00", "14:00-21:00"]; "18:00-02:00" runs past
    # midnight. Weekly patterns and closures are set per store (PATCH …/listing).
    hours: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=32)]], msgspec.Meta(max_length=8)
    ] = msgspec.field(default_factory=list)
    amenities: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=32)]], msgspec.Meta(max_length=8)
    ] = msgspec.field(default_factory=list)


class StoreImportIn(msgspec.Struct):
    rows: Annotated[list[StoreImportRow], msgspec.Meta(min_length=1, max_length=MAX_ROWS)]
    dry_run: bool = False  # check every row, change nothing


class ImportProblemOut(msgspec.Struct):
    row: int  # the row's position in ``rows``, from 0
    field: str  # the row's field (``region``, ``location``, ``hours``…), "" for the whole row
    reason: str
    reason_en: str


class StoreImportOut(msgspec.Struct):
    dry_run: bool
    created: int
    updated: int
    unchanged: int
    problems: list[ImportProblemOut]


def import_row(r: StoreImportRow) -> StoreRow:
    return StoreRow(
        name=r.name,
        address=r.address,
        region=r.region,
        pin=Pin(r.location.lat, r.location.lng, r.location.datum) if r.location else None,
        phone=r.phone,
        daily_hours=tuple(r.hours),
        amenities=tuple(r.amenities),
    )


def import_out(result: ImportResult, *, dry_run: bool) -> StoreImportOut:
    return StoreImportOut(
        dry_run=dry_run,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        problems=[
            ImportProblemOut(p.row, p.field.split(".")[0].split("[")[0], p.reason_zh, p.reason_en)
            for p in result.problems
        ],
    )
