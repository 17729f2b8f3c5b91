"""Claiming a voucher: fast admission in front, the database row as the truth behind it.

The order of a claim (``claim``):

1. ``peek`` the admission store with the request key only: a closed, not yet open or sold-out
   campaign is refused there, without the database (what most of a storm gets once it is gone);
   a request admitted before is recognised (a retry). Skipped while this worker saw the
   campaign open a moment ago (the admission answers the same refusals, atomically). The
   request's sign-in is checked before any answer (``SignIn``); its session record is read in
   the peek's round trip when both are in one Redis.
2. Load the member (the host's port) and the campaign; check eligibility with the programmes'
   own rules (``benefits.rules.eligibility``).
3. ``admit``: window, member limit and stock in one atomic step; a slot and the member's nth.
4. Insert the voucher row, guarded by the database: the campaign must be published, ``slot <
   stock`` and ``nth < per_member`` against the campaign row, and the unique (campaign, slot)
   (the ``voucher_slot`` row written with it), (campaign, member, nth), (campaign, request key,
   member). Committed before the answer, so a 201 always has its row. On PostgreSQL the rows
   of a worker's concurrent claims go in one autocommitted multi-row statement
   (``benefits.vouchers.claim_writer``), each claim waiting for its commit.

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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7 as _new_id

from benefits.engine.txn import driver_name
from benefits.errors import BenefitsError, NotEligible
from benefits.rules.eligibility import check_eligibility, in_subtree
from benefits.rules.facts import MemberFacts
from benefits.rules.periods import local_date, zone
from benefits.vouchers.admission import (
    Admission,
    AdmissionUnavailable,
    RedisAdmission,
    Verdict,
    epoch_ms,
)
from benefits.vouchers.campaigns import CampaignView, campaign_not_found, get_campaign
from benefits.vouchers.claim_writer import DRIVER_ERRORS, driver, write_one, writer
from benefits.vouchers.models import (
    Campaign,
    CampaignStatus,
    Voucher,
    VoucherSlot,
    VoucherStatus,
)
from benefits.vouchers.rebuild import rebuild
from benefits.vouchers.terms import Terms

_C = cast(Table, Campaign.__table__)
_V = cast(Table, Voucher.__table__)
_S = cast(Table, VoucherSlot.__table__)
ZONE = "Asia/Shanghai"
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


class SignIn(Protocol):
    """The request's sign-in, checked by the claim before it answers anything: ``check`` raises
    (401 without a valid session, 403 without its CSRF token) or returns. ``key``: where the
    session's record sits in the admission store's Redis (None: nowhere it could be read), so
    that the claim's first peek reads it in the same round trip and hands it to ``check``
    (``read=True``); otherwise ``check`` reads it itself."""

    @property
    def key(self) -> str | None: ...

    async def check(self, record: bytes | None = None, *, read: bool = False) -> None: ...


@dataclass(frozen=True, slots=True)
class Claimant:
    """What the claim route needs of its host in one dependency (one, so that Litestar
    resolves it without a task group on the storm's path): the admission store, the request's
    sign-in, checked by the claim itself (``claim``), a loader of the signed-in member's facts,
    called only once the admission has let the claim through, and the request's database
    session, made on first call (the same one after), so that a refusal makes none."""

    admission: Admission
    member: Callable[[], Awaitable[MemberFacts]]
    sign_in: SignIn
    db: Callable[[], AsyncSession]


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


# A retry finds its voucher by the member's own request key: the same key of another member
# (the key is unique per campaign and member) is not theirs.
_BY_REQUEST = select(_V).where(
    _V.c.campaign_id == bindparam("campaign_id"),
    _V.c.request_key == bindparam("request_key"),
    _V.c.member_id == bindparam("member_id"),
)
_REUSED = (
    select(_V.c.id)
    .where(
        _V.c.campaign_id == bindparam("campaign_id"),
        _V.c.request_key == bindparam("request_key"),
        _V.c.member_id != bindparam("member_id"),
    )
    .limit(1)
)


def _asyncpg(statement: Any) -> tuple[str, tuple[str, ...]]:
    """asyncpg's SQL of a Core statement and its parameter names in argument order."""
    c = statement.compile(dialect=asyncpg_dialect())
    return str(c), tuple(c.positiontup or ())


_PG_BY_REQUEST = _asyncpg(_BY_REQUEST)


async def _store(
    db: AsyncSession,
    campaign: CampaignView,
    member: MemberFacts,
    request: str,
    v: Verdict,
    at: datetime,
) -> tuple[VoucherView | None, bool]:
    """(voucher, created); (None, False) when the database refused the admission.

    PostgreSQL: one autocommitted statement on the driver's connection (no BEGIN/COMMIT round
    trips, no ORM layers: this is the storm's hot path); SQLite: on the session, committed."""
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
        "published": CampaignStatus.published.value,
    }
    row: Any = None
    if driver_name(db) == "asyncpg":
        if db.in_transaction():
            await db.commit()  # the reads before (a campaign not cached): nothing written
        new_id = await writer(db).submit(values)
        if new_id is None:
            async with driver(db.bind) as pg:
                sql, names = _PG_BY_REQUEST
                rec = await pg.fetchrow(sql, *[values[n] for n in names])
                row = SimpleNamespace(**rec) if rec is not None else None
    else:
        conn = await db.connection()
        new_id = await write_one(conn, values)
        if new_id is None:
            row = (await conn.execute(_BY_REQUEST, values)).first()
        await db.commit()
    if new_id is not None:  # the usual case: no need to read back what was just written
        return VoucherView(new_id, campaign.id, member.id, "active", at, expires, None), True
    if row is None:
        return None, False
    return _voucher(row), False


async def _reused(
    db: AsyncSession, campaign_id: uuid.UUID, member_id: uuid.UUID, request: str
) -> bool:
    """Whether another member's voucher of the campaign holds this request key (the admission
    store knows a request by its key alone). Only on the rare path of a refused insert."""
    params = {"campaign_id": campaign_id, "member_id": member_id, "request_key": request}
    conn = await db.connection()
    found = (await conn.execute(_REUSED, params)).first()
    await db.commit()
    return found is not None


# Campaigns this worker saw open a moment ago: while one is, a claim skips the peek and goes
# straight to the member and the admission (which answers the same refusals atomically); once
# the admission refuses for the campaign (sold out, closed), claims peek again, so the storm's
# refusals never read the member from the database. An "ok" admitted before a refusal can
# arrive after it (answers of concurrent claims come back in any order): it does not reopen a
# campaign whose refusal this worker saw since that claim began.
_OPEN_SECONDS = 0.25
_open_until: dict[str, float] = {}
_refused: dict[str, int] = {}  # refusals seen per campaign, to tell a late "ok" from a new one


def _seen_open(key: str, refusals_before: int) -> None:
    if _refused.get(key, 0) != refusals_before:
        return
    if len(_open_until) > 1000:
        _open_until.clear()
    _open_until[key] = time.monotonic() + _OPEN_SECONDS


def _seen_refused(key: str) -> None:
    _open_until.pop(key, None)
    if len(_refused) > 1000:
        _refused.clear()
    _refused[key] = _refused.get(key, 0) + 1


async def _signed_in_peek(
    admission: Admission, sign_in: SignIn | None, key: str, now: int, request: str
) -> Verdict:
    """The peek, once the request is known to be signed in (a request without a valid session
    learns nothing of the campaign); with the session's record read in the same round trip
    where both sit in one Redis (the storm's refusals: one round trip each, not two)."""
    if sign_in is None:
        return await admission.peek(key, now, request)
    where = sign_in.key
    if where is None or not isinstance(admission, RedisAdmission):
        await sign_in.check()
        return await admission.peek(key, now, request)
    try:
        verdict, record = await admission.peek_reading(key, now, request, where)
    except AdmissionUnavailable:
        await sign_in.check()  # the session's own answer first, as without the store
        raise
    await sign_in.check(record, read=True)
    return verdict


async def claim(
    db: AsyncSession | Callable[[], AsyncSession],
    admission: Admission,
    *,
    campaign_id: uuid.UUID,
    request: str,
    member: Callable[[], Awaitable[MemberFacts]],
    at: datetime,
    sign_in: SignIn | None = None,
) -> tuple[VoucherView, bool]:
    """Claim one voucher; (voucher, created). A retry with the same request key returns the
    same voucher with created False. Refusals raise ClaimRefused, NotEligible or ClaimBusy.
    ``sign_in``: checked first (its errors before any other answer); None: the caller has.
    ``db``: the session, or the request's maker of it, called only past the peek (a refusal
    from the admission store makes no database session)."""
    key, now = campaign_id.hex, epoch_ms(at)
    refusals_before = _refused.get(key, 0)
    try:
        if _open_until.get(key, 0.0) < time.monotonic():
            first = await _signed_in_peek(admission, sign_in, key, now, request)
            if first.outcome == "cold":
                db = _session(db)
                first = await _warm(
                    db, admission, campaign_id, lambda: admission.peek(key, now, request)
                )
            if first.outcome in _REFUSALS:
                _seen_refused(key)
                raise refusal(first.outcome)
            _seen_open(key, refusals_before)
        elif sign_in is not None:
            await sign_in.check()
        facts = await member()
        db = _session(db)
        campaign = await cached_campaign(db, campaign_id)
        check_member(campaign, facts, at)
        mid = facts.id.hex
        v = await _warm(db, admission, campaign_id, lambda: admission.admit(key, now, mid, request))
    except AdmissionUnavailable:
        raise ClaimBusy() from None
    if v.outcome in _REFUSALS:
        if v.outcome != "limit":
            _seen_refused(key)  # the campaign's own answer: peek again from now on
        raise refusal(v.outcome)
    if v.outcome == "ok":
        _seen_open(key, refusals_before)  # while the store admits, no claim needs a peek
    try:
        voucher, created = await _store(db, campaign, facts, request, v, at)
    except (IntegrityError, DBAPIError, OSError, *DRIVER_ERRORS):
        await db.rollback()
        await _release(admission, key, mid, request, v.slot if v.outcome == "ok" else None)
        raise
    if voucher is None:
        if v.outcome == "again" and await _reused(db, campaign_id, facts.id, request):
            # Another member's request key: their admission and voucher stay theirs.
            raise ClaimRefused(
                "voucher_request_reused",
                "该领取请求编号已被使用，请重新领取",
                "This request id belongs to another claim; claim again with a new one",
            )
        # The database refused what the store admitted (stale after a loss): drop the slot.
        await _release(admission, key, mid, request, None)
        raise ClaimBusy()
    if not created and v.outcome == "ok":
        # The row existed (an earlier attempt committed, its admission was lost): give back.
        await _release(admission, key, mid, request, v.slot)
    return voucher, created


def _session(db: AsyncSession | Callable[[], AsyncSession]) -> AsyncSession:
    return db if isinstance(db, AsyncSession) else db()


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
