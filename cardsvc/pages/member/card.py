"""The card page: the rotating QR (refreshed by static/js/m-card.js), card number, union."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Annotated, Any

from litestar import Controller, MediaType, Response, get
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.cards import code128, minting, numeric, render, service
from cardsvc.cards.errors import CardError
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import NotFound
from cardsvc.kernel.kv import KVUnavailable
from cardsvc.kernel.problems import exception_handlers as api_exception_handlers
from cardsvc.kernel.settings import Settings
from cardsvc.memberauth.sessions import MemberSession
from cardsvc.members.models import MemberStatus
from cardsvc.orgs.service import find_org
from cardsvc.pages.errors import page_exception_handlers
from cardsvc.pages.member.common import AREA, current_member, page_context

# Codes fetched at once: the phone keeps showing a valid code this many refresh periods
# without network (a lift, a basement shop). Each costs one QR render (~10 ms).
OFFLINE_CODES = 6
NO_STORE = {"Cache-Control": "no-store"}  # tokens are credentials


def _svgs(texts: list[str]) -> list[str]:
    return [render.qr_svg(t, ecc=render.SCREEN_ECC) for t in texts]


async def _numbers(state: State, tokens: list[minting.MintedToken], now: datetime) -> list[str]:
    """One numeric one-time code per token (cardsvc.cards.numeric); none while the key store
    is down (the QR still works)."""
    try:
        return [await numeric.issue(state.kv, t.text, t.expires_at, now) for t in tokens]
    except KVUnavailable:
        return []


class MemberCardController(Controller):
    path = AREA
    include_in_schema = False
    exception_handlers = page_exception_handlers

    @get("/card", media_type=MediaType.HTML)
    async def card_page(
        self, state: State, db_session: AsyncSession, member_session: MemberSession
    ) -> Any:
        member = await current_member(db_session, member_session)
        if member is None:
            return Redirect(AREA + "/")
        settings: Settings = state.settings
        card, card_problem = None, ""
        try:
            card = await service.member_card(db_session, member_id=member.id)
        except CardError as exc:  # revoked (left, or replaced) or none issued yet
            card_problem = exc.code
        union = await find_org(db_session, member.org_id)
        return Template(
            "m/card.html",
            context=page_context(
                member_session,
                member,
                "card",
                card=card,
                card_problem=card_problem,
                card_number=_group(card.number) if card else "",
                union_name=union.name if union else "",
                left=member.status == MemberStatus.left,
                refresh_seconds=settings.card_token_refresh_seconds,
                loaded_at=utc_now(),  # the 核销成功 notice: redemptions after this moment
            ),
            headers=NO_STORE,
        )

    @get("/card/codes", exception_handlers=api_exception_handlers)
    async def codes(
        self,
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        count: Annotated[int, Parameter(ge=1, le=OFFLINE_CODES)] = OFFLINE_CODES,
    ) -> Response[dict[str, Any]]:
        """JSON for m-card.js: upcoming codes as SVG, with times relative to now (ms), so a
        phone whose clock is wrong still switches codes on time. Problem details on error
        (``card_suspended``, ``card_revoked``, 401), which the script shows as a message."""
        member = await current_member(db_session, member_session)
        if member is None:
            raise NotFound("not_a_member", "您还不是会员，请先申请入会", "You are not a member yet")
        settings: Settings = state.settings
        tokens = await minting.rotating_tokens_for_member(
            db_session,
            member_id=member.id,
            keyring=state.keyring,
            count=count,
            validity_seconds=settings.card_token_validity_seconds,
            refresh_seconds=settings.card_token_refresh_seconds,
        )
        svgs = await asyncio.to_thread(_svgs, [t.text for t in tokens])
        now = utc_now()
        numbers = await _numbers(state, tokens, now)

        def ms(at: datetime | None) -> int | None:
            # Floor division: codes a whole period apart stay exactly that many ms apart.
            return None if at is None else (at - now) // timedelta(milliseconds=1)

        return Response(
            {
                "codes": [
                    {
                        "svg": svg,
                        "starts_in": ms(t.not_before),
                        "refresh_in": ms(t.refresh_at),
                        "expires_in": ms(t.expires_at),
                        **_numeric_fields(numbers[i] if numbers else None),
                    }
                    for i, (t, svg) in enumerate(zip(tokens, svgs, strict=True))
                ],
                "refresh_seconds": settings.card_token_refresh_seconds,
            },
            headers=NO_STORE,
        )


def _numeric_fields(code: str | None) -> dict[str, str | None]:
    return {
        "number": numeric.grouped(code) if code else None,
        "barcode": code128.svg(code) if code else None,
    }


def _group(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
