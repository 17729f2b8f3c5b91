"""Card HTTP API: the member's own card and QR, staff card management, public verification
material (JWKS, signed revocation list). Handlers stay thin: the work is in :mod:`.service`.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.cards import manage, minting, render, service
from cardsvc.cards.keys import KeyRing
from cardsvc.cards.models import Card, CardStatus
from cardsvc.cards.operations import (
    PRINTABLE_OPERATION,
    PUBLISHED_OPERATION,
    QR_OPERATION,
    STATUS_LIST_OPERATION,
)
from cardsvc.cards.published import JWKS_MEDIA_TYPE, STATUS_LIST_PATH, PublishedCache
from cardsvc.cards.schemas import (
    NO_STORE,
    CardOut,
    IssueIn,
    JwksOut,
    MemberCardsOut,
    MyCardOut,
    ReasonIn,
    StaticTokenOut,
    TokenBatchOut,
    TokenOut,
    card_out,
    event_out,
    published_response,
    token_headers,
    token_out,
)
from cardsvc.cards.statuslist import MEDIA_TYPE as STATUS_LIST_MEDIA_TYPE
from cardsvc.kernel.masking import mask_card_number
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.settings import Settings
from cardsvc.members.models import Member
from cardsvc.orgs.models import Org

MAX_TOKEN_BATCH = 20  # ten minutes of 30-second codes: enough for a lift or a basement shop


# --- member: my card ------------------------------------------------------------------------


async def _rotating(
    db_session: AsyncSession, state: State, me: Member, count: int
) -> list[minting.MintedToken]:
    settings: Settings = state.settings
    return await minting.rotating_tokens_for_member(
        db_session,
        member_id=me.id,
        keyring=state.keyring,
        count=count,
        validity_seconds=settings.card_token_validity_seconds,
        refresh_seconds=settings.card_token_refresh_seconds,
    )


class MyCardController(Controller):
    path = "/api/v1/me/card"
    tags = ["member: card"]

    @get("/", summary="My membership card (full number, status, union)")
    async def card(self, me: Member, db_session: AsyncSession) -> MyCardOut:
        card = await service.member_card(db_session, member_id=me.id)
        union = await db_session.scalar(select(Org.name).where(Org.id == me.org_id))
        return MyCardOut(
            number=card.number,
            number_masked=mask_card_number(card.number),
            status=card.status,
            generation=card.generation,
            issued_at=card.issued_at,
            status_reason=card.status_reason,
            member_no=me.member_no,
            member_name=me.name,
            union_name=union or "",
        )

    @get("/token", summary="A fresh rotating QR token (valid 60 s; show the next at refresh_at)")
    async def token(self, me: Member, state: State, db_session: AsyncSession) -> Response[TokenOut]:
        [t] = await _rotating(db_session, state, me, 1)
        return Response(token_out(t), headers=NO_STORE)

    @get("/tokens", summary="Upcoming rotating tokens, to keep showing a valid code offline")
    async def tokens(
        self,
        me: Member,
        state: State,
        db_session: AsyncSession,
        count: Annotated[
            int, Parameter(ge=1, le=MAX_TOKEN_BATCH, description=f"1–{MAX_TOKEN_BATCH}")
        ] = 10,
    ) -> Response[TokenBatchOut]:
        batch = await _rotating(db_session, state, me, count)
        settings: Settings = state.settings
        out = TokenBatchOut(
            tokens=[token_out(t) for t in batch],
            refresh_seconds=settings.card_token_refresh_seconds,
            validity_seconds=settings.card_token_validity_seconds,
            valid_until=batch[-1].expires_at,
        )
        return Response(out, headers=NO_STORE)

    @get(
        "/qr.png",
        summary="A fresh rotating token as a QR image (PNG, ECC M)",
        media_type="image/png",
        operation_class=QR_OPERATION,
    )
    async def qr_png(self, me: Member, state: State, db_session: AsyncSession) -> Response[bytes]:
        [t] = await _rotating(db_session, state, me, 1)
        png = await asyncio.to_thread(render.qr_png, t.text, ecc=render.SCREEN_ECC)
        return Response(png, media_type="image/png", headers=token_headers(t))

    @get(
        "/qr.svg",
        summary="A fresh rotating token as a QR image (SVG, ECC M)",
        media_type="image/svg+xml",
        operation_class=QR_OPERATION,
    )
    async def qr_svg(self, me: Member, state: State, db_session: AsyncSession) -> Response[str]:
        [t] = await _rotating(db_session, state, me, 1)
        svg = render.qr_svg(t.text, ecc=render.SCREEN_ECC)
        return Response(svg, media_type="image/svg+xml", headers=token_headers(t))


# --- staff: a member's cards ----------------------------------------------------------------


class MemberCardController(Controller):
    path = "/api/v1/members/{member_id:uuid}/cards"
    tags = ["staff: cards"]

    async def _done(
        self,
        db_session: AsyncSession,
        state: State,
        staff: Principal,
        member: Member,
        card: Card,
        action: str,
        **summary: Any,
    ) -> CardOut:
        """Audit, commit, then drop this worker's cached revocation list (after the commit,
        so that a concurrent request cannot cache the list from before the change)."""
        manage.audit_card(db_session, staff, member, card, action, **summary)
        out = card_out(card)
        await db_session.commit()
        state.published.invalidate()
        return out

    @get("/", summary="A member's cards (every generation) and their history")
    async def list_cards(
        self, staff: Principal, db_session: AsyncSession, member_id: uuid.UUID
    ) -> MemberCardsOut:
        member = await manage.card_member(db_session, staff, member_id, write=False)
        cards = await service.member_cards(db_session, member_id=member.id)
        history = await service.card_history(db_session, member_id=member.id)
        current = next((c for c in cards if c.status != CardStatus.revoked), None)
        return MemberCardsOut(
            member_id=member.id,
            current=card_out(current) if current else None,
            cards=[card_out(c) for c in cards],
            history=[event_out(e) for e in history],
        )

    @post("/", summary="Issue a card to an active member who has none (e.g. after a revocation)")
    async def issue(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        member_id: uuid.UUID,
        data: IssueIn | None = None,
    ) -> CardOut:
        member = await manage.card_member(db_session, staff, member_id, write=True)
        reason = manage.card_reason(data.reason) if data and data.reason is not None else None
        card = await service.issue_card(
            db_session, member_id=member.id, actor=manage.staff_actor(staff), reason=reason
        )
        return await self._done(db_session, state, staff, member, card, "issue", reason=reason)

    @post(
        "/reissue",
        summary="Replace the current card (lost phone or card): new generation, old one revoked",
    )
    async def reissue(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        member_id: uuid.UUID,
        data: ReasonIn,
    ) -> CardOut:
        card = await manage.reissue_for_staff(db_session, staff, member_id, data.reason)
        out = card_out(card)
        await db_session.commit()
        state.published.invalidate()
        return out

    async def _change(
        self,
        action: str,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        member_id: uuid.UUID,
        card_id: uuid.UUID,
        data: ReasonIn,
    ) -> CardOut:
        member = await manage.card_member(db_session, staff, member_id, write=True)
        card = await manage.card_of(db_session, member, card_id)
        reason = manage.card_reason(data.reason)
        change = {
            "suspend": service.suspend_card,
            "resume": service.resume_card,
            "revoke": service.revoke_card,
        }[action]
        await change(db_session, card_id=card.id, reason=reason, actor=manage.staff_actor(staff))
        return await self._done(db_session, state, staff, member, card, action, reason=reason)

    @post(
        "/{card_id:uuid}/suspend",
        summary="Suspend a card (挂失): refused until resumed",
        status_code=200,
    )
    async def suspend(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        member_id: uuid.UUID,
        card_id: uuid.UUID,
        data: ReasonIn,
    ) -> CardOut:
        return await self._change("suspend", staff, state, db_session, member_id, card_id, data)

    @post("/{card_id:uuid}/resume", summary="Resume a suspended card", status_code=200)
    async def resume(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        member_id: uuid.UUID,
        card_id: uuid.UUID,
        data: ReasonIn,
    ) -> CardOut:
        return await self._change("resume", staff, state, db_session, member_id, card_id, data)

    @post("/{card_id:uuid}/revoke", summary="Revoke a card for good", status_code=200)
    async def revoke(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        member_id: uuid.UUID,
        card_id: uuid.UUID,
        data: ReasonIn,
    ) -> CardOut:
        return await self._change("revoke", staff, state, db_session, member_id, card_id, data)

    @post(
        "/{card_id:uuid}/static-token",
        summary="A long-lived static token for a printed card (audited)",
        status_code=200,
    )
    async def static_token(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        member_id: uuid.UUID,
        card_id: uuid.UUID,
    ) -> Response[StaticTokenOut]:
        settings: Settings = state.settings
        member = await manage.card_member(db_session, staff, member_id, write=True)
        card = await manage.card_of(db_session, member, card_id)
        t = await minting.static_token_for_card(
            db_session,
            card_id=card.id,
            keyring=state.keyring,
            validity_days=settings.card_static_validity_days,
        )
        manage.audit_static(db_session, staff, member, card, "static_token", t)
        out = StaticTokenOut(card.id, card.number, t.text, t.kind.name, t.not_before, t.expires_at)
        return Response(out, headers=NO_STORE)

    @post(
        "/{card_id:uuid}/printable",
        summary="The printable card image (PNG, 300 dpi, QR at ECC Q) with a new static token",
        status_code=200,
        media_type="image/png",
        operation_class=PRINTABLE_OPERATION,
    )
    async def printable(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        member_id: uuid.UUID,
        card_id: uuid.UUID,
    ) -> Response[bytes]:
        printed = await manage.print_for_staff(
            db_session,
            staff,
            member_id,
            card_id,
            keyring=state.keyring,
            settings=state.settings,
        )
        headers = {
            **token_headers(printed.token),
            "Content-Disposition": f'attachment; filename="card-{printed.card_number}.png"',
        }
        return Response(printed.png, media_type="image/png", headers=headers)


# --- public verification material -----------------------------------------------------------


class PublicCardController(Controller):
    path = "/"
    tags = ["public: card verification"]

    @get(
        "/.well-known/jwks.json",
        operation_class=PUBLISHED_OPERATION,
        summary="Public keys that verify card tokens and revocation lists (JWKS, Ed25519)",
        # The body is pre-serialised bytes (cached with its ETag); document what they hold.
        responses={
            200: ResponseSpec(
                data_container=JwksOut,
                media_type=JWKS_MEDIA_TYPE,
                description="JWKS",
                generate_examples=False,
            )
        },
    )
    async def jwks(
        self, request: Request[Any, Any, Any], state: State, read_session: AsyncSession
    ) -> Response[bytes]:
        cache: PublishedCache = state.published
        doc = await cache.jwks(read_session)
        # Short: a rotated key starts signing within a minute (KeyRing refresh); the ETag makes
        # revalidation cheap.
        return published_response(request, doc, JWKS_MEDIA_TYPE, max_age=60)

    @get(
        STATUS_LIST_PATH,
        summary="The signed revocation list (status list JWT, one bit per card)",
        description=(
            "`application/statuslist+jwt`, signed with a key of the JWKS; `iat` (also sent as "
            "Last-Modified) says how fresh it is, `ttl` when to fetch again, `exp` when to stop "
            "trusting it. See docs/token-format.md."
        ),
        media_type=STATUS_LIST_MEDIA_TYPE,
        operation_class=STATUS_LIST_OPERATION,
    )
    async def revocations(
        self, request: Request[Any, Any, Any], state: State, read_session: AsyncSession
    ) -> Response[bytes]:
        settings: Settings = state.settings
        cache: PublishedCache = state.published
        keyring: KeyRing = state.keyring
        doc = await cache.status_list(
            read_session,
            keyring=keyring,
            ttl_seconds=settings.card_status_list_ttl_seconds,
            valid_for_seconds=settings.card_status_list_valid_seconds,
            subject=settings.public_url.rstrip("/") + STATUS_LIST_PATH,
        )
        max_age = max(0, settings.card_publish_cache_seconds)
        return published_response(request, doc, STATUS_LIST_MEDIA_TYPE, max_age=max_age)
