"""A voucher's life after the claim: it lapses when it expires unused, and its member is told
of a lottery win and, ahead of time, of the coming expiry.

* ``lapse_expired``: active vouchers past ``expires_at`` become ``expired`` with a conditional
  UPDATE (``status = 'active'`` in its WHERE), so however many workers run it, a voucher lapses
  once. Where the campaign restocks (``restock_expired``) the same UPDATE gives the slot back
  (``slot`` NULL) and its ``voucher_slot`` row is deleted in the same transaction: the unique
  (campaign, slot) then lets the slot be claimed once more, and the
  insert's ``slot < stock`` keeps the campaign at its stock. The member's ``nth`` stays, so the
  lapsed voucher still counts towards the member's limit.
* ``notify_due``: each message is claimed with a conditional UPDATE of ``won_notified_at`` or
  ``expiry_notified_at`` in the transaction that writes it, so a member is told once.

The host writes the messages (``Notify``): benefits knows no inbox.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.vouchers.models import Campaign, CampaignMode, Voucher, VoucherSlot, VoucherStatus

_C = cast(Table, Campaign.__table__)
_V = cast(Table, Voucher.__table__)
_S = cast(Table, VoucherSlot.__table__)
BATCH = 500


class Notify(Protocol):
    """Writes one message to a member's inbox, in the caller's transaction."""

    def __call__(
        self, member_id: uuid.UUID, *, title: str, title_en: str, body: str, voucher_id: uuid.UUID
    ) -> None: ...


@dataclass(slots=True)
class Lapsed:
    expired: int = 0
    restocked: Counter[uuid.UUID] = field(default_factory=Counter)  # campaign → slots back


async def _lapse_batch(db: AsyncSession, now: datetime, restock: bool) -> list[Any]:
    restocking = select(_C.c.id).where(_C.c.restock_expired.is_(restock))
    conn = await db.connection()
    due = (
        await conn.execute(
            select(_V.c.id, _V.c.campaign_id, _V.c.slot)
            .where(
                _V.c.status == VoucherStatus.active,
                _V.c.expires_at <= now,
                _V.c.campaign_id.in_(restocking),
            )
            .limit(BATCH)
        )
    ).all()
    if not due:
        return []
    values: dict[str, Any] = {"status": VoucherStatus.expired}
    if restock:
        values["slot"] = None
    lapsed = (
        await conn.execute(
            update(_V)
            .where(_V.c.id.in_([r.id for r in due]), _V.c.status == VoucherStatus.active)
            .values(**values)
            .returning(_V.c.id, _V.c.campaign_id)
        )
    ).all()
    if restock:  # the slots go back: their voucher_slot rows with them, in this transaction
        ids = {r.id for r in lapsed}
        held = [(r.campaign_id, r.slot, r.id) for r in due if r.id in ids and r.slot is not None]
        if held:
            await conn.execute(
                delete(_S).where(tuple_(_S.c.campaign_id, _S.c.slot, _S.c.voucher_id).in_(held))
            )
    return [r.campaign_id for r in lapsed]


async def lapse_expired(db: AsyncSession, *, now: datetime) -> Lapsed:
    """Lapse the vouchers that expired unused by ``now`` (in the caller's transaction)."""
    out = Lapsed()
    for restock in (False, True):
        while True:
            campaigns = await _lapse_batch(db, now, restock)
            out.expired += len(campaigns)
            if restock:
                out.restocked.update(campaigns)
            if len(campaigns) < BATCH:
                break
    return out


async def _names(db: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    conn = await db.connection()
    rows = await conn.execute(select(_C.c.id, _C.c.name).where(_C.c.id.in_(ids)))
    return {r.id: r.name for r in rows}


def _when(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%m月%d日 %H:%M")


async def _claim_messages(
    db: AsyncSession, marker: str, now: datetime, *conditions: Any
) -> list[Any]:
    """Mark up to a batch of vouchers as told (``marker``); the rows this worker marked."""
    now_col = _V.c[marker]
    due = select(_V.c.id).where(now_col.is_(None), *conditions).limit(BATCH)
    conn = await db.connection()
    result = await conn.execute(
        update(_V)
        .where(_V.c.id.in_(due), now_col.is_(None))
        .values({marker: now})
        .returning(_V.c.id, _V.c.member_id, _V.c.campaign_id, _V.c.expires_at)
    )
    return list(result.all())


async def _tell(
    db: AsyncSession, marker: str, now: datetime, conditions: list[Any], message: Any
) -> int:
    """Claim and write the messages of one kind, a batch at a time; how many."""
    sent = 0
    while True:
        rows = await _claim_messages(db, marker, now, *conditions)
        names = await _names(db, {r.campaign_id for r in rows})
        for r in rows:
            message(r, names.get(r.campaign_id, ""))
        sent += len(rows)
        if len(rows) < BATCH:
            return sent


async def notify_due(
    db: AsyncSession, *, now: datetime, ahead: timedelta, time_zone: str, notify: Notify
) -> int:
    """Tell members of lottery wins and of vouchers expiring within ``ahead`` (0: not at all);
    the number of messages (in the caller's transaction)."""
    zone = ZoneInfo(time_zone)
    lotteries = select(_C.c.id).where(_C.c.mode == CampaignMode.lottery)
    active = _V.c.status == VoucherStatus.active

    def won(r: Any, name: str) -> None:
        notify(
            r.member_id,
            title=f"消费券中签：{name}",
            title_en=f"You won a voucher: {name}",
            body=f"恭喜您中签！消费券已放入“我的消费券”，{_when(r.expires_at, zone)} 前有效。",
            voucher_id=r.id,
        )

    def expiring(r: Any, name: str) -> None:
        notify(
            r.member_id,
            title=f"消费券即将到期：{name}",
            title_en=f"Voucher expiring soon: {name}",
            body=f"您的消费券将于 {_when(r.expires_at, zone)} 到期，请尽快使用。",
            voucher_id=r.id,
        )

    sent = await _tell(db, "won_notified_at", now, [active, _V.c.campaign_id.in_(lotteries)], won)
    if ahead > timedelta(0):
        soon = [active, _V.c.expires_at > now, _V.c.expires_at <= now + ahead]
        sent += await _tell(db, "expiry_notified_at", now, soon, expiring)
    return sent
