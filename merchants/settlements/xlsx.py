"""A month's statements for finance as .xlsx: one row per merchant (voucher subsidies included
in its totals), and one per merchant and programme or voucher campaign on a second sheet. Amounts in yuan with two decimals (finance's unit), counts as
numbers; names typed by people are never live formulas."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.cells import safe_cell
from cardsvc.kernel.principal import Principal
from merchants.settlements.service import MerchantStatement, audit_export, list_statements

STATUS_ZH = {"open": "未确认", "confirmed": "已确认", "paid": "已付款"}
_YUAN = "#,##0.00"
MERCHANT_HEADERS = (
    "商户",
    "商户编号",
    "月份",
    "状态",
    "笔数",
    "撤销笔数",
    "跨月撤销笔数",
    "消费金额（元）",
    "优惠金额（元）",
    "应付补贴（元）",
    "确认时间",
    "付款日期",
    "付款凭证号",
)
PROGRAMME_HEADERS = (
    "商户",
    "商户编号",
    "项目",
    "笔数",
    "撤销笔数",
    "跨月撤销笔数",
    "消费金额（元）",
    "优惠金额（元）",
    "应付补贴（元）",
    "类型",
)
KIND_ZH = {"programme": "普惠项目", "voucher": "消费券"}


def _yuan(fen: int) -> float:
    return fen / 100


def statements_xlsx(month: str, statements: Sequence[MerchantStatement]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = f"结算单 {month}"
    ws.append(MERCHANT_HEADERS)
    for s in statements:
        t, st = s.figures.totals, s.state
        ws.append(
            [
                safe_cell(s.merchant_name),
                str(s.merchant_id),
                month,
                STATUS_ZH[st.status.value],
                t.count,
                t.reversed,
                t.carried_reversals,
                _yuan(t.gross_fen),
                _yuan(t.discount_fen),
                _yuan(t.subsidy_fen),
                st.confirmed_at.replace(tzinfo=None) if st.confirmed_at else None,
                st.paid_on,
                safe_cell(st.payment_ref or ""),
            ]
        )
    total = sum(s.figures.totals.subsidy_fen for s in statements)
    ws.append(["合计", "", month, "", *([""] * 5), _yuan(total)])
    lines = wb.create_sheet("按项目")
    lines.append(PROGRAMME_HEADERS)
    for s in statements:
        for g in s.figures.lines:
            lines.append(
                [
                    safe_cell(s.merchant_name),
                    str(s.merchant_id),
                    safe_cell(g.program_code),
                    g.count,
                    g.reversed,
                    g.carried_reversals,
                    _yuan(g.gross_fen),
                    _yuan(g.discount_fen),
                    _yuan(g.subsidy_fen),
                    KIND_ZH.get(g.kind, g.kind),
                ]
            )
    for sheet, money in ((ws, "HIJ"), (lines, "GHI")):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for col in money:
            for c in sheet[col][1:]:
                c.number_format = _YUAN
        sheet.freeze_panes = "A2"
        for col, width in (("A", 28), ("B", 38)):
            sheet.column_dimensions[col].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def export_statements(
    session: AsyncSession, actor: Principal, *, month: str, time_zone: str, now: datetime
) -> bytes:
    """The month's statements as an xlsx for finance (audited): the API's and the console's."""
    statements = await list_statements(session, actor, month=month, time_zone=time_zone, now=now)
    audit_export(session, actor, month, statements)
    return statements_xlsx(month, statements)
