"""My vouchers (消费券): campaigns open to me with a countdown, claiming (first come) or
entering the draw (lottery), my lotteries with their results, and my wallet with each
voucher's expiry and the stores where it is accepted.

The same domain functions as ``/api/v1/me/vouchers`` with the same dependencies. Each claim
button carries a request id made when the page was drawn, so a double tap (or a retry after a
lost answer) gets the same voucher, never a second one. The countdown runs in the browser from
the server's clock (milliseconds to the opening when the page was drawn), so a phone whose
clock is wrong still enables the button at the opening instant.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import State
from litestar.params import SkipValidation
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.engine.txn import utc_now
from benefits.errors import BenefitsError
from benefits.routes.voucher_schemas import describe_value, open_campaign_out, voucher_out
from benefits.rules.facts import MemberFacts
from benefits.vouchers.admission import Admission, epoch_ms
from benefits.vouchers.campaigns import published_campaigns
from benefits.vouchers.claims import check_member, claim, wallet
from benefits.vouchers.lottery import apply, my_entries
from cardsvc.flows.member_benefits import member_facts
from cardsvc.flows.voucher_stores import where_to_use
from cardsvc.memberauth.sessions import MemberSession
from cardsvc.pages.errors import page_exception_handlers
from cardsvc.pages.i18n import lang_of, pick
from cardsvc.pages.member.common import AREA, current_member, go, page_context


class MemberVouchersController(Controller):
    path = AREA
    include_in_schema = False
    exception_handlers = page_exception_handlers

    @get("/vouchers", media_type=MediaType.HTML)
    async def vouchers_page(
        self, state: State, db_session: AsyncSession, member_session: MemberSession
    ) -> Any:
        member = await current_member(db_session, member_session)
        if member is None:
            return Redirect(AREA + "/")
        facts, now = member_facts(member), utc_now()
        entries = await my_entries(db_session, facts.id)
        entered = {e.campaign.id: e for e in entries}
        offers = []
        for c in await published_campaigns(db_session, after=now):
            try:
                check_member(c, facts, now)
            except BenefitsError:
                continue
            offers.append(
                {
                    "c": open_campaign_out(c, now),
                    "key": uuid.uuid4().hex,
                    "opens_in_ms": max(0, epoch_ms(c.opens_at) - epoch_ms(now)),
                    "commitment": c.commitment,
                    "entry": entered.get(c.id),
                }
            )
        pairs = await wallet(db_session, facts.id)
        usable = [c for v, c in pairs if v.status == "active"]
        zone = ZoneInfo(state.settings.time_zone)
        where = await where_to_use(db_session, usable, at=now, zone=zone)
        mine = [(voucher_out(v, c), where.get(c.id)) for v, c in pairs]
        lotteries = [
            {"e": e, "value": describe_value(e.campaign)}
            for e in entries
            # Not among the offers any more: closed, drawn or called off.
            if e.campaign.closes_at <= now or e.campaign.drawn_at or e.campaign.status == "ended"
        ]
        return Template(
            "m/vouchers.html",
            context=page_context(
                member_session,
                member,
                "vouchers",
                offers=offers,
                mine=mine,
                lotteries=lotteries,
            ),
            headers={"Cache-Control": "no-store"},
        )

    @post("/vouchers/{campaign_id:uuid}/apply", status_code=200, media_type=MediaType.HTML)
    async def apply_lottery(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        member_session: MemberSession,
        campaign_id: uuid.UUID,
    ) -> Response[Any]:
        member = await current_member(db_session, member_session)
        if member is None:
            return go(request, AREA + "/")
        try:
            await apply(db_session, campaign_id, member_facts(member), utc_now())
        except BenefitsError as exc:
            return _refused(request, exc)
        return go(request, AREA + f"/vouchers?applied=1#c-{campaign_id}")

    @post("/vouchers/{campaign_id:uuid}/claim", status_code=200, media_type=MediaType.HTML)
    async def claim_voucher(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        voucher_admission: SkipValidation[Admission],
        voucher_member: SkipValidation[Callable[[], Awaitable[MemberFacts]]],
        campaign_id: uuid.UUID,
    ) -> Response[Any]:
        form = await request.form()
        key = str(form.get("request_id", ""))[:64]
        if len(key) < 8 or not key.isalnum():
            key = uuid.uuid4().hex
        try:
            await claim(
                db_session,
                voucher_admission,
                campaign_id=campaign_id,
                request=key,
                member=voucher_member,
                at=utc_now(),
            )
        except BenefitsError as exc:
            return _refused(request, exc)
        # A new query (not only a new fragment), so that the browser loads the page again.
        return go(request, AREA + "/vouchers?claimed=1#wallet")


def _refused(request: Request[Any, Any, Any], exc: BenefitsError) -> Response[Any]:
    text = pick(lang_of(request), exc.message_zh, exc.message_en)
    return Template(
        "m/_voucher_refused.html",
        context={"message": text, "code": exc.code},
        status_code=exc.status,
    )
