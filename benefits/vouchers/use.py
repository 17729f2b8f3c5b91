"""Vouchers at the till: the use (exactly once) and its reversal. What a scan offers is
``benefits.vouchers.offers``, the month's figures for the settlement ``benefits.vouchers.use_lines``.

* ``use_voucher``: exactly once, whatever the concurrency: the voucher moves ``active → used``
  with a conditional UPDATE (``status = 'active' AND expires_at > at`` in its WHERE) in the
  transaction that inserts the ``voucher_use`` row, so of two concurrent uses one updates a row
  and the other none (PostgreSQL re-checks the WHERE after the row lock; SQLite serialises the
  writers). The till's ``Idempotency-Key`` (unique per merchant) makes a retry, or a concurrent
  twin with the same key and body, answer the same use; the same key with another body is
  ``idempotency_conflict``.
* ``reverse_use``: within the reversal window, once (``reversed_at IS NULL`` in the WHERE): the
  voucher is given back (``active`` again) if still valid, else it lapses (``expired``; its
  slot stays taken, as the member's limit still counts it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import IntegrityError
from uuid_utils.compat import uuid7

from benefits.engine.txn import Db, read_connection, write_transaction
from benefits.errors import AlreadyReversed, BenefitsError, IdempotencyConflict
from benefits.rules.facts import MerchantContext
from benefits.rules.programme import Funding
from benefits.rules.scope import check_scope
from benefits.vouchers.models import Campaign, Voucher, VoucherStatus, VoucherUse
from benefits.vouchers.terms import Terms, parse_terms

_C = cast(Table, Campaign.__table__)
_V = cast(Table, Voucher.__table__)
_U = cast(Table, VoucherUse.__table__)


class VoucherNotFound(BenefitsError):
    status = 404
    code = "voucher_not_found"
    message_zh = "未找到该会员的这张消费券"
    message_en = "This member has no such voucher"


class VoucherAlreadyUsed(BenefitsError):
    status = 409
    code = "voucher_already_used"
    message_zh = "该消费券已使用"
    message_en = "This voucher has already been used"


class VoucherExpired(BenefitsError):
    status = 409
    code = "voucher_expired"
    message_zh = "该消费券已过期"
    message_en = "This voucher has expired"


class VoucherNotUsableHere(BenefitsError):
    status = 403
    code = "voucher_not_usable_here"
    message_zh = "该消费券不能在本店使用"
    message_en = "This voucher cannot be used at this store"


class VoucherBelowMinSpend(BenefitsError):
    status = 422
    code = "below_min_spend"
    message_zh = "消费金额未达到消费券的使用门槛"
    message_en = "The bill is below the voucher's minimum spend"


class VoucherUseNotFound(BenefitsError):
    status = 404
    code = "voucher_use_not_found"
    message_zh = "未找到该笔消费券核销"
    message_en = "Voucher redemption not found"


class VoucherReversalWindowClosed(BenefitsError):
    status = 409
    code = "reversal_window_closed"
    message_zh = "已超过可撤销期限，请联系工会处理"
    message_en = "The reversal window has passed; contact the union"


@dataclass(frozen=True, slots=True)
class VoucherUseResult:
    id: uuid.UUID
    voucher_id: uuid.UUID
    campaign_id: uuid.UUID
    campaign_code: str
    campaign_name: str
    member_id: uuid.UUID
    merchant_id: uuid.UUID
    store_id: uuid.UUID | None
    terminal_id: uuid.UUID | None
    card_id: uuid.UUID | None
    amount_fen: int
    discount_fen: int
    subsidy_fen: int
    funded_by: str
    bill_ref: str | None
    occurred_at: datetime
    reversed_at: datetime | None
    reversal_reason: str | None
    reversal_outcome: str | None
    replayed: bool = False

    @property
    def payable_fen(self) -> int:
        return self.amount_fen - self.discount_fen


_USE = select(_U, _C.c.code.label("c_code"), _C.c.name.label("c_name")).join(
    _C, _C.c.id == _U.c.campaign_id
)


def _result(row: Any, replayed: bool = False) -> VoucherUseResult:
    return VoucherUseResult(
        id=row.id,
        voucher_id=row.voucher_id,
        campaign_id=row.campaign_id,
        campaign_code=row.c_code,
        campaign_name=row.c_name,
        member_id=row.member_id,
        merchant_id=row.merchant_id,
        store_id=row.store_id,
        terminal_id=row.terminal_id,
        card_id=row.card_id,
        amount_fen=row.amount_fen,
        discount_fen=row.discount_fen,
        subsidy_fen=row.subsidy_fen,
        funded_by=row.funded_by,
        bill_ref=row.bill_ref,
        occurred_at=row.occurred_at,
        reversed_at=row.reversed_at,
        reversal_reason=row.reversal_reason,
        reversal_outcome=row.reversal_outcome,
        replayed=replayed,
    )


async def _one(db: Db, *where: Any) -> Any:
    async with read_connection(db) as conn:
        return (await conn.execute(_USE.where(*where))).first()


async def find_use(
    db: Db, *, merchant_id: uuid.UUID, use_id: uuid.UUID | None = None, key: str | None = None
) -> VoucherUseResult | None:
    """One of the merchant's voucher uses, by id or by the till's Idempotency-Key."""
    cond = [_U.c.merchant_id == merchant_id]
    cond.append(_U.c.id == use_id if use_id is not None else _U.c.idempotency_key == key)
    row = await _one(db, *cond)
    return None if row is None else _result(row)


def _replay(prior: VoucherUseResult, asked: tuple[Any, ...], key: str) -> VoucherUseResult:
    """The earlier use under ``key``, if ``asked`` (voucher, member, amount, bill) is the same."""
    if (prior.voucher_id, prior.member_id, prior.amount_fen, prior.bill_ref) != asked:
        raise IdempotencyConflict(idempotency_key=key)
    return replace(prior, replayed=True)


async def _refusal(db: Db, voucher_id: uuid.UUID, at: datetime) -> BenefitsError:
    """Why a voucher that the conditional UPDATE did not move cannot be used."""
    async with read_connection(db) as conn:
        row = (
            await conn.execute(select(_V.c.status, _V.c.expires_at).where(_V.c.id == voucher_id))
        ).first()
    if row is None:
        return VoucherNotFound()
    if str(row.status) == VoucherStatus.used:
        return VoucherAlreadyUsed()
    return VoucherExpired()


class _NotMoved(Exception):
    """The conditional UPDATE found no claimed voucher (rolls the transaction back)."""


def _usable(row: Any, member_id: uuid.UUID, merchant: MerchantContext, at: datetime) -> Terms:
    """The voucher's terms if the member may use it at this point of sale now."""
    if row.member_id != member_id:
        raise VoucherNotFound()
    terms = parse_terms(row.terms)
    if check_scope(terms.scope, merchant):
        raise VoucherNotUsableHere()
    if str(row.status) == VoucherStatus.used:
        raise VoucherAlreadyUsed()
    if str(row.status) == VoucherStatus.expired or row.expires_at <= at:
        raise VoucherExpired()
    return terms


async def _take(db: Db, values: dict[str, Any]) -> None:
    """``active → used`` by a conditional UPDATE and the use's row, in one transaction; raises
    _NotMoved when the UPDATE found no claimed voucher still valid (rolled back)."""
    async with write_transaction(db) as conn:
        moved = (
            await conn.execute(
                update(_V)
                .where(
                    _V.c.id == values["voucher_id"],
                    _V.c.member_id == values["member_id"],
                    _V.c.status == VoucherStatus.active,
                    _V.c.expires_at > values["occurred_at"],
                )
                .values(
                    status=VoucherStatus.used,
                    used_at=values["occurred_at"],
                    merchant_id=values["merchant_id"],
                    discount_fen=values["discount_fen"],
                )
            )
        ).rowcount
        if moved != 1:
            raise _NotMoved
        await conn.execute(insert(_U).values(**values))


async def use_voucher(
    db: Db,
    *,
    voucher_id: uuid.UUID,
    member_id: uuid.UUID,
    merchant: MerchantContext,
    amount_fen: int,
    idempotency_key: str,
    at: datetime,
    card_id: uuid.UUID | None = None,
    bill_ref: str | None = None,
) -> VoucherUseResult:
    """Use the member's voucher on a bill of ``amount_fen`` at ``merchant``, exactly once."""
    key, asked = idempotency_key, (voucher_id, member_id, amount_fen, bill_ref)
    prior = await find_use(db, merchant_id=merchant.merchant_id, key=key)
    if prior is not None:
        return _replay(prior, asked, key)
    async with read_connection(db) as conn:
        row = (
            await conn.execute(
                select(_V, _C.c.terms, _C.c.code.label("c_code"), _C.c.name.label("c_name"))
                .join(_C, _C.c.id == _V.c.campaign_id)
                .where(_V.c.id == voucher_id)
            )
        ).first()
    if row is None:
        raise VoucherNotFound()
    terms = _usable(row, member_id, merchant, at)
    discount = terms.value.discount(amount_fen)
    if discount <= 0:
        raise VoucherBelowMinSpend()
    subsidy = discount if terms.funded_by == Funding.federation else 0
    values: dict[str, Any] = {
        "id": uuid7(),
        "merchant_id": merchant.merchant_id,
        "idempotency_key": key,
        "voucher_id": voucher_id,
        "campaign_id": row.campaign_id,
        "member_id": member_id,
        "store_id": merchant.store_id,
        "terminal_id": merchant.terminal_id,
        "card_id": card_id,
        "amount_fen": amount_fen,
        "discount_fen": discount,
        "subsidy_fen": subsidy,
        "funded_by": terms.funded_by.value,
        "bill_ref": bill_ref,
        "occurred_at": at,
    }
    try:
        await _take(db, values)
    except (_NotMoved, IntegrityError):
        # A concurrent twin under the same key committed first: its answer. Else the voucher
        # went to another use (or expired) between the read and the UPDATE.
        prior = await find_use(db, merchant_id=merchant.merchant_id, key=key)
        if prior is not None:
            return _replay(prior, asked, key)
        raise await _refusal(db, voucher_id, at) from None
    del values["idempotency_key"]
    return VoucherUseResult(
        **values,
        campaign_code=row.c_code,
        campaign_name=row.c_name,
        reversed_at=None,
        reversal_reason=None,
        reversal_outcome=None,
    )


async def reverse_use(
    db: Db,
    *,
    use_id: uuid.UUID,
    merchant_id: uuid.UUID,
    reason: str,
    idempotency_key: str,
    at: datetime,
    window_seconds: int,
) -> VoucherUseResult:
    """Reverse one of the merchant's voucher uses within the window, once: the voucher is
    claimed again if still valid, else it lapses. A retry under the same key replays."""
    key = idempotency_key
    prior = await _one(db, _U.c.merchant_id == merchant_id, _U.c.reversal_key == key)
    if prior is not None:
        if prior.id != use_id or prior.reversal_reason != reason:
            raise IdempotencyConflict(idempotency_key=key)
        return _result(prior, replayed=True)
    found = await find_use(db, merchant_id=merchant_id, use_id=use_id)
    if found is None:  # unknown, or another merchant's: the same answer
        raise VoucherUseNotFound()
    if found.reversed_at is not None:
        raise AlreadyReversed(
            message_zh="该笔消费券核销已撤销",
            message_en="This voucher redemption has already been reversed",
        )
    if at - found.occurred_at > timedelta(seconds=window_seconds):
        raise VoucherReversalWindowClosed(window_seconds=window_seconds)
    try:
        async with write_transaction(db) as conn:
            expires_at = (
                await conn.execute(select(_V.c.expires_at).where(_V.c.id == found.voucher_id))
            ).scalar_one()
            outcome = "returned" if expires_at > at else "lapsed"
            moved = (
                await conn.execute(
                    update(_U)
                    .where(_U.c.id == use_id, _U.c.reversed_at.is_(None))
                    .values(
                        reversed_at=at,
                        reversal_key=key,
                        reversal_reason=reason,
                        reversal_outcome=outcome,
                    )
                )
            ).rowcount
            if moved != 1:
                raise _NotMoved
            await conn.execute(
                update(_V)
                .where(_V.c.id == found.voucher_id, _V.c.status == VoucherStatus.used)
                .values(
                    status=VoucherStatus.active if outcome == "returned" else VoucherStatus.expired,
                    used_at=None,
                    merchant_id=None,
                    discount_fen=None,
                )
            )
    except (_NotMoved, IntegrityError):
        again = await _one(db, _U.c.merchant_id == merchant_id, _U.c.reversal_key == key)
        if again is not None and again.id == use_id and again.reversal_reason == reason:
            return _result(again, replayed=True)
        if again is not None:
            raise IdempotencyConflict(idempotency_key=key) from None
        raise AlreadyReversed(
            message_zh="该笔消费券核销已撤销",
            message_en="This voucher redemption has already been reversed",
        ) from None
    return replace(
        found, reversed_at=at, reversal_reason=reason, reversal_outcome=outcome, replayed=False
    )


# --- the merchant's list -----------------------------------------------------------------------


async def list_uses(
    db: Db,
    *,
    merchant_id: uuid.UUID,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
    bill_ref: str | None = None,
) -> list[VoucherUseResult]:
    """The merchant's voucher uses in ``[since, until)``, newest first, reversed ones included
    (with ``reversed_at``), as the programmes' ledger lists its rows (``list_redemptions``)."""
    stmt = _USE.where(_U.c.merchant_id == merchant_id)
    if since is not None:
        stmt = stmt.where(_U.c.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(_U.c.occurred_at < until)
    if bill_ref is not None:
        stmt = stmt.where(_U.c.bill_ref == bill_ref)
    stmt = (
        stmt.order_by(_U.c.occurred_at.desc(), _U.c.id.desc())
        .limit(max(1, min(limit, 1000)))
        .offset(max(0, offset))
    )
    async with read_connection(db) as conn:
        return [_result(row) for row in await conn.execute(stmt)]
