"""The console's start page: key figures and four charts of one subtree.

Figures come from the same report functions as ``/api/v1/reports/*`` (members, joins,
redemptions, budgets) with the same ``reports.read`` check on the org. The page carries only
the chart canvases; ``console-charts.js`` fetches ``/console/dashboard.json`` and draws them
with Chart.js (no inline script under the CSP).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.programmes.reports import (
    budget_figures,
    budget_spent_by_day,
    date_range,
    redemption_figures,
)
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.membership.models import RequestStatus
from cardsvc.membership.service import pending_applications
from cardsvc.orgs.models import Org
from cardsvc.pages.console.common import ConsoleController, page
from cardsvc.pages.console.reconciliation import reconciliation_card
from cardsvc.pages.i18n import lang_of, pick
from cardsvc.reports.joins import joins_report
from cardsvc.reports.members import members_report
from cardsvc.reports.period import report_range
from cardsvc.reports.scope import report_org, report_roots

REDEMPTION_DAYS = 30


def _section(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return next((s["rows"] for s in doc["sections"] if s["key"] == key), [])


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    return {f["key"]: f["value"] for f in doc["summary"]}


async def budget_burndown(
    db: AsyncSession, org: Org, time_zone: str, today: date
) -> dict[str, Any]:
    """Remaining budget of the org's budgeted programmes, day by day since 1 January.

    Budget = the budget limits in force now; each day subtracts what the budgets counted
    (``value_fen``) that day, net of reversals.
    """
    year = date_range(date(today.year, 1, 1), today, time_zone)
    lines = [
        b
        for b in await budget_figures(db, owner_org_prefix=org.path, rng=year)
        if b.budget_limit_fen is not None
    ]
    total = sum(b.budget_limit_fen or 0 for b in lines)
    per_day = await budget_spent_by_day(db, program_ids=[b.program_id for b in lines], rng=year)
    labels, remaining, ideal = [], [], []
    left = total
    days = (today - year.start).days + 1
    year_days = (date(today.year, 12, 31) - year.start).days + 1
    for i in range(days):
        day = year.start + timedelta(days=i)
        left -= per_day.get(day, 0)
        labels.append(day.isoformat())
        remaining.append(round(left / 100, 2))
        ideal.append(round(total * (1 - (i + 1) / year_days) / 100, 2))
    return {
        "labels": labels,
        "remaining": remaining,
        "ideal": ideal,
        "budget_fen": total,
        "spent_fen": sum(b.budget_spent_fen or 0 for b in lines),
        "programmes": len(lines),
    }


class DashboardPages(ConsoleController):
    path = "/console"

    @get("/")
    async def dashboard(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        org_id: uuid.UUID | None = None,
    ) -> Template:
        org = await report_org(db_session, staff, org_id)
        pending = None
        if staff.can(Perm.member_write):
            _, pending = await pending_applications(
                db_session, staff, status=RequestStatus.pending, org_id=None, limit=1, offset=0
            )
        figures: dict[str, Any] = {}
        if org is not None:
            tz = state.settings.time_zone
            rng = report_range(None, None, tz)
            figures = _summary(await members_report(db_session, org, rng))
            recent = date_range(rng.end - timedelta(days=REDEMPTION_DAYS - 1), rng.end, tz)
            red = await redemption_figures(db_session, member_org_prefix=org.path, rng=recent)
            figures["redemptions"] = red.total.lines
            figures["discount_fen"] = red.total.discount_fen
        return await page(
            request,
            state,
            staff,
            "console/dashboard.html",
            "dashboard",
            org=org,
            roots=await report_roots(db_session, staff),
            pending=pending,
            figures=figures,
            days=REDEMPTION_DAYS,
            **await reconciliation_card(db_session, staff),
        )

    @get("/dashboard.json")
    async def chart_data(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        org_id: uuid.UUID | None = None,
    ) -> Response[dict[str, Any]]:
        """The four charts' series (labels and values, money in yuan)."""
        org = await report_org(db_session, staff, org_id)
        if org is None:
            return Response({}, headers={"Cache-Control": "no-store"})
        lang = lang_of(request)
        tz = state.settings.time_zone
        rng = report_range(None, None, tz)
        members = await members_report(db_session, org, rng)
        joins = await joins_report(db_session, org, rng)
        recent = date_range(rng.end - timedelta(days=REDEMPTION_DAYS - 1), rng.end, tz)
        red = await redemption_figures(db_session, member_org_prefix=org.path, rng=recent)
        burn = await budget_burndown(db_session, org, tz, rng.end)
        new = _section(members, "new_per_month")
        per_month = _section(joins, "per_month")
        body = {
            "members": {
                "labels": [r["month"] for r in new],
                "datasets": [
                    {"label": pick(lang, "新入会", "Joined"), "data": [r["count"] for r in new]}
                ],
            },
            "joins": {
                "labels": [r["month"] for r in per_month],
                "datasets": [
                    {
                        "label": pick(lang, "提交", "Submitted"),
                        "data": [r["submitted"] for r in per_month],
                    },
                    {
                        "label": pick(lang, "批准", "Approved"),
                        "data": [r["approved"] for r in per_month],
                    },
                    {
                        "label": pick(lang, "不予批准", "Rejected"),
                        "data": [r["rejected"] for r in per_month],
                    },
                ],
            },
            "redemptions": {
                "labels": [d.strftime("%m-%d") for d in red.by_day],
                "datasets": [
                    {
                        "label": pick(lang, "核销笔数", "Redemptions"),
                        "data": [t.lines for t in red.by_day.values()],
                    },
                    {
                        "label": pick(lang, "优惠金额(元)", "Discount (yuan)"),
                        "data": [round(t.discount_fen / 100, 2) for t in red.by_day.values()],
                        "yAxisID": "money",
                    },
                ],
            },
            "budget": {
                "labels": burn["labels"],
                "datasets": [
                    {
                        "label": pick(lang, "剩余预算(元)", "Budget left (yuan)"),
                        "data": burn["remaining"],
                    },
                    {
                        "label": pick(lang, "按时间均匀使用", "Even use over the year"),
                        "data": burn["ideal"],
                        "dashed": True,
                    },
                ],
                "budget_fen": burn["budget_fen"],
                "spent_fen": burn["spent_fen"],
            },
            "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        }
        return Response(body, headers={"Cache-Control": "no-store"})
