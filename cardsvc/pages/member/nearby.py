"""附近: stores near the member (their phone's position, or a district they choose) with the
benefits this member can use at each, a store's page, and links that open a navigation app."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, MediaType, Request, get
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.flows.member_benefits import member_facts
from cardsvc.flows.nearby import StoreOffers, nearby, store_offers
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import AppError, NotFound
from cardsvc.kernel.regions import full_name
from cardsvc.memberauth.sessions import MemberSession
from cardsvc.members.models import Member
from cardsvc.orgs.service import find_org
from cardsvc.pages.errors import page_exception_handlers
from cardsvc.pages.i18n import lang_of
from cardsvc.pages.member.benefits import offer_text
from cardsvc.pages.member.common import AREA, current_member, message, page_context
from merchants.public import (
    AMENITY_LABELS_EN,
    AMENITY_LABELS_ZH,
    CATEGORY_LABELS_EN,
    CATEGORY_LABELS_ZH,
    DAY_LABELS_ZH,
    Amenity,
    MerchantCategory,
    Near,
    closure_today,
    district_centre,
    nav_links,
    parse_near,
    wgs84_to_gcj02,
)

PAGE = 10
RADIUS_M = 50_000


def _labels() -> dict[str, Any]:
    return {
        "categories": {
            c.value: (CATEGORY_LABELS_ZH[c], CATEGORY_LABELS_EN[c]) for c in MerchantCategory
        },
        "amenities": {a.name: (AMENITY_LABELS_ZH[a], AMENITY_LABELS_EN[a]) for a in Amenity},
        "days": DAY_LABELS_ZH,
    }


async def _home_region(session: AsyncSession, member: Member) -> str | None:
    """Where the member lives, else where their union is."""
    if member.region_code:
        return member.region_code
    org = await find_org(session, member.org_id)
    return org.region_code if org is not None else None


async def _centre(session: AsyncSession, region: str) -> tuple[float, float] | None:
    """The district's stores' centre; the city's, then the province's, when it has none."""
    for prefix in (region, region[:4], region[:2]):
        if len(prefix) >= 2 and (found := await district_centre(session, prefix)):
            return found
    return None


class MemberNearbyController(Controller):
    path = AREA
    include_in_schema = False
    exception_handlers = page_exception_handlers

    @get("/nearby", media_type=MediaType.HTML)
    async def nearby_page(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        near_: Annotated[str | None, Parameter(query="near", max_length=64)] = None,
        district: Annotated[str | None, Parameter(max_length=6, pattern=r"^\d{2,6}$")] = None,
        category: MerchantCategory | None = None,
        program: uuid.UUID | None = None,
        page: Annotated[int, Parameter(ge=1, le=50)] = 1,
    ) -> Any:
        member = await current_member(db_session, member_session)
        if member is None:
            return Redirect(AREA + "/")
        now, zone = utc_now(), ZoneInfo(state.settings.time_zone)
        error, point = None, None
        try:
            if near_:
                point = parse_near(near_)
            else:
                district = district or await _home_region(db_session, member)
                point = await _centre(db_session, district) if district else None
        except AppError as exc:
            error = message(request, exc)
        items: list[StoreOffers] = []
        more = False
        if point is not None:
            q = Near(
                point[0],
                point[1],
                RADIUS_M,
                category.value if category else None,
                limit=PAGE,
                offset=(page - 1) * PAGE,
            )
            items, more = await nearby(
                db_session, member_facts(member), q, at=now, zone=zone, program_id=program
            )
        lang = lang_of(request)
        return Template(
            "m/nearby.html",
            context=page_context(
                member_session,
                member,
                "nearby",
                items=items,
                more=more,
                page=page,
                near=near_ or "",
                district=district or "",
                district_name=full_name(district) if district else None,
                category=category.value if category else "",
                program=program,
                located=point is not None,
                error=error,
                offers={p.code: offer_text(p.benefit, lang) for o in items for p in o.usable},
                labels=_labels(),
                gcj={
                    o.store.store_id: wgs84_to_gcj02(o.store.latitude, o.store.longitude)
                    for o in items
                },
                tiles=state.settings.map_tile_url,
                datum=state.settings.map_datum,
            ),
            headers={"Cache-Control": "no-store"},
        )

    @get("/stores/{store_id:uuid}", media_type=MediaType.HTML)
    async def store_page(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        store_id: uuid.UUID,
    ) -> Any:
        member = await current_member(db_session, member_session)
        if member is None:
            return Redirect(AREA + "/")
        now, zone = utc_now(), ZoneInfo(state.settings.time_zone)
        found = await store_offers(db_session, member_facts(member), store_id, at=now, zone=zone)
        if found is None:
            raise NotFound("store_not_found", "未找到该门店", "Store not found")
        s = found.store
        return Template(
            "m/store.html",
            context=page_context(
                member_session,
                member,
                "nearby",
                o=found,
                # Our own photos: the page loads images from this site only (CSP img-src).
                photos=[u for u in s.photos if u.startswith("/")],
                closed_today=closure_today(s.hours, now, zone),
                nav=nav_links(s.latitude, s.longitude, s.name),
                offers={p.code: offer_text(p.benefit, lang_of(request)) for p in found.usable},
                labels=_labels(),
                amenity_labels=[
                    (AMENITY_LABELS_ZH[a], AMENITY_LABELS_EN[a]) for a in Amenity if s.amenities & a
                ],
            ),
            headers={"Cache-Control": "no-store"},
        )
