"""A campaign's admission state rebuilt from the database, the truth of its stock, slots and
member limits: for a cold or lost store (the first claim after a Redis restart), and for the
staff's reconcile. The claim (:mod:`benefits.vouchers.claims`) rebuilds and asks again."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import cast

from sqlalchemy import Table, delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.vouchers.admission import Admission, Snapshot, epoch_ms
from benefits.vouchers.models import Campaign, CampaignStatus, Voucher, VoucherSlot

_C = cast(Table, Campaign.__table__)
_V = cast(Table, Voucher.__table__)
_S = cast(Table, VoucherSlot.__table__)
REBUILD_LOCK_SECONDS = 10


async def snapshot(db: AsyncSession, campaign_id: uuid.UUID) -> Snapshot | None:
    """The admission state the database implies; None for a draft (nobody may claim)."""
    conn = await db.connection()
    c = (await conn.execute(select(_C).where(_C.c.id == campaign_id))).first()
    if c is None or str(c.status) == CampaignStatus.draft or str(c.mode) == "lottery":
        return None  # nobody claims these: drafts, and lotteries (they apply and are drawn)
    # The slots first: a slot and its voucher are committed together, so a slot whose voucher
    # the later read does not find has none (a stale admission's twin left it): give it back.
    slots = (
        await conn.execute(
            select(_S.c.slot, _S.c.voucher_id).where(_S.c.campaign_id == campaign_id)
        )
    ).all()
    rows = (
        await conn.execute(
            select(_V.c.id, _V.c.slot, _V.c.member_id, _V.c.nth, _V.c.request_key).where(
                _V.c.campaign_id == campaign_id
            )
        )
    ).all()
    held = {r.id for r in rows}
    if orphans := [(campaign_id, s.slot, s.voucher_id) for s in slots if s.voucher_id not in held]:
        await conn.execute(
            delete(_S).where(tuple_(*_S.c["campaign_id", "slot", "voucher_id"]).in_(orphans))
        )
        await db.commit()
    # A voucher that gave its slot back (lapsed, restocked) holds no slot and answers no retry.
    used = {r.slot for r in rows if r.slot is not None}
    next_slot = max(used) + 1 if used else 0
    members: Counter[str] = Counter()
    for r in rows:  # the highest nth + 1: the next nth never collides with a row
        members[r.member_id.hex] = max(members[r.member_id.hex], r.nth + 1)
    closes = c.closes_at if str(c.status) == CampaignStatus.published else c.opens_at
    return Snapshot(
        opens_ms=epoch_ms(c.opens_at),
        closes_ms=epoch_ms(closes),
        stock=c.stock,
        per_member=c.per_member,
        next_slot=next_slot,
        free=[s for s in range(min(next_slot, c.stock)) if s not in used],
        members=dict(members),
        requests={r.request_key: f"{r.slot}:{r.nth}" for r in rows if r.slot is not None},
    )


async def rebuild(db: AsyncSession, admission: Admission, campaign_id: uuid.UUID) -> bool:
    """Load the admission state from the database (the staff's reconcile, a cold store).
    False if another worker holds the rebuild lock (it is rebuilding the same)."""
    key = campaign_id.hex
    if not await admission.lock(key, REBUILD_LOCK_SECONDS):
        return False
    try:
        snap = await snapshot(db, campaign_id)
        if snap is None:
            await admission.forget(key)
        else:
            await admission.load(key, snap)
    finally:
        await admission.unlock(key)
    return True
