"""Reports on one subtree and period, shown as tables (the activities and the vouchers with a
chart), with the API's CSV / Excel export; and the member export. Same report functions and
``reports.read`` check as the API."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.programmes.reports import budget_figures, date_range, redemption_figures
from benefits.vouchers.reports import (
    voucher_chart,
    voucher_figures,
    voucher_sections,
    voucher_summary,
)
from cardsvc.activities.reports import activities_report
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.orgs.models import Org
from cardsvc.pages.console.common import ConsoleController, page, require
from cardsvc.pages.i18n import lang_of
from cardsvc.reports.coverage import coverage_report
from cardsvc.reports.joins import joins_report
from cardsvc.reports.members import members_report
from cardsvc.reports.period import ReportRange, report_range
from cardsvc.reports.scope import report_org, report_roots
from cardsvc.reports.service_requests import hardship_report, service_report

REPORTS = {
    "members": ("会员统计", "Members"),
    "joins": ("入会申请与审批", "Applications"),
    "coverage": ("入会覆盖", "Coverage"),
    "redemptions": ("核销统计", "Redemptions"),
    "budgets": ("项目预算执行", "Programme budgets"),
    # Keys are the API's report paths (/api/v1/reports/<key>), which the export links use.
    "service-requests": ("服务申请", "Service requests"),
    "hardship": ("困难帮扶", "Hardship assistance"),
    "activities": ("活动与培训", "Activities and training"),
    "vouchers": ("消费券", "Vouchers"),
}


def _col(key: str, zh: str, en: str) -> dict[str, str]:
    return {"key": key, "label": zh, "label_en": en}


def _fig(key: str, zh: str, en: str, value: Any) -> dict[str, Any]:
    return {"key": key, "label": zh, "label_en": en, "value": value}


async def _redemptions(db: AsyncSession, org: Org, rng: ReportRange) -> dict[str, Any]:
    figures = await redemption_figures(
        db, member_org_prefix=org.path, rng=date_range(rng.start, rng.end, rng.time_zone)
    )
    t = figures.total
    return {
        "summary": [
            _fig("lines", "核销笔数（净）", "Redemptions (net)", t.lines),
            _fig("reversed_lines", "已撤销笔数", "Reversed", figures.reversed_lines),
            _fig("amount_fen", "消费金额", "Spend", t.amount_fen),
            _fig("discount_fen", "优惠金额", "Discount", t.discount_fen),
            _fig("subsidy_fen", "补贴金额", "Subsidy", t.subsidy_fen),
        ],
        "sections": [
            {
                "key": "by_program",
                "title": "按项目",
                "title_en": "By programme",
                "columns": [
                    _col("code", "项目编码", "Code"),
                    _col("name", "项目名称", "Programme"),
                    _col("lines", "笔数", "Lines"),
                    _col("discount_fen", "优惠（分）", "Discount (fen)"),
                    _col("subsidy_fen", "补贴（分）", "Subsidy (fen)"),
                ],
                "rows": [
                    {
                        "code": p.code,
                        "name": p.name,
                        "lines": p.tally.lines,
                        "discount_fen": p.tally.discount_fen,
                        "subsidy_fen": p.tally.subsidy_fen,
                    }
                    for p in figures.by_program
                ],
            }
        ],
    }


async def _budgets(db: AsyncSession, org: Org, rng: ReportRange) -> dict[str, Any]:
    lines = await budget_figures(
        db, owner_org_prefix=org.path, rng=date_range(rng.start, rng.end, rng.time_zone)
    )
    budgeted = [b for b in lines if b.budget_limit_fen is not None]
    return {
        "summary": [
            _fig("programs", "项目数", "Programmes", len(lines)),
            _fig("budgeted", "设预算的项目", "With a budget", len(budgeted)),
            _fig(
                "budget_fen", "预算合计", "Budget", sum(b.budget_limit_fen or 0 for b in budgeted)
            ),
            _fig(
                "spent_fen",
                "已用预算",
                "Spent",
                sum(b.budget_spent_fen or 0 for b in budgeted),
            ),
        ],
        "sections": [
            {
                "key": "by_program",
                "title": "按项目",
                "title_en": "By programme",
                "columns": [
                    _col("code", "项目编码", "Code"),
                    _col("name", "项目名称", "Programme"),
                    _col("budget_fen", "预算（分）", "Budget (fen)"),
                    _col("spent_fen", "已用（分）", "Spent (fen)"),
                    _col("remaining_fen", "剩余（分）", "Remaining (fen)"),
                    _col("range_lines", "期间笔数", "Lines in range"),
                ],
                "rows": [
                    {
                        "code": b.code,
                        "name": b.name,
                        "budget_fen": b.budget_limit_fen,
                        "spent_fen": b.budget_spent_fen,
                        "remaining_fen": b.budget_remaining_fen,
                        "range_lines": b.range_lines,
                    }
                    for b in lines
                ],
            }
        ],
    }


async def _vouchers(db: AsyncSession, org: Org, rng: ReportRange, host: Any) -> dict[str, Any]:
    span = date_range(rng.start, rng.end, rng.time_zone)
    figures = await voucher_figures(
        db, owner_org_prefix=org.path, since=span.since, until=span.until
    )
    # The org names through the report host, as the API's voucher report gets them.
    orgs = {oid: await host.org(oid) for oid in figures.by_org}
    org_names = {oid: found[1] for oid, found in orgs.items() if found is not None}
    names = await host.merchant_names(list(figures.by_merchant))
    return {
        "summary": voucher_summary(figures),
        "sections": voucher_sections(figures, org_names, names),
    }


def day_param(value: str | None, field: str) -> date | None:
    """A day of the report's range as the form sends it (YYYY-MM-DD)."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError.field(field, "日期格式应为 YYYY-MM-DD", "use YYYY-MM-DD") from None


class ReportPages(ConsoleController):
    path = "/console/reports"

    @get("/")
    async def report(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        read_session: AsyncSession,
        report_host: Any,
        report: str = "members",
        org_id: uuid.UUID | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> Template:
        require(staff, Perm.reports_read, "您的角色无权查看报表", "Your role may not read reports")
        report = report if report in REPORTS else "members"
        org = await report_org(read_session, staff, org_id)
        doc: dict[str, Any] = {"summary": [], "sections": []}
        rng = report_range(
            day_param(date_from, "from"), day_param(date_to, "to"), state.settings.time_zone
        )
        if org is not None:
            if report == "members":
                doc = await members_report(read_session, org, rng)
            elif report == "joins":
                doc = await joins_report(read_session, org, rng)
            elif report == "coverage":
                doc = await coverage_report(read_session, org, rng)
            elif report == "service-requests":
                doc = await service_report(read_session, org, rng, utc_now())
            elif report == "hardship":
                doc = await hardship_report(read_session, org, rng)
            elif report == "activities":
                doc = await activities_report(read_session, org, rng, utc_now())
            elif report == "vouchers":
                doc = await _vouchers(read_session, org, rng, report_host)
            elif report == "redemptions":
                doc = await _redemptions(read_session, org, rng)
            else:
                doc = await _budgets(read_session, org, rng)
        return await page(
            request,
            state,
            staff,
            "console/reports.html",
            "reports",
            reports=REPORTS,
            report=report,
            org=org,
            orgs=await report_roots(read_session, staff),
            rng=rng,
            doc=doc,
            can_export_members=org is not None and staff.can(Perm.member_export, org.path),
            can_unmask=org is not None and staff.can(Perm.member_unmask, org.path),
        )

    @get("/vouchers.json")
    async def voucher_chart_data(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        read_session: AsyncSession,
        org_id: uuid.UUID | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> Response[dict[str, Any]]:
        """The vouchers chart of the reports page: the same figures as the table."""
        require(staff, Perm.reports_read, "您的角色无权查看报表", "Your role may not read reports")
        org = await report_org(read_session, staff, org_id)
        if org is None:
            return Response({}, headers={"Cache-Control": "no-store"})
        rng = report_range(
            day_param(date_from, "from"), day_param(date_to, "to"), state.settings.time_zone
        )
        span = date_range(rng.start, rng.end, rng.time_zone)
        figures = await voucher_figures(
            read_session, owner_org_prefix=org.path, since=span.since, until=span.until
        )
        return Response(
            voucher_chart(figures, lang_of(request)), headers={"Cache-Control": "no-store"}
        )
