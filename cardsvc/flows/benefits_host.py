"""What the benefits engine's routes are given by the host (``benefits.plugin``): the signed-in
member's facts, the org tree and member register for simulations, and the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.access import MemberRef
from benefits.routes.voucher_schemas import valid_claim
from benefits.rules.facts import MemberFacts, MerchantContext
from benefits.vouchers.claims import Claimant
from cardsvc.flows.member_benefits import coalesced_member_facts, member_facts
from cardsvc.kernel.audit import record
from cardsvc.kernel.errors import NotFound
from cardsvc.kernel.principal import Principal
from cardsvc.memberauth.sessions import MemberSession, PendingMemberSession
from cardsvc.members.models import Member
from cardsvc.orgs.models import Org
from merchants.public import point_of_sale


async def provide_member_facts(me: Member) -> MemberFacts:
    """Dependency ``member_facts``: the signed-in member as the benefits engine sees them."""
    return member_facts(me)


async def provide_voucher_member(
    member_session: MemberSession, db_session: AsyncSession
) -> Callable[[], Awaitable[MemberFacts]]:
    """Dependency ``voucher_member``: the signed-in member's facts, read when first asked for
    (the session itself comes from the session store, not the database)."""

    async def load() -> MemberFacts:
        facts = await coalesced_member_facts(db_session, member_session.phone_hash)
        if facts is None:
            raise NotFound("not_a_member", "您还不是会员，请先申请入会", "You are not a member yet")
        return facts

    return load


async def provide_voucher_claimant(request: Request[Any, Any, Any]) -> Claimant:
    """Dependency ``voucher_claimant``: the admission store, the request's sign-in, the loader
    of ``voucher_member`` and the request's ``db_session`` in one. Neither the session nor the
    database session is made here: the claim checks the sign-in first thing, reading the
    session in its peek's round trip (``PendingMemberSession``), and makes the database
    session (the one ``db_session`` gives, committed or dropped as for any route) only past
    the peek. One dependency, so that the claim route's resolve without a task group."""
    app = request.app
    state = app.state
    pending = PendingMemberSession(request, state)
    provide = app.dependencies["db_session"]  # the SQLAlchemy plugin's (state, scope) -> session
    db = partial(
        provide.dependency if isinstance(provide, Provide) else provide, state, request.scope
    )
    if not await _valid_claim_body(request):
        # Answered 400 after the dependencies: the sign-in answers first (401), as on every
        # route whose dependency reads the session; so here, for this rare request, it does.
        await pending.check()

    async def load() -> MemberFacts:
        if pending.session is None:  # the claim loads the member only once signed in
            raise RuntimeError("the member's facts asked for before the sign-in check")
        facts = await coalesced_member_facts(db(), pending.session.phone_hash)
        if facts is None:
            raise NotFound("not_a_member", "您还不是会员，请先申请入会", "You are not a member yet")
        return facts

    return Claimant(state.voucher_admission, load, pending, db)


async def _valid_claim_body(request: Request[Any, Any, Any]) -> bool:
    try:
        raw = await request.json()  # decoded before the dependencies already (kept on the request)
    except Exception:  # not JSON (another media type): Litestar answers for it, after us
        return False
    return valid_claim(raw)


async def provide_voucher_admission(state: State) -> Any:
    """Dependency ``voucher_admission``: the claim admission store made at start-up."""
    return state.voucher_admission


class BenefitsDirectory:
    """Org paths and members for the benefits staff API (``benefits.access.Directory``)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def org_path(self, org_id: uuid.UUID) -> str | None:
        return await self._session.scalar(select(Org.path).where(Org.id == org_id))

    async def find_member(
        self, *, member_id: uuid.UUID | None = None, member_no: str | None = None
    ) -> MemberRef | None:
        cond = Member.id == member_id if member_id is not None else Member.member_no == member_no
        m = await self._session.scalar(select(Member).where(cond))
        return MemberRef(m.member_no, member_facts(m)) if m is not None else None

    async def sample_members(self, org_path: str, limit: int) -> list[MemberRef]:
        rows = await self._session.scalars(
            select(Member)
            .where(Member.org_path.startswith(org_path, autoescape=True))
            .order_by(Member.member_no)
            .limit(limit)
        )
        return [MemberRef(m.member_no, member_facts(m)) for m in rows]

    async def point_of_sale(
        self, *, merchant_id: uuid.UUID | None, store_id: uuid.UUID | None
    ) -> MerchantContext | None:
        return await point_of_sale(self._session, merchant_id=merchant_id, store_id=store_id)


async def provide_benefits_directory(db_session: AsyncSession) -> BenefitsDirectory:
    return BenefitsDirectory(db_session)


async def provide_benefits_audit(staff: Principal, db_session: AsyncSession) -> Callable[..., None]:
    """Dependency ``benefits_audit``: audit rows in the request's transaction, as ``staff``."""

    def audit(
        action: str,
        target_type: str,
        target_id: uuid.UUID | str | None,
        org_path: str | None,
        summary: dict[str, Any] | None = None,
    ) -> None:
        record(
            db_session,
            staff,
            action,
            target_type=target_type,
            target_id=target_id,
            org_path=org_path,
            summary=summary,
        )

    return audit
