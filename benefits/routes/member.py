"""HTTP: the member's own benefits (what they can use now and what is left this period)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.datastructures import CacheControlHeader
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.engine.txn import utc_now
from benefits.public import member_benefits
from benefits.routes.schemas import MyBenefits, my_benefits_out
from benefits.rules.facts import MemberFacts

NO_STORE = CacheControlHeader(no_store=True)


class MyBenefitsController(Controller):
    path = "/api/v1/me/benefits"
    tags = ["member: benefits"]

    @get(
        "/", summary="Programmes I can use now and what is left this period", cache_control=NO_STORE
    )
    async def mine(
        self, db_session: AsyncSession, member_facts: SkipValidation[MemberFacts]
    ) -> MyBenefits:
        # Only the member's own counters are shown; programme-wide figures (budgets, other
        # members' use) stay server-side and only show as usable_now. No eligibility reasons.
        at = utc_now()
        items = await member_benefits(db_session, member=member_facts, at=at)
        return my_benefits_out(at, items)
