"""What a scan offers: the member's claimed (``active``) vouchers still valid at ``at`` whose
campaign scope admits the point of sale, by the programmes' own scope rule
(``benefits.rules.scope.check_scope``); with a bill amount, the discount, or a refusal
(``below_min_spend``) the cashier may be told about. The use itself is ``benefits.vouchers.use``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, ScalarSelect, Table, column, select, text

from benefits.engine.txn import Db, as_utc, read_connection
from benefits.rules.facts import MerchantContext
from benefits.rules.scope import check_scope
from benefits.vouchers.models import Campaign, Voucher, VoucherStatus
from benefits.vouchers.terms import Terms, parse_terms

_C = cast(Table, Campaign.__table__)
_V = cast(Table, Voucher.__table__)
MAX_OFFERS = 50


@dataclass(frozen=True, slots=True)
class VoucherOffer:
    """A voucher as the till sees it (nothing of the member's eligibility)."""

    voucher_id: uuid.UUID
    campaign_id: uuid.UUID
    campaign_code: str
    campaign_name: str
    kind: str  # amount_off | percent_off
    off_fen: int | None
    basis_points: int | None
    cap_fen: int | None
    min_spend_fen: int
    funded_by: str
    expires_at: datetime
    discount_fen: int | None = None  # with a bill amount
    refusal: str | None = None  # below_min_spend (with a bill amount)


def _offer(row: Any, terms: Terms, amount_fen: int | None) -> VoucherOffer:
    v = terms.value
    discount = None if amount_fen is None else v.discount(amount_fen)
    refusal = "below_min_spend" if amount_fen is not None and not discount else None
    return VoucherOffer(
        voucher_id=row.id,
        campaign_id=row.campaign_id,
        campaign_code=row.c_code,
        campaign_name=row.c_name,
        kind=v.kind,
        off_fen=v.off_fen,
        basis_points=v.basis_points,
        cap_fen=v.cap_fen,
        min_spend_fen=v.min_spend_fen,
        funded_by=terms.funded_by.value,
        expires_at=row.expires_at,
        discount_fen=discount,
        refusal=refusal,
    )


_OFFERS = (
    select(
        _V.c.id,
        _V.c.campaign_id,
        _V.c.expires_at,
        _C.c.code.label("c_code"),
        _C.c.name.label("c_name"),
        _C.c.terms,
    )
    .join(_C, _C.c.id == _V.c.campaign_id)
    .order_by(_V.c.expires_at, _V.c.id)
    .limit(MAX_OFFERS)
)


# The same as one column of a statement about the member's card (the scan's card read, on
# PostgreSQL): a JSON array of the rows, NULL when there are none; the statement must name the
# card table ``card`` and bind ``offers_at``. carried_offers() reads the column's value.
OFFERS_ON_CARD: ScalarSelect[Any] = (
    text(
        "SELECT json_agg(o) FROM (SELECT v.id, v.campaign_id, v.expires_at, c.code AS c_code, "
        "c.name AS c_name, c.terms FROM voucher v JOIN voucher_campaign c ON c.id = v.campaign_id "
        "WHERE v.member_id = card.member_id AND v.status = 'active' AND v.expires_at > :offers_at "
        f"ORDER BY v.expires_at, v.id LIMIT {MAX_OFFERS}) o"
    )
    .columns(column("offers", JSON))
    .scalar_subquery()
)


@dataclass(frozen=True, slots=True)
class _Row:
    id: uuid.UUID
    campaign_id: uuid.UUID
    expires_at: datetime
    c_code: str
    c_name: str
    terms: Any


async def voucher_offers(
    db: Db,
    *,
    member_id: uuid.UUID,
    merchant: MerchantContext,
    amount_fen: int | None,
    at: datetime,
) -> tuple[list[VoucherOffer], list[VoucherOffer]]:
    """(usable, refused): the member's valid vouchers accepted at ``merchant``, soonest to
    expire first; with an amount, those below their minimum spend are ``refused``. (The scan on
    PostgreSQL reads them along with the card: :data:`OFFERS_ON_CARD`.)"""
    async with read_connection(db) as conn:
        rows = list(
            (
                await conn.execute(
                    _OFFERS.where(
                        _V.c.member_id == member_id,
                        _V.c.status == VoucherStatus.active,
                        _V.c.expires_at > at,
                    )
                )
            ).all()
        )
    return _split(rows, merchant, amount_fen)


def carried_offers(
    value: str | list[dict[str, Any]] | None, *, merchant: MerchantContext, amount_fen: int | None
) -> tuple[list[VoucherOffer], list[VoucherOffer]]:
    """:func:`voucher_offers` from the value of :data:`OFFERS_ON_CARD` that the caller's
    statement read along (JSON text, or decoded where the connection has a JSON codec)."""
    rows = [
        _Row(
            uuid.UUID(r["id"]),
            uuid.UUID(r["campaign_id"]),
            as_utc(datetime.fromisoformat(r["expires_at"])),
            r["c_code"],
            r["c_name"],
            r["terms"],
        )
        for r in (json.loads(value) if isinstance(value, str) else value or ())
    ]
    return _split(rows, merchant, amount_fen)


def _split(
    rows: list[Any], merchant: MerchantContext, amount_fen: int | None
) -> tuple[list[VoucherOffer], list[VoucherOffer]]:
    usable: list[VoucherOffer] = []
    refused: list[VoucherOffer] = []
    for r in rows:
        terms = parse_terms(r.terms)
        if check_scope(terms.scope, merchant):
            continue
        o = _offer(r, terms, amount_fen)
        (refused if o.refusal else usable).append(o)
    return usable, refused
