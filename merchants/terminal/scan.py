"""A terminal scans a member's QR code: who is it (masked), and what applies at this store.

The answer shows only what a cashier needs: the masked name (张*明), the card number's tail,
the union's name and the programmes usable here with their benefit and what is left. Never
the member's categories, hardship level or why a programme does not apply (PIPL): the quote
goes through ``benefits.redact_for_merchant`` and refusals for eligibility are left out.

Every scan, refused ones included, writes a row to the scan log (personal data, purged after
the retention period).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import delete, true
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from benefits.public import (
    OFFERS_ON_CARD,
    REDEMPTION_HEAD,
    ProgramQuote,
    VoucherOffer,
    carried_offers,
    list_programs,
    live_rules,
    quote,
    redact_for_merchant,
    voucher_offers,
)
from benefits.rules.facts import MemberFacts, MerchantContext
from cardsvc.kernel.errors import AppError
from cardsvc.kernel.masking import mask_card_number, mask_name
from cardsvc.kernel.partitions import drop_expired
from cardsvc.public import (
    CARD_BY_INDEX,
    CARD_COLUMN_COUNT,
    CARD_WITH_MEMBER,
    CARD_WITH_MEMBER_NAMED,
    MEMBER_FACTS,
    CardError,
    MemberStatus,
    TokenError,
    VerifiedCard,
    verify_online_row,
)
from merchants.models import ScanLog
from merchants.terminal.auth import TerminalContext
from merchants.terminal.codes import already_used, resolve_code
from merchants.terminal.errors import MemberInactive, TokenReplayed, from_card
from merchants.terminal.scanlog import ScanLogWriter
from merchants.terminal.wiring import RedeemServices

# Refusals a cashier may be told about (they concern the bill or the quota, not the person).
_SHOWN_REFUSALS = frozenset({"quota_exhausted", "budget_exhausted", "below_min_spend"})


def merchant_context(terminal: TerminalContext) -> MerchantContext:
    return sale_context(
        merchant_id=terminal.merchant_id,
        store_id=terminal.store_id,
        terminal_id=terminal.terminal_id,
        category=terminal.category.value,
        store_region=terminal.region,
        merchant_region=terminal.merchant_region,
    )


def sale_context(
    *,
    merchant_id: uuid.UUID,
    store_id: uuid.UUID | None,
    terminal_id: uuid.UUID | None,
    category: str,
    store_region: str | None,
    merchant_region: str | None,
) -> MerchantContext:
    """The point of sale as programme scopes see it, for a terminal's scan and redemption and
    for the staff simulator alike: the merchant's category, and the store's region (the
    merchant's registered region when no store is given)."""
    return MerchantContext(
        merchant_id=merchant_id,
        store_id=store_id,
        terminal_id=terminal_id,
        category=category,
        region=store_region or merchant_region,
    )


async def verify(
    session: AsyncSession,
    services: RedeemServices,
    code: str,
    now: datetime,
    pg: Any | None = None,
) -> VerifiedCard:
    """The card service's online check, its errors in the contract's codes."""
    card, _ = await verify_with_row(session, services, code, now, CARD_BY_INDEX, pg)
    return card


async def verify_with_row(
    session: AsyncSession,
    services: RedeemServices,
    code: str,
    now: datetime,
    statement: Any,
    pg: Any | None = None,
    params: dict[str, Any] | None = None,
) -> tuple[VerifiedCard, Any]:
    """:func:`verify` reading the card's member too (``statement``, with ``params`` beside
    the card's); the row's member part. ``pg``: the asyncpg connection to read on instead of
    the session's."""
    try:
        card, row = await verify_online_row(
            session,
            code,
            keyring=services.keyring,
            now=now,
            skew_seconds=services.skew_seconds,
            statement=statement,
            pg=pg,
            params=params,
        )
    except (TokenError, CardError) as exc:
        raise from_card(exc) from None
    return card, row[CARD_COLUMN_COUNT:]


async def verify_member(
    session: AsyncSession,
    services: RedeemServices,
    code: str,
    now: datetime,
    pg: Any | None = None,
) -> tuple[VerifiedCard, MemberFacts]:
    """:func:`verify` then :func:`member_facts`, in one query."""
    card, row = await verify_with_row(session, services, code, now, CARD_WITH_MEMBER, pg)
    return card, _facts(card.member_id, row)


# The card and its member, and the redemption's programme head (``benefits.public.redeem``'s
# ``head_row``): the redemption's first read rides on the card's round trip.
_MEMBER_COLUMNS = len(CARD_WITH_MEMBER.selected_columns) - CARD_COLUMN_COUNT
_CARD_WITH_HEAD = CARD_WITH_MEMBER.add_columns(*REDEMPTION_HEAD.c).outerjoin(
    REDEMPTION_HEAD, true()
)


async def verify_member_with_head(
    session: AsyncSession,
    services: RedeemServices,
    code: str,
    now: datetime,
    pg: Any,
    head: dict[str, Any],
) -> tuple[VerifiedCard, MemberFacts, Any]:
    """:func:`verify_member` on ``pg``, reading the head of one programme for ``redeem``
    along (``head``: its ``pid``, ``merchant_id`` and ``idem``); returns the head's columns."""
    card, row = await verify_with_row(session, services, code, now, _CARD_WITH_HEAD, pg, head)
    return card, _facts(card.member_id, row), row[_MEMBER_COLUMNS:]


# The scan's card read on PostgreSQL: the card, its member and union, and the member's
# vouchers (``OFFERS_ON_CARD``), in one round trip.
_CARD_WITH_OFFERS = CARD_WITH_MEMBER_NAMED.add_columns(OFFERS_ON_CARD)


def is_static(card: VerifiedCard) -> bool:
    """A printed card's long-lived code (not single-use), as opposed to the phone's."""
    return card.kind.name == "static"


def _facts(member_id: uuid.UUID, row: Any) -> MemberFacts:
    if row is None or row[0] != MemberStatus.active:
        raise MemberInactive()
    return facts_from_row(member_id, row)


def facts_from_row(member_id: uuid.UUID, row: Any) -> MemberFacts:
    """The member as eligibility sees them, from the card service's ``MEMBER_FACT_COLUMNS``
    (in that order): the one builder of member facts, for the scan, the redemption, the
    simulator and the member's own view alike."""
    return MemberFacts(
        id=member_id,
        status=str(row[0]),
        org_path=row[1],
        categories=frozenset(row[2] or ()),
        hardship_level=row[3],
        joined_on=row[4],
        birth_date=row[5],
        region=row[6],
    )


async def member_facts(session: AsyncSession, member_id: uuid.UUID) -> MemberFacts:
    """What eligibility needs (one indexed SELECT); ``member_inactive`` unless active."""
    conn = await session.connection()
    row = (await conn.execute(MEMBER_FACTS, {"mid": member_id})).first()
    return _facts(member_id, row)


async def static_refusing(
    session: AsyncSession, org_path: str, pg: Any | None = None
) -> set[uuid.UUID]:
    """Programmes applying to a member at ``org_path`` that refuse static (printed) codes."""
    if pg is not None:
        return {
            pid for pid, r in (await live_rules(pg, org_path)).items() if not r.accept_static_tokens
        }
    views, _ = await list_programs(
        session, member_org_path=org_path, status=["active", "paused"], limit=1000
    )
    return {v.id for v in views if v.rules.get("accept_static_tokens", True) is False}


@dataclass(frozen=True, slots=True)
class ScanResult:
    scan_id: uuid.UUID
    card: VerifiedCard
    name_masked: str
    union_name: str
    amount_given: bool
    applicable: tuple[ProgramQuote, ...]
    unavailable: tuple[tuple[uuid.UUID, str, str, str], ...] = field(default=())
    # (program id, code, name, error code): in scope here but not usable now
    vouchers: tuple[VoucherOffer, ...] = field(default=())  # usable ones first
    amount_fen: int | None = None


def log_scan(
    session: AsyncSession,
    services: RedeemServices,
    terminal: TerminalContext,
    at: datetime,
    result: str,
    *,
    card_id: uuid.UUID | None = None,
    member_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Queue the scan's log row (written in a batch off the request path: scanlog.py)."""
    if services.scan_log is None:
        services.scan_log = ScanLogWriter(cast(AsyncEngine, session.bind))
    return services.scan_log.add(
        merchant_id=terminal.merchant_id,
        store_id=terminal.store_id,
        terminal_id=terminal.terminal_id,
        at=at,
        result=result,
        card_id=card_id,
        member_id=member_id,
    )


async def read_only(session: AsyncSession) -> None:
    """Run the request's reads without a transaction (no BEGIN/COMMIT round trips).

    A scan only reads, and each of its reads stands alone (the card, then the quote); the
    redemption re-checks everything in its own transaction.
    """
    if not session.in_transaction():
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


async def _card_read(
    session: AsyncSession, services: RedeemServices, code: str, now: datetime, pg: Any | None
) -> tuple[VerifiedCard, Any]:
    """The scanned card with its member and union; on PostgreSQL the member's vouchers too."""
    if pg is None:
        return await verify_with_row(session, services, code, now, CARD_WITH_MEMBER_NAMED)
    return await verify_with_row(
        session, services, code, now, _CARD_WITH_OFFERS, pg, {"offers_at": now}
    )


async def _vouchers(
    session: AsyncSession,
    member: MemberFacts,
    terminal: TerminalContext,
    amount_fen: int | None,
    now: datetime,
    row: Any,
    pg: Any | None,
) -> tuple[list[VoucherOffer], list[VoucherOffer]]:
    """The member's vouchers at this till: on PostgreSQL as read along with the card."""
    here = merchant_context(terminal)
    if pg is not None:
        return carried_offers(row[9], merchant=here, amount_fen=amount_fen)
    return await voucher_offers(
        session, member_id=member.id, merchant=here, amount_fen=amount_fen, at=now
    )


async def scan(
    session: AsyncSession,
    services: RedeemServices,
    terminal: TerminalContext,
    *,
    code: str,
    amount_fen: int | None,
    units: int,
    pg: Any | None = None,
) -> ScanResult:
    """``pg`` (PostgreSQL): the asyncpg connection the reads run on, bypassing the session
    (``cardsvc.kernel.db.driver_connection``); without it they run on the session."""
    now = services.clock()
    card: VerifiedCard | None = None
    if pg is None:
        await read_only(session)
    try:
        code = await resolve_code(services, terminal, code)
        card, row = await _card_read(session, services, code, now, pg)
        if await already_used(services, card):
            raise TokenReplayed()
        member = _facts(card.member_id, row)
        q = redact_for_merchant(
            await quote(
                session,
                member=member,
                merchant=merchant_context(terminal),
                amount_fen=amount_fen or 0,
                units=units,
                at=now,
                pg=pg,
            )
        )
        usable, refused = await _vouchers(session, member, terminal, amount_fen, now, row, pg)
    except AppError as exc:
        log_scan(
            session,
            services,
            terminal,
            now,
            exc.code,
            card_id=card.card_id if card else None,
            member_id=card.member_id if card else None,
        )
        raise
    applicable = list(q.applicable)
    unavailable = [
        (r.program_id, r.code, r.name, r.error_code)
        for r in q.not_applicable
        # Without an amount, a minimum spend is not a refusal yet: the cashier sees it.
        if r.error_code in _SHOWN_REFUSALS
    ]
    if is_static(card) and applicable:
        refusing = await static_refusing(session, member.org_path, pg)
        for p in [p for p in applicable if p.program_id in refusing]:
            applicable.remove(p)
            unavailable.append((p.program_id, p.code, p.name, "static_token_refused"))
    scan_id = log_scan(
        session, services, terminal, now, "ok", card_id=card.card_id, member_id=card.member_id
    )
    return ScanResult(
        scan_id=scan_id,
        card=card,
        name_masked=mask_name(row[7]),
        union_name=row[8],
        amount_given=amount_fen is not None,
        applicable=tuple(applicable),
        unavailable=tuple(unavailable),
        vouchers=(*usable, *refused),
        amount_fen=amount_fen,
    )


def masked_card_number(card: VerifiedCard) -> str:
    return mask_card_number(card.card_number)


async def purge_scans(session: AsyncSession, *, older_than_days: int, now: datetime) -> int:
    """Delete scan-log rows older than ``older_than_days``; returns how many. Whole monthly
    partitions past the cutoff are dropped (PostgreSQL), the rest deleted row by row."""
    if older_than_days < 0:
        raise ValueError("older_than_days must be >= 0")
    cutoff = now - timedelta(days=older_than_days)
    _, dropped = await drop_expired(session, ScanLog.__tablename__, cutoff)
    result = await session.execute(
        delete(ScanLog).where(ScanLog.at < cutoff).execution_options(synchronize_session=False)
    )
    return dropped + int(result.rowcount or 0)  # type: ignore[attr-defined]  # typed Result; DML gives a CursorResult
