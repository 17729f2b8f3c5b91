"""The settlement statement as the terminal API sends it: lines, totals, status, carried reversals."""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from benefits.public import CarriedReversal, month_of
from merchants.terminal.schemas import RedemptionItem, item_out
from merchants.terminal.settlement import Settlement, SettlementRow


class SettlementLineOut(msgspec.Struct):
    program_id: uuid.UUID | None
    program_code: str
    store_id: uuid.UUID | None
    store_name: str
    redemptions: int
    reversed: int
    count: int
    gross_fen: int
    discount_fen: int
    payable_fen: int
    subsidy_fen: int
    units: int
    reversed_gross_fen: int
    reversed_discount_fen: int
    reversed_subsidy_fen: int


class CarriedReversalOut(msgspec.Struct):
    redemption_id: uuid.UUID
    line_id: uuid.UUID
    program_id: uuid.UUID
    program_code: str
    store_id: uuid.UUID | None
    occurred_at: datetime
    redeemed_in: Annotated[str, msgspec.Meta(examples=["2026-02"])]
    reversed_at: datetime
    amount_fen: int
    discount_fen: int
    subsidy_fen: int


class VoucherSettlementLineOut(msgspec.Struct):
    """A voucher campaign's uses at this merchant in the month (消费券), net of reversals.
    ``subsidy_fen``: what the federation owes for them (``funded_by: merchant``: 0)."""

    campaign_id: uuid.UUID
    campaign_code: str
    campaign_name: str
    funded_by: Annotated[str, msgspec.Meta(examples=["federation"])]
    uses: int
    reversed: int
    carried_reversals: int
    count: int
    gross_fen: int
    discount_fen: int
    payable_fen: int
    subsidy_fen: int


class SettlementOut(msgspec.Struct):
    merchant_id: uuid.UUID
    month: Annotated[str, msgspec.Meta(examples=["2026-03"])]
    time_zone: str
    # Always sent: no defaults, so that the schema marks them required.
    since: datetime = msgspec.field(name="from")
    until: datetime = msgspec.field(name="to")
    currency: Literal["CNY"]
    lines: list[SettlementLineOut]
    totals: SettlementLineOut | None
    # Where the month stands with the federation: open, confirmed (figures frozen), paid.
    status: Literal["open", "confirmed", "paid"]
    confirmed_at: datetime | None
    paid_at: datetime | None
    paid_on: date | None
    payment_ref: str | None
    # Reversals of earlier, frozen months booked into this one (already netted in the lines).
    carried_reversals: list[CarriedReversalOut]
    note: str | None
    # Voucher campaigns used here, and what the federation owes for them (beside ``totals``,
    # which are the programmes').
    vouchers: list[VoucherSettlementLineOut]
    voucher_subsidy_fen: int
    # With ``detail=true``: every redemption line of the month, with its bill reference.
    items: list[RedemptionItem] | None = None


def _line(g: SettlementRow, *, total: bool = False) -> SettlementLineOut:
    return SettlementLineOut(
        program_id=None if total else g.program_id,
        program_code="TOTAL" if total else g.program_code,
        store_id=g.store_id,
        store_name=g.store_name,
        redemptions=g.redemptions,
        reversed=g.reversed,
        count=g.count,
        gross_fen=g.gross_fen,
        discount_fen=g.discount_fen,
        payable_fen=g.payable_fen,
        subsidy_fen=g.subsidy_fen,
        units=g.units,
        reversed_gross_fen=g.reversed_gross_fen,
        reversed_discount_fen=g.reversed_discount_fen,
        reversed_subsidy_fen=g.reversed_subsidy_fen,
    )


def _carried_out(c: CarriedReversal, time_zone: str) -> CarriedReversalOut:
    return CarriedReversalOut(
        redemption_id=c.redemption_id,
        line_id=c.line_id,
        program_id=c.program_id,
        program_code=c.program_code,
        store_id=c.store_id,
        occurred_at=c.occurred_at,
        redeemed_in=month_of(c.occurred_at, time_zone),
        reversed_at=c.reversed_at,
        amount_fen=c.amount_fen,
        discount_fen=c.discount_fen,
        subsidy_fen=c.subsidy_fen,
    )


def _settlement_note(s: Settlement) -> str | None:
    if not s.carried:
        return None
    months = "、".join(sorted({month_of(c.occurred_at, s.time_zone) for c in s.carried}))
    return (
        f"含 {len(s.carried)} 笔已结算月份（{months}）核销的撤销，计入本月冲减。"
        f" {len(s.carried)} reversal(s) of settled months ({months}) are deducted here."
    )


def settlement_out(s: Settlement) -> SettlementOut:
    st = s.statement
    return SettlementOut(
        merchant_id=s.merchant_id,
        month=s.month,
        time_zone=s.time_zone,
        since=s.since,
        until=s.until,
        currency="CNY",
        lines=[_line(g) for g in s.rows],
        totals=_line(s.totals, total=True) if s.totals else None,
        items=None if s.items is None else [item_out(r) for r in s.items],
        status=st.status.value if st else "open",
        confirmed_at=st.confirmed_at if st else None,
        paid_at=st.paid_at if st else None,
        paid_on=st.paid_on if st else None,
        payment_ref=st.payment_ref if st else None,
        carried_reversals=[_carried_out(c, s.time_zone) for c in s.carried],
        note=_settlement_note(s),
        vouchers=[
            VoucherSettlementLineOut(
                campaign_id=v.campaign_id,
                campaign_code=v.campaign_code,
                campaign_name=v.campaign_name,
                funded_by=v.funded_by,
                uses=v.uses,
                reversed=v.reversed,
                carried_reversals=v.carried_reversals,
                count=v.count,
                gross_fen=v.gross_fen,
                discount_fen=v.discount_fen,
                payable_fen=v.payable_fen,
                subsidy_fen=v.subsidy_fen,
            )
            for v in s.vouchers
        ],
        voucher_subsidy_fen=s.voucher_subsidy_fen,
    )
