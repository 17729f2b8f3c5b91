"""Request and response shapes of the staff settlement API, and the functions that fill them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from benefits.public import StatementLine
from merchants.settlements.service import MerchantStatement

Status = Literal["open", "confirmed", "paid"]


class StatementLineOut(msgspec.Struct):
    program_id: uuid.UUID | None  # None on the totals
    program_code: str
    redemptions: int
    reversed: int
    carried_reversals: int
    count: int
    gross_fen: int
    discount_fen: int
    payable_fen: int
    subsidy_fen: int
    units: int
    carried_subsidy_fen: int
    # "programme", or "voucher" (a voucher campaign: program_id/program_code name the
    # campaign, subsidy_fen is what the federation owes for the vouchers used there).
    kind: Literal["programme", "voucher", "total"]


class StatementOut(msgspec.Struct):
    merchant_id: uuid.UUID
    merchant_name: str
    month: Annotated[str, msgspec.Meta(examples=["2026-03"])]
    status: Status
    currency: Literal["CNY"]
    lines: list[StatementLineOut]
    totals: StatementLineOut
    confirmed_at: datetime | None
    paid_at: datetime | None
    paid_on: date | None
    payment_ref: str | None


class StatementPageOut(msgspec.Struct):
    month: str
    time_zone: str
    items: list[StatementOut]


class PaymentIn(msgspec.Struct, forbid_unknown_fields=True):
    payment_ref: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    # The transfer's date (federation zone); default today.
    paid_on: date | None = None


def line_out(g: StatementLine) -> StatementLineOut:
    return StatementLineOut(
        program_id=g.program_id,
        program_code=g.program_code or "TOTAL" if g.program_id is None else g.program_code,
        redemptions=g.redemptions,
        reversed=g.reversed,
        carried_reversals=g.carried_reversals,
        count=g.count,
        gross_fen=g.gross_fen,
        discount_fen=g.discount_fen,
        payable_fen=g.payable_fen,
        subsidy_fen=g.subsidy_fen,
        units=g.units,
        carried_subsidy_fen=g.carried_subsidy_fen,
        kind="total" if g.program_id is None else "voucher" if g.kind == "voucher" else "programme",
    )


def statement_out(s: MerchantStatement) -> StatementOut:
    st = s.state
    return StatementOut(
        merchant_id=s.merchant_id,
        merchant_name=s.merchant_name,
        month=s.month,
        status=st.status.value,
        currency="CNY",
        lines=[line_out(g) for g in s.figures.lines],
        totals=line_out(s.figures.totals),
        confirmed_at=st.confirmed_at,
        paid_at=st.paid_at,
        paid_on=st.paid_on,
        payment_ref=st.payment_ref,
    )
