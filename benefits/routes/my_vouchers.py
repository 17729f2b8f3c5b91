"""HTTP: the member's voucher campaigns (with a countdown), claiming, and the wallet.

The claim route does not take the member as a dependency: it is given a loader (in
``voucher_claimant``, the host's port, with the admission store and the request's sign-in) and
calls it only once the admission store has let the request through, so the refusals of a
sold-out campaign never reach the database; the sign-in is checked by the claim, first, with
the session read in the admission's round trip.
"""

from __future__ import annotations

import uuid

from litestar import Controller, Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.engine.txn import utc_now
from benefits.errors import BenefitsError
from benefits.routes.voucher_schemas import (
    ApplyOut,
    ClaimIn,
    DrawOut,
    MyLotteries,
    OpenCampaigns,
    VoucherOut,
    Wallet,
    draw_out,
    my_lottery_out,
    open_campaign_out,
    voucher_out,
)
from benefits.rules.facts import MemberFacts
from benefits.vouchers.campaigns import published_campaigns
from benefits.vouchers.claims import Claimant, cached_campaign, check_member, claim, wallet
from benefits.vouchers.lottery import apply, member_draw_record, my_entries

NO_STORE = CacheControlHeader(no_store=True)


class MyVouchersController(Controller):
    path = "/api/v1/me/vouchers"
    tags = ["member: vouchers"]

    @get("/campaigns", summary="Campaigns open to me or opening soon", cache_control=NO_STORE)
    async def campaigns(
        self, db_session: AsyncSession, member_facts: SkipValidation[MemberFacts]
    ) -> OpenCampaigns:
        now = utc_now()
        items = []
        for c in await published_campaigns(db_session, after=now):
            try:
                check_member(c, member_facts, now)
            except BenefitsError:
                continue  # not offered; no reasons (they may be sensitive)
            items.append(open_campaign_out(c, now))
        return OpenCampaigns(now, items)

    @post(
        "/campaigns/{campaign_id:uuid}/claim",
        summary="Claim a voucher (201 new, 200 the same voucher for a retried request_id)",
        status_code=201,
        responses={
            200: ResponseSpec(
                data_container=VoucherOut, description="The voucher of an earlier attempt"
            )
        },
    )
    async def claim(
        self,
        voucher_claimant: SkipValidation[Claimant],
        campaign_id: uuid.UUID,
        data: ClaimIn,
    ) -> Response[VoucherOut]:
        c = voucher_claimant
        voucher, created = await claim(
            c.db,
            c.admission,
            campaign_id=campaign_id,
            request=data.request_id,
            member=c.member,
            at=utc_now(),
            sign_in=c.sign_in,
        )
        campaign = await cached_campaign(c.db(), campaign_id)
        return Response(voucher_out(voucher, campaign), status_code=201 if created else 200)

    @get("/", summary="My vouchers: value, expiry and status", cache_control=NO_STORE)
    async def mine(
        self, db_session: AsyncSession, member_facts: SkipValidation[MemberFacts]
    ) -> Wallet:
        return Wallet([voucher_out(v, c) for v, c in await wallet(db_session, member_facts.id)])

    @post(
        "/campaigns/{campaign_id:uuid}/apply",
        summary="Enter a lottery during its window (201 new, 200 already entered)",
        status_code=201,
        responses={200: ResponseSpec(data_container=ApplyOut, description="Already entered")},
    )
    async def apply(
        self,
        db_session: AsyncSession,
        member_facts: SkipValidation[MemberFacts],
        campaign_id: uuid.UUID,
    ) -> Response[ApplyOut]:
        pseudonym, new = await apply(db_session, campaign_id, member_facts, utc_now())
        return Response(ApplyOut(campaign_id, pseudonym), status_code=201 if new else 200)

    @get(
        "/campaigns/{campaign_id:uuid}/draw",
        summary="A lottery's published record",
        cache_control=NO_STORE,
    )
    async def draw(
        self,
        db_session: AsyncSession,
        member_facts: SkipValidation[MemberFacts],
        campaign_id: uuid.UUID,
    ) -> DrawOut:
        return draw_out(await member_draw_record(db_session, campaign_id, member_facts, utc_now()))

    @get(
        "/lotteries",
        summary="Lotteries I entered, with the result once drawn",
        cache_control=NO_STORE,
    )
    async def lotteries(
        self, db_session: AsyncSession, member_facts: SkipValidation[MemberFacts]
    ) -> MyLotteries:
        return MyLotteries(
            [my_lottery_out(e) for e in await my_entries(db_session, member_facts.id)]
        )
