"""Claiming a voucher: fast admission in front, the database row as the truth behind it.

The order of a claim (``claim``):

1. ``peek`` the admission store with the request key only: a closed, not yet open or sold-out
   campaign is refused there, without the database (what most of a storm gets once it is gone);
   a request admitted before is recognised (a retry).
2. Load the member (the host's port) and the campaign; check eligibility with the programmes'
   own rules (``benefits.rules.eligibility``).
3. ``admit``: window, member limit and stock in one atomic step; a slot and the member's nth.
4. Insert the voucher row, guarded by the database: the campaign must be published, ``slot <
   stock`` and ``nth < per_member`` against the campaign row, and the unique (campaign, slot),
   (campaign, member, nth), (campaign, request key). Committed before the answer, so a 201
   always has its row.

When the admission state is missing (Redis restarted or flushed, a new worker of the embedded
mode) it is rebuilt from the vouchers in the database (``rebuild``, also the staff's
"reconcile"); an admission that the database refuses (stale state) is dropped and the member is
asked to retry, so no state of the admission store can ever oversell.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7 as _new_id

from benefits.errors import BenefitsError, NotEligible
from benefits.rules.eligibility import check_eligibility, in_subtree
from benefits.rules.facts import MemberFacts
from benefits.rules.periods import local_date, zone
from benefits.vouchers.admission import Admission, AdmissionUnavailable, Snapshot, Verdict
from benefits.vouchers.campaigns import CampaignView, campaign_not_found, get_campaign
from benefits.vouchers.models import Campaign, CampaignStatus, Voucher, VoucherStatus
from benefits.vouchers.terms import Terms

_C = cast(Table, Campaign.__table__)
_V = cast(Table, Voucher.__table__)
ZONE = "Asia/Shanghai"
REBUILD_LOCK_SECONDS = 10
REBUILD_WAIT_SECONDS = 3.0


class ClaimRefused(BenefitsError):
    status = 409


_REFUSALS = {
    "not_open": ("voucher_not_open", "活动尚未开始，请稍后再来", "The claim window has not opened"),
    "closed": ("voucher_closed", "活动已结束", "The claim window has closed"),
    "sold_out": ("voucher_sold_out", "消费券已抢完", "All vouchers have been claimed"),
    "limit": ("voucher_limit", "您已领满本活动的消费券", "You have claimed all you may"),
}


def refusal(outcome: str) -> ClaimRefused:
    code, zh, en = _REFUSALS[outcome]
    return ClaimRefused(code, zh, en)


class ClaimBusy(BenefitsError):
    """The admission store is down or being rebuilt, or gave a stale answer: try again."""

    status = 503
    code = "voucher_busy"
    message_zh = "领取人数较多，请稍后重试"
    message_en = "Too many claims right now, please retry"

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "1"})


@dataclass(frozen=True, slots=True)
class VoucherView:
    id: uuid.UUID
    campaign_id: uuid.UUID
    member_id: uuid.UUID
    status: str
    claimed_at: datetime
    expires_at: datetime
    used_at: datetime | None


def _voucher(row: Any) -> VoucherView:
    return VoucherView(
        row.id,
        row.campaign_id,
        row.member_id,
        str(row.status),
        row.claimed_at,
        row.expires_at,
        row.used_at,
    )


def epoch_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


async def snapshot(db: AsyncSession, campaign_id: uuid.UUID) -> Snapshot | None:
    """The admission state the database implies; None for a draft (nobody may claim)."""
    conn = await db.connection()
    c = (await conn.execute(select(_C).where(_C.c.id == campaign_id))).first()
    if c is None or str(c.status) == CampaignStatus.draft or str(c.mode) == "lottery":
        return None  # nobody claims these: drafts, and lotteries (they apply and are drawn)
    rows = (
        await conn.execute(
            select(_V.c.slot, _V.c.member_id, _V.c.nth, _V.c.request_key).where(
                _V.c.campaign_id == campaign_id
            )
        )
    ).all()
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


async def _warm(
    db: AsyncSession,
    admission: Admission,
    campaign_id: uuid.UUID,
    ask: Callable[[], Awaitable[Verdict]],
) -> Verdict:
    """``ask`` again after rebuilding a cold store (or waiting for another worker's rebuild)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REBUILD_WAIT_SECONDS
    verdict = await ask()
    while verdict.outcome == "cold":
        if loop.time() > deadline:
            raise ClaimBusy()
        if not await rebuild(db, admission, campaign_id):
            await asyncio.sleep(0.05)
        elif (await ask()).outcome == "cold":  # still cold after loading: nothing to claim
            campaign = await get_campaign(db, campaign_id)
            if campaign.mode == "lottery" and campaign.status != "draft":
                raise ClaimRefused(
                    "voucher_lottery", "本活动以抽签方式发放，请报名", "This campaign is a lottery"
                )
            raise campaign_not_found(campaign_id)
        verdict = await ask()
    return verdict


# Campaigns read on the claim path, for a few seconds: their terms never change once published,
# and the insert re-checks the status and bounds against the row itself.
_CACHE_SECONDS = 5.0
_cache: dict[uuid.UUID, tuple[float, CampaignView, Terms]] = {}


async def cached_campaign(db: AsyncSession, campaign_id: uuid.UUID) -> CampaignView:
    now = time.monotonic()
    hit = _cache.get(campaign_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    c = await get_campaign(db, campaign_id)
    if len(_cache) > 1000:
        _cache.clear()
    _cache[campaign_id] = (now + _CACHE_SECONDS, c, c.parsed)
    return c


def terms_of(campaign: CampaignView) -> Terms:
    hit = _cache.get(campaign.id)
    return hit[2] if hit is not None and hit[1] is campaign else campaign.parsed


def check_member(campaign: CampaignView, member: MemberFacts, at: datetime) -> None:
    """Eligibility by the programmes' rules. Outside the owner's subtree the campaign does not
    exist for the member (not found, as for staff of another subtree)."""
    if not in_subtree(member.org_path, campaign.owner_org_path):
        raise campaign_not_found(campaign.id)
    terms = terms_of(campaign)
    reasons = check_eligibility(
        terms.eligibility,
        owner_org_path=campaign.owner_org_path,
        member=member,
        on=local_date(at, zone(ZONE)),
    )
    if reasons:
        raise NotEligible(reasons)


def _insert(conn_dialect: str, values: dict[str, Any], slot: int, nth: int) -> Any:
    """INSERT … SELECT from the campaign row, so its bounds are checked in the same statement."""
    source = select(*[literal(v, _V.c[k].type).label(k) for k, v in values.items()]).where(
        and_(
            _C.c.id == values["campaign_id"],
            _C.c.status == CampaignStatus.published,
            _C.c.stock > slot,
            _C.c.per_member > nth,
        )
    )
    dialect = postgresql if conn_dialect == "postgresql" else sqlite
    stmt = dialect.insert(_V).from_select(list(values), source)
    return stmt.on_conflict_do_nothing().returning(_V.c.id)


async def _store(
    db: AsyncSession,
    campaign: CampaignView,
    member: MemberFacts,
    request: str,
    v: Verdict,
    at: datetime,
) -> tuple[VoucherView | None, bool]:
    """(voucher, created); (None, False) when the database refused the admission."""
    conn = await db.connection()
    expires = terms_of(campaign).expiry(at)
    values: dict[str, Any] = {
        "id": _new_id(),
        "campaign_id": campaign.id,
        "member_id": member.id,
        "slot": v.slot,
        "nth": v.nth,
        "request_key": request,
        "status": VoucherStatus.active.value,
        "claimed_at": at,
        "expires_at": expires,
    }
    new_id = (await conn.execute(_insert(conn.dialect.name, values, v.slot, v.nth))).scalar()
    if new_id is not None:  # the usual case: no need to read back what was just written
        await db.commit()
        return VoucherView(new_id, campaign.id, member.id, "active", at, expires, None), True
    row = (
        await conn.execute(
            select(_V).where(_V.c.campaign_id == campaign.id, _V.c.request_key == request)
        )
    ).first()
    await db.commit()
    if row is None or row.member_id != member.id:
        return None, False
    return _voucher(row), new_id is not None


async def claim(
    db: AsyncSession,
    admission: Admission,
    *,
    campaign_id: uuid.UUID,
    request: str,
    member: Callable[[], Awaitable[MemberFacts]],
    at: datetime,
) -> tuple[VoucherView, bool]:
    """Claim one voucher; (voucher, created). A retry with the same request key returns the
    same voucher with created False. Refusals raise ClaimRefused, NotEligible or ClaimBusy."""
    key, now = campaign_id.hex, epoch_ms(at)
    try:
        first = await _warm(db, admission, campaign_id, lambda: admission.peek(key, now, request))
        if first.outcome in _REFUSALS:
            raise refusal(first.outcome)
        facts = await member()
        campaign = await cached_campaign(db, campaign_id)
        check_member(campaign, facts, at)
        mid = facts.id.hex
        v = await _warm(db, admission, campaign_id, lambda: admission.admit(key, now, mid, request))
    except AdmissionUnavailable:
        raise ClaimBusy() from None
    if v.outcome in _REFUSALS:
        raise refusal(v.outcome)
    try:
        voucher, created = await _store(db, campaign, facts, request, v, at)
    except (IntegrityError, DBAPIError, OSError):
        await db.rollback()
        await _release(admission, key, mid, request, v.slot if v.outcome == "ok" else None)
        raise
    if voucher is None:
        # The database refused what the store admitted (stale after a loss): drop the slot.
        await _release(admission, key, mid, request, None)
        raise ClaimBusy()
    if not created and v.outcome == "ok":
        # The row existed (an earlier attempt committed, its admission was lost): give back.
        await _release(admission, key, mid, request, v.slot)
    return voucher, created


async def _release(
    admission: Admission, key: str, member: str, request: str, slot: int | None
) -> None:
    # If the store is gone, its rebuild counts from the database.
    with contextlib.suppress(AdmissionUnavailable):
        await admission.release(key, member, request, slot)


async def wallet(db: AsyncSession, member_id: uuid.UUID) -> list[tuple[VoucherView, CampaignView]]:
    """The member's vouchers with their campaigns, newest first."""
    conn = await db.connection()
    rows = (
        await conn.execute(
            select(_V, _C.c.code.label("c_code"))
            .join(_C, _C.c.id == _V.c.campaign_id)
            .where(_V.c.member_id == member_id)
            .order_by(_V.c.claimed_at.desc())
            .limit(500)
        )
    ).all()
    campaigns: dict[uuid.UUID, CampaignView] = {}
    out = []
    for r in rows:
        if r.campaign_id not in campaigns:
            campaigns[r.campaign_id] = await get_campaign(db, r.campaign_id)
        out.append((_voucher(r), campaigns[r.campaign_id]))
    return out
