"""A reversal and a confirmation of its month take turns on the statement row (PostgreSQL: two
real transactions), so that a reversal is netted in exactly one month's statement: the
confirmation waits for a reversal in flight and sees it; a reversal that waits for a
confirmation is booked into the next month."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.public import MerchantContext, confirm_statement, redeem, reverse
from tests.benefits.conftest import NOON, member, merchant, published

ZONE = "Asia/Shanghai"
JULY = datetime(2025, 7, 2, tzinfo=UTC)  # June 2025 has ended


async def _redeemed(
    engine: AsyncEngine, program_id: uuid.UUID, shop: MerchantContext, key: str
) -> uuid.UUID:
    async with engine.connect() as conn:
        done = await redeem(
            conn,
            member=member(),
            merchant=shop,
            program_ids=program_id,
            amount_fen=5000,
            idempotency_key=key,
            at=NOON,
        )
    return done.redemption_id


@pytest.mark.only_on("postgres")
async def test_confirmation_waits_for_a_reversal_in_flight(engine: AsyncEngine) -> None:
    p = await published(engine)
    shop = merchant()
    first = await _redeemed(engine, p.id, shop, "a")
    await _redeemed(engine, p.id, shop, "b")
    async with engine.connect() as rev, engine.connect() as conf:
        await rev.begin()
        done = await reverse(
            rev,
            redemption_id=first,
            merchant_id=shop.merchant_id,
            at=NOON + timedelta(hours=1),
            time_zone=ZONE,
        )
        assert done.booked_month == "2025-06"
        confirming = asyncio.create_task(
            confirm_statement(
                conf,
                merchant_id=shop.merchant_id,
                month="2025-06",
                time_zone=ZONE,
                by=None,
                at=JULY,
            )
        )
        await asyncio.sleep(0.5)
        assert not confirming.done()  # held by the reversal's lock on the month
        await rev.commit()
        state = await confirming
    assert state.figures is not None
    assert state.figures.totals.redemptions == 2 and state.figures.totals.count == 1


@pytest.mark.only_on("postgres")
async def test_a_reversal_waiting_for_a_confirmation_lands_next_month(engine: AsyncEngine) -> None:
    p = await published(engine)
    shop = merchant()
    first = await _redeemed(engine, p.id, shop, "a")
    async with engine.connect() as conf, engine.connect() as rev:
        await conf.begin()
        await confirm_statement(
            conf, merchant_id=shop.merchant_id, month="2025-06", time_zone=ZONE, by=None, at=JULY
        )
        reversing = asyncio.create_task(
            reverse(
                rev,
                redemption_id=first,
                merchant_id=shop.merchant_id,
                at=NOON + timedelta(hours=20),
                time_zone=ZONE,
            )
        )
        await asyncio.sleep(0.5)
        assert not reversing.done()
        await conf.commit()
        done = await reversing
    assert done.booked_month == "2025-07"
