"""HTTP: 附近 for the signed-in member: stores nearest a point, each with the programmes this
member can use there and what is left, from the same use case as the /m/nearby page
(:func:`cardsvc.flows.nearby.nearby`)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Request, get
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.public import MemberFacts, ProgramQuote, ProgramRefusal
from cardsvc.flows.member_benefits import member_facts_for_phone
from cardsvc.flows.nearby import StoreOffers, nearby
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.db import driver_connection, engine_of
from cardsvc.kernel.errors import NotFound
from cardsvc.memberauth.sessions import provide_member_session
from merchants.public import (
    MAX_RADIUS_M,
    MerchantCategory,
    Near,
    StoreCard,
    card,
    parse_near,
    to_mask,
)

NO_STORE = CacheControlHeader(no_store=True)


class RemainingOut(msgspec.Struct):
    """One of the member's own limits as it stands at this store (``None``: not counted)."""

    policy: str
    metric: str
    period: str
    period_ends_at: str | None
    limit: int
    remaining: int | None


class UsableOut(msgspec.Struct):
    program_id: uuid.UUID
    code: str
    name: str
    benefit: dict[str, object]
    limits: list[RemainingOut]


class NotNowOut(msgspec.Struct):
    program_id: uuid.UUID
    code: str
    name: str
    reason: str  # below_min_spend, quota_exhausted or budget_exhausted


class NearbyOffersOut(msgspec.Struct):
    store: StoreCard
    distance_m: int
    open_now: bool
    usable: list[UsableOut]
    with_min_spend: list[NotNowOut]
    used_up: list[NotNowOut]


class NearbyOffersPage(msgspec.Struct):
    items: list[NearbyOffersOut]
    limit: int
    offset: int
    has_more: bool


def _usable(p: ProgramQuote) -> UsableOut:
    # Only the member's own counters: programme-wide budgets stay server-side.
    limits = [
        RemainingOut(
            policy=s.policy,
            metric=s.metric,
            period=s.period,
            period_ends_at=s.period_ends_at.isoformat() if s.period_ends_at else None,
            limit=s.limit,
            remaining=s.remaining_before,
        )
        for s in p.limits
        if s.scope in ("member", "member_merchant") and not s.is_budget
    ]
    return UsableOut(p.program_id, p.code, p.name, dict(p.benefit), limits)


def _not_now(r: ProgramRefusal) -> NotNowOut:
    return NotNowOut(r.program_id, r.code, r.name, r.error_code)


def offers_out(o: StoreOffers) -> NearbyOffersOut:
    return NearbyOffersOut(
        store=card(o.store),
        distance_m=o.store.distance_m,
        open_now=o.store.open_now,
        usable=[_usable(p) for p in o.usable],
        with_min_spend=[_not_now(r) for r in o.with_min_spend],
        used_up=[_not_now(r) for r in o.used_up],
    )


@dataclass(frozen=True, slots=True)
class MyFacts:
    facts: MemberFacts
    pg: Any | None  # the asyncpg connection they were read on, held until the handler returns


async def provide_my_facts(
    request: Request[Any, Any, Any], state: State, db_session: AsyncSession
) -> AsyncIterator[MyFacts]:
    """Dependency ``my_facts``: the signed-in member as eligibility sees them, with ``me``'s
    answers (401 without a session, 404 ``not_a_member`` for an applicant), but read without
    loading the member or beginning a transaction on the session: this page only reads, and is
    hot. On PostgreSQL the driver's connection they were read on stays with the request, for
    the search (one checkout, not two). (The session is read here rather than as a dependency
    of its own, which Litestar would resolve beside ``db_session`` in a task group.)"""
    member_session = await provide_member_session(request, state)
    async with driver_connection(engine_of(db_session)) as pg:
        facts = await member_facts_for_phone(db_session, member_session.phone_hash, pg=pg)
        if facts is None:
            raise NotFound("not_a_member", "您还不是会员，请先申请入会", "You are not a member yet")
        yield MyFacts(facts, pg)


class MyNearbyController(Controller):
    path = "/api/v1/me/stores"
    tags = ["member: stores"]
    dependencies = {"my_facts": Provide(provide_my_facts)}

    @get(
        "/nearby",
        summary="Stores near me, nearest first, with what I can use at each and what is left",
        cache_control=NO_STORE,
    )
    async def nearby(
        self,
        my_facts: MyFacts,
        state: State,
        db_session: AsyncSession,
        near_: Annotated[str, Parameter(query="near", max_length=64)],
        radius_m: Annotated[int | None, Parameter(ge=1, le=MAX_RADIUS_M)] = None,
        category: MerchantCategory | None = None,
        open_now: bool = False,
        amenity: Annotated[list[str] | None, Parameter(max_items=8)] = None,
        program: uuid.UUID | None = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
        offset: Annotated[int, Parameter(ge=0, le=1000)] = 0,
    ) -> NearbyOffersPage:
        lat, lng = parse_near(near_)
        mask = to_mask("amenity", [a for raw in amenity or () for a in raw.split(",") if a])
        q = Near(
            lat, lng, radius_m, category.value if category else None, open_now, mask, limit, offset
        )
        zone = ZoneInfo(state.settings.time_zone)
        items, more = await nearby(
            db_session,
            my_facts.facts,
            q,
            at=utc_now(),
            zone=zone,
            program_id=program,
            pg=my_facts.pg,
        )
        return NearbyOffersPage([offers_out(o) for o in items], limit, offset, more)
