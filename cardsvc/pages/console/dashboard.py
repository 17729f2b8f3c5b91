"""The console's start page: key figures and four charts of one subtree.

Figures come from the same report functions as ``/api/v1/reports/*`` (members, joins,
redemptions, budgets) with the same ``reports.read`` check on the org. The page carries only
the chart canvases; ``console-charts.js`` fetches ``/console/dashboard.json`` and draws them
with Chart.js (no inline script under the CSP).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

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
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.membership.models import RequestStatus
from cardsvc.membership.service import pending_applications
from cardsvc.orgs.models import Org
from cardsvc.pages.console.common import ConsoleController, page
from cardsvc.pages.console.reconciliation import reconciliation_card
from cardsvc.pages.i18n import Lang, lang_of, pick
from cardsvc.reports.joins import joins_report
from cardsvc.reports.members import members_report
from cardsvc.reports.period import report_range
from cardsvc.reports.scope import report_org, report_roots
from cardsvc.servicereq.hardship import service as hardship
from cardsvc.servicereq.queue import QueueFilter, list_queue

REDEMPTION_DAYS = 30
REVIEW_DAYS = 30


@dataclass(frozen=True, slots=True)
class Todo:
    """One line of the to-do panel: how many things wait, and where to deal with them."""

    key: str
    zh: str
    en: str
    count: int
    href: str
    tone: str = ""  # "warn" or "err" when the count is more than routine work


async def todo_items(db: AsyncSession, staff: Principal, time_zone: str) -> list[Todo]:
    """What waits for this staff member, by the sections their roles may use."""
    now = utc_now()
    items: list[Todo] = []
    if staff.can(Perm.member_write):
        _, pending = await pending_applications(
            db, staff, status=RequestStatus.pending, org_id=None, limit=1, offset=0
        )
        items.append(
            Todo(
                "applications",
                "待审批入会申请",
                "Applications to decide",
                pending,
                "/console/approvals",
            )
        )
    if staff.can(Perm.service_handle):
        _, _, counts = await list_queue(db, staff, QueueFilter(), now=now, limit=1, offset=0)
        items.append(
            Todo(
                "service_new",
                "待受理服务申请",
                "Service requests to accept",
                counts["submitted"],
                "/console/service?tab=open",
            )
        )
        items.append(
            Todo(
                "service_overdue",
                "已超时服务申请",
                "Overdue service requests",
                counts["overdue"],
                "/console/service?tab=overdue",
                "err" if counts["overdue"] else "",
            )
        )
    if staff.can(Perm.hardship_read):
        today = now.astimezone(ZoneInfo(time_zone)).date()
        hard = await hardship.todo_counts(db, staff, today=today, review_within_days=REVIEW_DAYS)
        items.append(
            Todo(
                "hardship_decide",
                "待审批困难职工建档",
                "Hardship records to decide",
                hard["awaiting_me"],
                "/console/hardship?awaiting_me=true",
            )
        )
        items.append(
            Todo(
                "hardship_review",
                f"{REVIEW_DAYS} 天内到期复核的困难职工档案",
                f"Hardship reviews due within {REVIEW_DAYS} days",
                hard["review_due"],
                "/console/hardship?status=approved",
                "warn" if hard["review_due"] else "",
            )
        )
    return items


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


def _joins_series(per_month: list[dict[str, Any]], lang: Lang) -> dict[str, Any]:
    """Applications per month: submitted (neutral), approved (green), refused (red)."""
    return {
        "labels": [r["month"] for r in per_month],
        "datasets": [
            {
                "label": pick(lang, "提交", "Submitted"),
                "data": [r["submitted"] for r in per_month],
                "tone": "neutral",
            },
            {
                "label": pick(lang, "批准", "Approved"),
                "data": [r["approved"] for r in per_month],
                "tone": "good",
            },
            {
                "label": pick(lang, "不予批准", "Rejected"),
                "data": [r["rejected"] for r in per_month],
                "tone": "bad",
            },
        ],
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
        todo = await todo_items(db_session, staff, state.settings.time_zone)
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
            todo=todo,
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
            "joins": _joins_series(per_month, lang),
            "redemptions": {
                "labels": [d.strftime("%m-%d") for d in red.by_day],
                "datasets": [
                    {
                        "label": pick(lang, "核销笔数", "Redemptions"),
                        "data": [t.lines for t in red.by_day.values()],
                    },
                    {
                        "label": pick(lang, "优惠金额（元）", "Discount (yuan)"),
                        "data": [round(t.discount_fen / 100, 2) for t in red.by_day.values()],
                        "yAxisID": "money",
                    },
                ],
            },
            "budget": {
                "labels": burn["labels"],
                "datasets": [
                    {
                        "label": pick(lang, "剩余预算（元）", "Budget left (yuan)"),
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
