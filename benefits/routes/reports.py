"""HTTP: redemption and budget reports of an org's subtree (JSON for charts, CSV, XLSX).

The engine knows neither orgs nor staff nor merchants' names, so the host (the composition
root) provides two dependencies:

* ``staff``: the signed-in staff member; anything with ``.can(perm, org_path)``;
* ``report_host``: a :class:`ReportHost`, the org resolver (org id → materialised path), the
  federation's time zone, merchants' display names, and the report file writer shared with
  the host's own reports (one CSV/XLSX format, one formula-neutralising cell rule).

A viewer without ``reports.read`` on the org gets 404, as if the org did not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Protocol

from litestar import Controller, Request, get
from litestar.openapi.spec import (
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Schema,
)
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.params import Parameter, SkipValidation
from litestar.response import Response
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.errors import NotFound, ValidationError
from benefits.programmes.reports import (
    BudgetLine,
    DateRange,
    Tally,
    budget_figures,
    date_range,
    redemption_figures,
)
from benefits.rules.periods import zone
from benefits.vouchers.reports import voucher_figures, voucher_sections, voucher_summary

REPORTS_READ = "reports.read"
MAX_DAYS = 3660
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATUS_ZH = {"draft": "草稿", "active": "进行中", "paused": "已暂停", "ended": "已结束"}


class ReportViewer(Protocol):
    def can(self, perm: Any, org_path: str | None = None) -> bool: ...


class ReportHost(Protocol):
    time_zone: str

    async def org(self, org_id: uuid.UUID) -> tuple[str, str] | None:
        """The org's materialised path and display name."""
        ...

    async def merchant_names(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]: ...

    def respond(
        self, doc: dict[str, Any], *, fmt: str | None, accept: str | None, filename: str
    ) -> Response[Any]: ...


Viewer = SkipValidation[ReportViewer]
Host = SkipValidation[ReportHost]
OrgId = Annotated[uuid.UUID, Parameter(description="root of the subtree reported on")]
From = Annotated[
    date | None,
    Parameter(query="from", description="first day (federation time zone); default 12 months"),
]
To = Annotated[date | None, Parameter(query="to", description="last day, inclusive; default today")]
Format = Annotated[
    str | None,
    Parameter(query="format", description="json (default), csv or xlsx; or use Accept"),
]


def default_range(start: date | None, end: date | None, time_zone: str) -> DateRange:
    """``[from, to]`` checked; missing ends default to the last 12 calendar months."""
    if end is None:
        end = datetime.now(zone(time_zone)).date()
    if start is None:
        months = end.year * 12 + end.month - 1 - 11
        start = date(months // 12, months % 12 + 1, 1)
    if start > end:
        raise ValidationError.field("from", "开始日期晚于结束日期", "from is after to")
    if (end - start).days >= MAX_DAYS:
        raise ValidationError.field(
            "from", f"时间范围不能超过 {MAX_DAYS} 天", f"the range may span at most {MAX_DAYS} days"
        )
    return date_range(start, end, time_zone)


def _col(key: str, label: str, label_en: str) -> dict[str, str]:
    return {"key": key, "label": label, "label_en": label_en}


_TALLY_COLS = [
    _col("lines", "核销笔数", "Redemptions"),
    _col("units", "数量", "Units"),
    _col("amount_fen", "消费金额（分）", "Spend (fen)"),
    _col("discount_fen", "优惠金额（分）", "Discount (fen)"),
    _col("subsidy_fen", "补贴金额（分）", "Subsidy (fen)"),
]


def _tally(t: Tally) -> dict[str, int]:
    return {
        "lines": t.lines,
        "units": t.units,
        "amount_fen": t.amount_fen,
        "discount_fen": t.discount_fen,
        "subsidy_fen": t.subsidy_fen,
    }


def _doc(
    report: str, title: str, title_en: str, org: tuple[uuid.UUID, str], rng: DateRange, tz: str
) -> dict[str, Any]:
    return {
        "report": report,
        "title": title,
        "title_en": title_en,
        "org": {"id": str(org[0]), "name": org[1]},
        "from": rng.start.isoformat(),
        "to": rng.end.isoformat(),
        "time_zone": tz,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "summary": [],
        "sections": [],
    }


def _figure(key: str, label: str, label_en: str, value: Any) -> dict[str, Any]:
    return {"key": key, "label": label, "label_en": label_en, "value": value}


@dataclass
class FileReportOperation(Operation):
    """The report's 200 is JSON, CSV or XLSX (``format=`` or Accept), the files as attachments:
    one status, three media types, which a response spec cannot say."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if not isinstance(ok, OpenAPIResponse):
            return
        text = Schema(type=OpenAPIType.STRING)
        ok.content = {
            **(ok.content or {}),
            "text/csv": OpenAPIMediaType(schema=text),
            XLSX_MEDIA: OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
            ),
        }
        ok.headers = {
            **(ok.headers or {}),
            "Content-Disposition": OpenAPIHeader(
                schema=text, description="with CSV or XLSX: attachment; filename=…"
            ),
        }


class BenefitReportController(Controller):
    path = "/api/v1/reports"
    tags = ["staff: reports"]
    security = [{"staffSession": []}]

    async def _scope(
        self,
        staff: ReportViewer,
        host: ReportHost,
        org_id: uuid.UUID,
        start: date | None,
        end: date | None,
    ) -> tuple[str, str, DateRange]:
        """The org's path and name, and the range."""
        found = await host.org(org_id)
        if found is None or not staff.can(REPORTS_READ, found[0]):
            raise NotFound(
                message_zh="未找到该组织", message_en="Org not found", code="org_not_found"
            )
        return *found, default_range(start, end, host.time_zone)

    @get(
        "/redemptions",
        operation_class=FileReportOperation,
        summary="Redemptions by members of a subtree: per programme, merchant and day",
        description=(
            "Net of reversals (a reversed line counts only in `reversed_lines`); filtered on the "
            "member's org when redeemed. `format=csv|xlsx` (or Accept) for a file."
        ),
    )
    async def redemptions(
        self,
        request: Request[Any, Any, Any],
        staff: Viewer,
        report_host: Host,
        read_session: AsyncSession,
        org_id: OrgId,
        date_from: From = None,
        date_to: To = None,
        fmt: Format = None,
    ) -> Response[Any]:
        prefix, name, rng = await self._scope(staff, report_host, org_id, date_from, date_to)
        figures = await redemption_figures(read_session, member_org_prefix=prefix, rng=rng)
        names = await report_host.merchant_names(list(figures.by_merchant))
        org = (org_id, name)
        doc = _doc("redemptions", "核销统计", "Redemptions", org, rng, report_host.time_zone)
        doc["summary"] = [
            _figure("lines", "核销笔数（净）", "Redemption lines (net)", figures.total.lines),
            _figure("checkouts", "核销单数（净）", "Checkouts (net)", figures.checkouts),
            _figure("reversed_lines", "已撤销笔数", "Reversed lines", figures.reversed_lines),
            _figure("units", "数量", "Units", figures.total.units),
            _figure("amount_fen", "消费金额（分）", "Spend (fen)", figures.total.amount_fen),
            _figure("discount_fen", "优惠金额（分）", "Discount (fen)", figures.total.discount_fen),
            _figure("subsidy_fen", "补贴金额（分）", "Subsidy (fen)", figures.total.subsidy_fen),
        ]
        doc["sections"] = [
            {
                "key": "by_program",
                "title": "按项目",
                "title_en": "By programme",
                "columns": [
                    _col("program_id", "项目ID", "Programme id"),
                    _col("code", "项目编码", "Code"),
                    _col("name", "项目名称", "Programme"),
                    *_TALLY_COLS,
                ],
                "rows": [
                    {"program_id": str(p.program_id), "code": p.code, "name": p.name}
                    | _tally(p.tally)
                    for p in figures.by_program
                ],
            },
            {
                "key": "by_merchant",
                "title": "按商户",
                "title_en": "By merchant",
                "columns": [
                    _col("merchant_id", "商户ID", "Merchant id"),
                    _col("name", "商户名称", "Merchant"),
                    *_TALLY_COLS,
                ],
                "rows": [
                    {"merchant_id": str(mid), "name": names.get(mid)} | _tally(t)
                    for mid, t in figures.by_merchant.items()
                ],
            },
            {
                "key": "by_day",
                "title": "按日",
                "title_en": "By day",
                "columns": [_col("day", "日期", "Day"), *_TALLY_COLS],
                "rows": [{"day": d.isoformat()} | _tally(t) for d, t in figures.by_day.items()],
            },
        ]
        return report_host.respond(
            doc,
            fmt=fmt,
            accept=request.headers.get("accept"),
            filename=f"redemptions-{rng.start}-{rng.end}",
        )

    @get(
        "/budgets",
        operation_class=FileReportOperation,
        summary="Budget spent vs budget of each programme owned in a subtree",
        description=(
            "Budget and spent come from the budget counter of the period containing the end of "
            "the range (or now); the range columns sum the programme's ledger, net of reversals."
        ),
    )
    async def budgets(
        self,
        request: Request[Any, Any, Any],
        staff: Viewer,
        report_host: Host,
        read_session: AsyncSession,
        org_id: OrgId,
        date_from: From = None,
        date_to: To = None,
        fmt: Format = None,
    ) -> Response[Any]:
        prefix, name, rng = await self._scope(staff, report_host, org_id, date_from, date_to)
        lines = await budget_figures(read_session, owner_org_prefix=prefix, rng=rng)
        doc = _doc(
            "budgets",
            "项目预算执行",
            "Programme budgets",
            (org_id, name),
            rng,
            report_host.time_zone,
        )
        doc["summary"] = _budget_summary(lines)
        doc["sections"] = [_budget_section(lines)]
        return report_host.respond(
            doc,
            fmt=fmt,
            accept=request.headers.get("accept"),
            filename=f"budgets-{rng.start}-{rng.end}",
        )

    @get(
        "/vouchers",
        operation_class=FileReportOperation,
        summary="Voucher campaigns owned in a subtree: claimed, used, expired, subsidy owed",
        description=(
            "Vouchers claimed in the range, per campaign, per owning org and per merchant where "
            "used; the subsidy owed is the discount of used vouchers the federation pays for. "
            "`format=csv|xlsx` (or Accept) for a file."
        ),
    )
    async def vouchers(
        self,
        request: Request[Any, Any, Any],
        staff: Viewer,
        report_host: Host,
        read_session: AsyncSession,
        org_id: OrgId,
        date_from: From = None,
        date_to: To = None,
        fmt: Format = None,
    ) -> Response[Any]:
        prefix, name, rng = await self._scope(staff, report_host, org_id, date_from, date_to)
        figures = await voucher_figures(
            read_session, owner_org_prefix=prefix, since=rng.since, until=rng.until
        )
        orgs = {oid: await report_host.org(oid) for oid in figures.by_org}
        org_names = {oid: found[1] for oid, found in orgs.items() if found is not None}
        names = await report_host.merchant_names(list(figures.by_merchant))
        doc = _doc("vouchers", "消费券", "Vouchers", (org_id, name), rng, report_host.time_zone)
        doc["summary"] = voucher_summary(figures)
        doc["sections"] = voucher_sections(figures, org_names, names)
        return report_host.respond(
            doc,
            fmt=fmt,
            accept=request.headers.get("accept"),
            filename=f"vouchers-{rng.start}-{rng.end}",
        )


def _budget_summary(lines: list[BudgetLine]) -> list[dict[str, Any]]:
    budgeted = [b for b in lines if b.budget_limit_fen is not None]
    return [
        _figure("programs", "项目数", "Programmes", len(lines)),
        _figure("budgeted", "设预算的项目数", "Programmes with a budget", len(budgeted)),
        _figure(
            "budget_fen",
            "预算合计（分）",
            "Budget (fen)",
            sum(b.budget_limit_fen or 0 for b in budgeted),
        ),
        _figure(
            "spent_fen",
            "已用预算合计（分）",
            "Budget spent (fen)",
            sum(b.budget_spent_fen or 0 for b in budgeted),
        ),
        _figure(
            "range_value_fen",
            "期间核销计额（分）",
            "Counted in range (fen)",
            sum(b.range_value_fen for b in lines),
        ),
    ]


def _budget_section(lines: list[BudgetLine]) -> dict[str, Any]:
    return {
        "key": "by_program",
        "title": "按项目",
        "title_en": "By programme",
        "columns": [
            _col("program_id", "项目ID", "Programme id"),
            _col("code", "项目编码", "Code"),
            _col("name", "项目名称", "Programme"),
            _col("status", "状态", "Status"),
            _col("budget_fen", "预算（分）", "Budget (fen)"),
            _col("spent_fen", "已用（分）", "Spent (fen)"),
            _col("remaining_fen", "剩余（分）", "Remaining (fen)"),
            _col("spent_pct", "执行率（%）", "Spent (%)"),
            _col("budget_period", "预算周期", "Budget period"),
            _col("range_lines", "期间核销笔数", "Lines in range"),
            _col("range_value_fen", "期间计额（分）", "Counted in range (fen)"),
            _col("range_discount_fen", "期间优惠（分）", "Discount in range (fen)"),
            _col("range_subsidy_fen", "期间补贴（分）", "Subsidy in range (fen)"),
        ],
        "rows": [
            {
                "program_id": str(b.program_id),
                "code": b.code,
                "name": b.name,
                "status": STATUS_ZH.get(b.status, b.status),
                "budget_fen": b.budget_limit_fen,
                "spent_fen": b.budget_spent_fen,
                "remaining_fen": b.budget_remaining_fen,
                "spent_pct": _pct(b.budget_spent_fen, b.budget_limit_fen),
                "budget_period": b.budget_period,
                "range_lines": b.range_lines,
                "range_value_fen": b.range_value_fen,
                "range_discount_fen": b.range_discount_fen,
                "range_subsidy_fen": b.range_subsidy_fen,
            }
            for b in lines
        ],
    }


def _pct(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return round(part * 100 / whole, 1)
