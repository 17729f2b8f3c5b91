"""Vouchers (消费券) at a terminal: redeem the one the till picked from the scan, and reverse it.

The till scans the member's code (the scan lists the member's vouchers usable here beside the
programmes, ``voucher_offers``), then names one voucher by its id with the same code and the bill
amount. The code proves the member is at the till; it is verified (signature, expiry, card,
member active) but not burned: the same scan may also redeem a programme, and the voucher is
single-use by itself (``benefits.vouchers.use``: a conditional UPDATE, exactly once). The
``Idempotency-Key`` makes a retry, or a concurrent double submit with the same key, return the
same redemption (200, ``Idempotent-Replayed: true``); another submit of a used voucher is 409
``voucher_already_used``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from benefits.errors import BenefitsError
from benefits.public import VoucherUseResult, find_use, reverse_use, use_voucher
from cardsvc.kernel.errors import AppError, NotFound
from cardsvc.public import VerifiedCard
from merchants.terminal.auth import TerminalContext
from merchants.terminal.codes import resolve_code
from merchants.terminal.errors import (
    IdempotencyConflict,
    check_bill_ref,
    check_idempotency_key,
    from_benefits,
)
from merchants.terminal.scan import merchant_context, verify_member
from merchants.terminal.wiring import RedeemServices


class VoucherNotFound(NotFound):
    code = "voucher_not_found"
    message_zh = "未找到该会员的这张消费券"
    message_en = "This member has no such voucher"


class VoucherUseNotFound(NotFound):
    code = "voucher_use_not_found"
    message_zh = "未找到该笔消费券核销"
    message_en = "Voucher redemption not found"


@dataclass(frozen=True, slots=True)
class VoucherRedeemed:
    use: VoucherUseResult
    card: VerifiedCard | None
    replayed: bool


async def _settle_session(session: AsyncSession) -> None:
    # The terminal key's last-used stamp may hold a transaction: the use runs its own.
    if session.in_transaction():
        await session.commit()


def _problem(exc: BenefitsError, not_found: type[AppError] = VoucherNotFound) -> AppError:
    if exc.code == "idempotency_conflict":
        return IdempotencyConflict(**exc.extra)
    if exc.code in ("voucher_not_found", "voucher_use_not_found"):
        return not_found(**exc.extra)
    return from_benefits(exc)


async def redeem_voucher_at_terminal(
    session: AsyncSession,
    services: RedeemServices,
    terminal: TerminalContext,
    *,
    idempotency_key: str | None,
    code: str,
    voucher_id: uuid.UUID,
    amount_fen: int,
    bill_ref: str | None = None,
) -> VoucherRedeemed:
    key = check_idempotency_key(idempotency_key)
    bill_ref = check_bill_ref(bill_ref)
    now = services.clock()
    try:
        code = await resolve_code(services, terminal, code)
        card, member = await verify_member(session, services, code, now)
    except AppError:
        # A retry may come after its code expired: the stored answer, if the body is the same.
        prior = await find_use(session, merchant_id=terminal.merchant_id, key=key)
        if prior is None:
            raise
        same = (prior.voucher_id, prior.amount_fen, prior.bill_ref)
        if same != (voucher_id, amount_fen, bill_ref):
            raise IdempotencyConflict(idempotency_key=key) from None
        return VoucherRedeemed(prior, None, replayed=True)
    await _settle_session(session)
    try:
        use = await use_voucher(
            session,
            voucher_id=voucher_id,
            member_id=member.id,
            merchant=merchant_context(terminal),
            amount_fen=amount_fen,
            idempotency_key=key,
            at=now,
            card_id=card.card_id,
            bill_ref=bill_ref,
        )
    except BenefitsError as exc:
        raise _problem(exc) from None
    if services.reads is not None:
        await services.reads.mark_write(member.id)
    return VoucherRedeemed(use, card, replayed=use.replayed)


async def reverse_voucher_at_terminal(
    session: AsyncSession,
    services: RedeemServices,
    terminal: TerminalContext,
    *,
    idempotency_key: str | None,
    use_id: uuid.UUID,
    reason: str,
) -> VoucherUseResult:
    """Give the voucher back (claimed again, or lapsed if it expired meanwhile), within the
    reversal window, once; a retry with the same key replays."""
    key = check_idempotency_key(idempotency_key)
    await _settle_session(session)
    try:
        done = await reverse_use(
            session,
            use_id=use_id,
            merchant_id=terminal.merchant_id,
            reason=reason,
            idempotency_key=key,
            at=services.clock(),
            window_seconds=services.reversal_window_seconds,
        )
    except BenefitsError as exc:
        raise _problem(exc, VoucherUseNotFound) from None
    if services.reads is not None:
        await services.reads.mark_write(done.member_id)
    return done
