"""Redeem and reverse at a terminal: the contract's mutations, exactly once.

Redeem, in this order:

1. the ``Idempotency-Key`` is looked up first (``benefits.find_redemption``): a retry is
   answered from the ledger before anything is verified or burned, so it is never mistaken
   for a replayed QR code;
2. the code is verified (signature, expiry, card state and generation) and the member must be
   active;
3. a rotating (phone) code is single-use: its token id is burned in Redis with ``SET NX`` for
   the rest of its validity plus the clock skew, and is also passed to the engine, whose ledger
   has it as a unique column. With Redis down the burn is skipped and the ledger still refuses
   a replay (``token_replayed``). A static (printed) code is not burned: a programme may refuse
   it, and each card has a velocity limit per hour;
4. ``benefits.redeem`` runs its own short transaction (asyncpg directly on PostgreSQL).

The reads before step 4 share one transaction, committed before the engine's.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from benefits.errors import BenefitsError
from benefits.public import (
    RedemptionResult,
    card_uses_since,
    find_redemption,
    redeem,
    reverse,
)
from benefits.rules.facts import MemberFacts
from cardsvc.kernel.errors import AppError
from cardsvc.kernel.kv import KVUnavailable
from cardsvc.kernel.stores import REDIS_RETRY_SECONDS, REDIS_TIMEOUT_SECONDS
from cardsvc.public import CardError, VerifiedCard
from merchants.models import ReversalRequest
from merchants.terminal.auth import TerminalContext
from merchants.terminal.codes import burned_key, resolve_code
from merchants.terminal.errors import (
    CardVelocityLimited,
    IdempotencyConflict,
    RedemptionNotFound,
    ReversalWindowClosed,
    TokenReplayed,
    check_idempotency_key,
    from_benefits,
    from_card,
)
from merchants.terminal.scan import (
    is_static,
    merchant_context,
    read_only,
    static_refusing,
    verify,
    verify_member,
    verify_member_with_head,
)
from merchants.terminal.wiring import RedeemServices

logger = logging.getLogger("unioncard.merchants")

# Declarative models map a Table; SQLAlchemy types ``__table__`` as the wider FromClause.
_RR = cast(Table, ReversalRequest.__table__)
_FIND_REVERSAL_REQUEST = select(_RR.c.id, _RR.c.redemption_id, _RR.c.reason, _RR.c.reversed_at)
_INSERT_REVERSAL_REQUEST = insert(_RR)


@dataclass(frozen=True, slots=True)
class RedeemRequest:
    """``program_id``: one programme, or several to apply in priority order on what is still
    payable (:func:`programmes_of` checks them); ``bill_ref``: the merchant's bill reference."""

    code: str
    program_id: uuid.UUID | tuple[uuid.UUID, ...]
    amount_fen: int
    units: int = 1
    bill_ref: str | None = None

    @property
    def program_ids(self) -> tuple[uuid.UUID, ...]:
        p = self.program_id
        return (p,) if isinstance(p, uuid.UUID) else p


@dataclass(frozen=True, slots=True)
class Redeemed:
    result: RedemptionResult
    card: VerifiedCard
    replayed: bool


class TokenBurner:
    """``SET NX`` of a rotating token's id, with a short circuit breaker: after a Redis error
    it is skipped for a few seconds (the ledger's unique column still refuses replays), so a
    Redis outage costs no request a timeout after the first. The breaker is per key store: an
    outage of one app's store says nothing of another's (a process may hold several apps)."""

    def __init__(self) -> None:
        self._down_until: dict[int, tuple[object, float]] = {}

    @staticmethod
    def key(token_id: str) -> str:
        return burned_key(token_id)

    def _down(self, kv: object) -> bool:
        hit = self._down_until.get(id(kv))
        return hit is not None and hit[0] is kv and time.monotonic() < hit[1]

    def _trip(self, kv: object) -> None:
        if len(self._down_until) > 16:  # a process has one or two stores; tests make many
            self._down_until.clear()
        self._down_until[id(kv)] = (kv, time.monotonic() + REDIS_RETRY_SECONDS)

    async def burn(self, services: RedeemServices, token_id: str, owner: bytes, ttl: int) -> bool:
        """True if burned now, or earlier by ``owner`` (the same request); False if by another."""
        if self._down(services.kv):
            return True
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                if await services.kv.set_nx(self.key(token_id), owner, ttl):
                    return True
                return await services.kv.get(self.key(token_id)) == owner
        except (KVUnavailable, TimeoutError) as exc:
            logger.warning("token burn skipped, Redis unavailable (ledger guards): %s", exc)
            self._trip(services.kv)
            return True

    async def release(self, services: RedeemServices, token_id: str) -> None:
        """Un-burn a token whose redemption was refused: it was not used."""
        if self._down(services.kv):
            return
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                await services.kv.delete(self.key(token_id))
        except (KVUnavailable, TimeoutError):
            pass


burner = TokenBurner()


async def _begin(session: AsyncSession) -> None:
    """One transaction for the reads (find, verify, member): no BEGIN/ROLLBACK per read."""
    if not session.in_transaction():
        await session.begin()


async def redeem_at_terminal(
    session: AsyncSession,
    services: RedeemServices,
    terminal: TerminalContext,
    *,
    idempotency_key: str | None,
    req: RedeemRequest,
    pg: Any | None = None,
) -> Redeemed:
    """``pg`` (PostgreSQL): the asyncpg connection to run on (``driver_connection``), the rare
    paths too (a retry, a printed card); else the session. A numeric code is resolved first."""
    key = check_idempotency_key(idempotency_key)
    now = services.clock()
    req = replace(req, code=await resolve_code(services, terminal, req.code))
    # The reads before the engine's transaction (card, member) need none of their own: the
    # engine re-checks what matters under its counters' locks.
    if pg is None:
        await read_only(session)
    try:
        card, member, head_row = await _verify(session, services, terminal, key, req, now, pg)
    except AppError:
        # A retry may come after its code expired or its member left: the stored answer.
        # (One whose code still verifies is answered by the engine, from its key's probe.)
        prior = await _prior(session, terminal, key, pg)
        if prior is not None:
            return await _retry(session, services, terminal, key, req, prior, pg)
        raise
    token_id: str | None = None
    if is_static(card):
        # A printed card's retry must not count against the card's hourly limit again.
        prior = await _prior(session, terminal, key, pg)
        if prior is not None:
            return await _retry(session, services, terminal, key, req, prior, pg)
        await _check_static(session, services, card, member, req.program_ids, pg)
    else:
        token_id = card.token_id
    # The engine runs (and commits) its own transaction; end the session's (it may hold the
    # terminal key's last-used stamp) so that the engine can take its fast path.
    if session.in_transaction():
        await session.commit()
    owner = f"{terminal.merchant_id.hex}:{key}".encode()
    if token_id is not None:
        ttl = max(1, math.ceil((card.expires_at - now).total_seconds())) + services.skew_seconds
        if not await burner.burn(services, token_id, owner, ttl):
            # Burned under another key. A retry of ours still gets its stored answer (Redis
            # may have lost our burn and seen a replay's first); anything else is a replay.
            prior = await _prior(session, terminal, key, pg)
            if prior is not None:
                return await _retry(session, services, terminal, key, req, prior, pg)
            raise TokenReplayed()
    try:
        result = await redeem(
            session,
            member=member,
            merchant=merchant_context(terminal),
            program_ids=req.program_id,
            amount_fen=req.amount_fen,
            units=req.units,
            bill_ref=req.bill_ref,
            idempotency_key=key,
            at=now,
            card_id=card.card_id,
            token_id=token_id,
            pg=pg,
            head_row=head_row,
        )
    except BenefitsError as exc:
        if token_id is not None and exc.code not in ("token_replayed", "idempotency_conflict"):
            await burner.release(services, token_id)
        if exc.code == "token_replayed":
            raise TokenReplayed() from None
        raise from_benefits(exc) from None
    return await _answer(services, key, token_id, result, card)


async def _answer(
    services: RedeemServices,
    key: str,
    token_id: str | None,
    result: RedemptionResult,
    card: VerifiedCard,
) -> Redeemed:
    """The engine's result as the terminal's answer; the member's next reads on the primary."""
    if result.replayed and result.token_id != token_id:
        # The key was used before with another code: a different request (this code was
        # never used, so it is released again).
        if token_id is not None:
            await burner.release(services, token_id)
        raise IdempotencyConflict(idempotency_key=key)
    if services.reads is not None:
        await services.reads.mark_write(result.member_id)
    # A retry, or a concurrent twin (same key and body) that committed first: its result.
    return Redeemed(result, card, replayed=result.replayed)


async def _verify(
    session: AsyncSession,
    services: RedeemServices,
    terminal: TerminalContext,
    key: str,
    req: RedeemRequest,
    now: datetime,
    pg: Any | None,
) -> tuple[VerifiedCard, MemberFacts, Any]:
    """The card and its member; on PostgreSQL, for one programme, the engine's head row too
    (read in the same round trip: ``redeem``'s ``head_row``), else ``None`` for it."""
    if pg is None or len(req.program_ids) != 1:
        card, member = await verify_member(session, services, req.code, now, pg)
        return card, member, None
    head = {"pid": req.program_ids[0], "merchant_id": terminal.merchant_id, "idem": key}
    return await verify_member_with_head(session, services, req.code, now, pg, head)


async def _prior(
    session: AsyncSession, terminal: TerminalContext, key: str, pg: Any | None = None
) -> RedemptionResult | None:
    return await find_redemption(
        session, merchant_id=terminal.merchant_id, idempotency_key=key, pg=pg
    )


async def _check_static(
    session: AsyncSession,
    services: RedeemServices,
    card: VerifiedCard,
    member: MemberFacts,
    program_ids: tuple[uuid.UUID, ...],
    pg: Any | None = None,
) -> None:
    refusing = await static_refusing(session, member.org_path, pg)
    if any(p in refusing for p in program_ids):
        raise from_card(CardError("static_token_refused"))
    limit = services.static_per_hour
    if limit <= 0:
        return
    # The ledger is the count of record: a Redis restart or outage resets the limiter, never
    # this. The limiter, hit second, also refuses concurrent requests the ledger cannot see yet.
    now = services.clock()
    uses = await card_uses_since(
        session,
        member_id=member.id,
        card_id=card.card_id,
        since=now - timedelta(hours=1),
        limit=limit,
        pg=pg,
    )
    if len(uses) >= limit:
        retry_after = math.ceil((uses[0] + timedelta(hours=1) - now).total_seconds())
        raise CardVelocityLimited(max(1, retry_after), limit)
    d = await services.limiter.hit(f"card:{card.card_id}", limit, 3600)
    if not d.allowed:
        raise CardVelocityLimited(d.retry_after, limit)


async def _retry(
    session: AsyncSession,
    services: RedeemServices,
    terminal: TerminalContext,
    key: str,
    req: RedeemRequest,
    prior: RedemptionResult,
    pg: Any | None = None,
) -> Redeemed:
    """A request whose key is in the ledger: the stored result if the body is the same.

    The code is checked as of the original redemption (a retry may come after the code
    expired) and must be the same token (or, for a printed card, the same card); the engine
    then compares member, store, programme, amount and units and returns the stored result
    or refuses with ``idempotency_conflict``. Nothing is burned or charged.
    """
    try:
        card = await verify(session, services, req.code, prior.occurred_at, pg)
    except AppError as exc:
        if exc.code in ("card_revoked", "card_suspended"):
            raise
        raise IdempotencyConflict(idempotency_key=key) from None
    same_code = (
        card.card_id == prior.card_id if prior.token_id is None else card.token_id == prior.token_id
    )
    if not same_code:
        raise IdempotencyConflict(idempotency_key=key)
    if session.in_transaction():
        await session.commit()  # as in redeem_at_terminal: the engine opens its own transaction
    try:
        result = await redeem(
            session,
            # Only the id takes part in the comparison; a stored result is never re-evaluated.
            member=MemberFacts(id=card.member_id, status="active", org_path=""),
            merchant=merchant_context(terminal),
            program_ids=req.program_id,
            amount_fen=req.amount_fen,
            units=req.units,
            bill_ref=req.bill_ref,
            idempotency_key=key,
            at=prior.occurred_at,
            card_id=card.card_id,
            token_id=prior.token_id,
            pg=pg,
        )
    except BenefitsError as exc:
        if exc.code == "idempotency_conflict":
            raise IdempotencyConflict(idempotency_key=key) from None
        raise from_benefits(exc) from None
    return Redeemed(result, card, replayed=True)


# --- reversal ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reversed:
    id: uuid.UUID
    redemption: RedemptionResult
    reason: str
    reversed_at: datetime
    replayed: bool


async def _reversal_request(
    session: AsyncSession, merchant_id: uuid.UUID, key: str
) -> tuple[uuid.UUID, uuid.UUID, str, datetime] | None:
    row = (
        await session.execute(
            _FIND_REVERSAL_REQUEST.where(
                _RR.c.merchant_id == merchant_id, _RR.c.idempotency_key == key
            )
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2], row[3])


async def _replay_reversal(
    session: AsyncSession,
    terminal: TerminalContext,
    key: str,
    redemption_id: uuid.UUID,
    reason: str,
    stored: tuple[uuid.UUID, uuid.UUID, str, datetime],
) -> Reversed:
    rid, stored_redemption, stored_reason, at = stored
    if stored_redemption != redemption_id or stored_reason != reason:
        raise IdempotencyConflict(idempotency_key=key)
    redemption = await find_redemption(
        session, redemption_id=redemption_id, merchant_id=terminal.merchant_id
    )
    if redemption is None:  # cannot happen: the ledger is append-only
        raise RedemptionNotFound()
    return Reversed(rid, redemption, reason, at, replayed=True)


async def reverse_at_terminal(
    session: AsyncSession,
    services: RedeemServices,
    terminal: TerminalContext,
    *,
    idempotency_key: str | None,
    redemption_id: uuid.UUID,
    reason: str,
) -> Reversed:
    """Void one of this merchant's redemptions within the window, once; retries replay."""
    key = check_idempotency_key(idempotency_key)
    now = services.clock()
    await _begin(session)
    stored = await _reversal_request(session, terminal.merchant_id, key)
    if stored is not None:
        return await _replay_reversal(session, terminal, key, redemption_id, reason, stored)
    redemption = await find_redemption(
        session, redemption_id=redemption_id, merchant_id=terminal.merchant_id
    )
    if redemption is None:  # unknown, or another merchant's: the same answer
        raise RedemptionNotFound(redemption_id=str(redemption_id))
    if redemption.reversed:
        raise AppError(
            "already_reversed",
            "该笔核销已撤销",
            "This redemption has already been reversed",
            status=409,
            redemption_id=str(redemption_id),
        )
    if now - redemption.occurred_at > timedelta(seconds=services.reversal_window_seconds):
        raise ReversalWindowClosed(
            redemption_id=str(redemption_id),
            window_seconds=services.reversal_window_seconds,
        )
    rid = uuid7()
    try:
        done = await reverse(
            session,
            redemption_id=redemption_id,
            merchant_id=terminal.merchant_id,
            terminal_id=terminal.terminal_id,
            reason=reason,
            at=now,
            time_zone=services.time_zone,  # a frozen month's reversal goes to the next open one
        )
        await session.execute(
            _INSERT_REVERSAL_REQUEST,
            {
                "id": rid,
                "merchant_id": terminal.merchant_id,
                "idempotency_key": key,
                "redemption_id": redemption_id,
                "terminal_id": terminal.terminal_id,
                "reason": reason,
                "reversed_at": done.reversed_at,
            },
        )
        await session.commit()
    except (BenefitsError, IntegrityError) as exc:
        # A concurrent twin under the same key reversed it first: answer with its result.
        await session.rollback()
        stored = await _reversal_request(session, terminal.merchant_id, key)
        if stored is not None:
            return await _replay_reversal(session, terminal, key, redemption_id, reason, stored)
        if isinstance(exc, BenefitsError):
            raise from_benefits(exc, not_found=RedemptionNotFound) from None
        raise
    if services.reads is not None:
        await services.reads.mark_write(redemption.member_id)
    return Reversed(rid, redemption, reason, done.reversed_at, replayed=False)
