"""My benefits (what is left this period) and my redemption history."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, MediaType, Request, get
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.flows.member_benefits import my_benefits, my_history
from cardsvc.flows.member_savings import saved_this_year
from cardsvc.kernel.replicas import reading
from cardsvc.memberauth.sessions import MemberSession
from cardsvc.pages.errors import page_exception_handlers
from cardsvc.pages.i18n import Lang, lang_of, pick
from cardsvc.pages.member.common import AREA, current_member, page_context

HISTORY_PAGE = 20


def _yuan(fen: int) -> str:
    return f"¥{fen // 100}" if fen % 100 == 0 else f"¥{fen / 100:.2f}"


def offer_text(benefit: dict[str, Any], lang: Lang) -> str:
    """The programme's benefit in a few words: 九折,每次最多优惠 ¥30 / 10% off, at most ¥30."""
    kind = benefit.get("kind")
    if kind == "percent_off":
        bp = int(benefit.get("basis_points", 0))
        zhe = f"{(10000 - bp) / 1000:g}"
        text = pick(lang, f"{zhe} 折", f"{bp / 100:g}% off")
        if cap := benefit.get("cap_fen"):
            text += pick(lang, f"，每次最多优惠 {_yuan(cap)}", f", at most {_yuan(cap)}")
        return text
    if kind == "amount_off":
        off = _yuan(int(benefit.get("off_fen", 0)))
        return pick(lang, f"立减 {off}", f"{off} off")
    if kind == "fixed_price":
        price = _yuan(int(benefit.get("price_fen", 0)))
        return pick(lang, f"会员价 {price}", f"Member price {price}")
    if kind == "free_units":
        return pick(lang, "免费", "Free")
    if kind == "subsidy":
        each = _yuan(int(benefit.get("per_unit_fen", 0)))
        return pick(lang, f"每份补贴 {each}", f"{each} subsidy each")
    return ""


class MemberBenefitsController(Controller):
    path = AREA
    include_in_schema = False
    exception_handlers = page_exception_handlers

    @get("/benefits", media_type=MediaType.HTML)
    async def benefits_page(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
    ) -> Any:
        member = await current_member(db_session, member_session)
        if member is None:
            return Redirect(AREA + "/")
        # Only a current membership has benefits (the engine checks the status too).
        async with reading(state, db_session, member.id) as db:
            items = await my_benefits(db, member)
            savings = await saved_this_year(db, member, zone=state.settings.time_zone)
        return Template(
            "m/benefits.html",
            context=page_context(
                member_session,
                member,
                "benefits",
                items=items,
                savings=savings,
                offers={b.code: offer_text(b.benefit, lang_of(request)) for b in items},
            ),
            headers={"Cache-Control": "no-store"},
        )

    @get("/history", media_type=MediaType.HTML)
    async def history_page(
        self,
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        page: Annotated[int, Parameter(ge=1, le=1000)] = 1,
    ) -> Any:
        member = await current_member(db_session, member_session)
        if member is None:
            return Redirect(AREA + "/")
        async with reading(state, db_session, member.id) as db:
            rows = await my_history(
                db, member, limit=HISTORY_PAGE + 1, offset=(page - 1) * HISTORY_PAGE
            )
        return Template(
            "m/history.html",
            context=page_context(
                member_session,
                member,
                "history",
                rows=rows[:HISTORY_PAGE],
                page=page,
                has_more=len(rows) > HISTORY_PAGE,
            ),
        )
