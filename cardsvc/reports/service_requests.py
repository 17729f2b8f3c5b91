"""Reports on service requests and hardship assistance of a subtree.

Service requests (``/api/v1/reports/service-requests``): requests filed in the range (by
``submitted_at``, federation zone) per kind and per child org, with the time to accept
(``accepted_at - submitted_at``) and to resolve (``closed_at - submitted_at`` of resolved
ones), in hours (median and p90 by nearest rank, two decimals), how many were escalated, how
many are overdue *now* (open past their deadline), and satisfaction (mean rating 1–5 and the
share rated 4 or 5) of the rated ones among them.

Hardship (``/api/v1/reports/hardship``): assistance delivered per month (hardship requests
resolved, payments recorded on any request), and hardship records: in force now by category
and level, pending approval, approved and expired in the range.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.orgs.models import Org, OrgStatus
from cardsvc.reports.doc import col, figure, new_doc, section
from cardsvc.reports.joins import lead_days
from cardsvc.reports.period import ReportRange
from cardsvc.servicereq.hardship.models import (
    CATEGORY_LABELS_ZH,
    HardshipCategory,
    HardshipRecord,
    HardshipStatus,
)
from cardsvc.servicereq.models import (
    KIND_LABELS_ZH,
    OPEN_STATUSES,
    RequestKind,
    ServiceRequest,
    ServiceStatus,
    ServiceStep,
)

SR = ServiceRequest


def _hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600


class _Acc:
    def __init__(self) -> None:
        self.filed = self.resolved = self.rejected = self.escalated = self.overdue = 0
        self.accept: list[float] = []
        self.resolve: list[float] = []
        self.ratings: list[int] = []

    def add(self, r: Any, now: datetime) -> None:
        self.filed += 1
        self.resolved += r.status == ServiceStatus.resolved
        self.rejected += r.status == ServiceStatus.rejected
        self.escalated += r.escalations > 0
        self.overdue += bool(r.status in OPEN_STATUSES and r.due_at is not None and r.due_at < now)
        if r.accepted_at is not None:
            self.accept.append(_hours(r.submitted_at, r.accepted_at))
        if r.status == ServiceStatus.resolved and r.closed_at is not None:
            self.resolve.append(_hours(r.submitted_at, r.closed_at))
        if r.rating is not None:
            self.ratings.append(r.rating)

    def row(self) -> dict[str, Any]:
        am, ap = lead_days(self.accept)
        rm, rp = lead_days(self.resolve)
        n = len(self.ratings)
        return {
            "filed": self.filed,
            "resolved": self.resolved,
            "rejected": self.rejected,
            "escalated": self.escalated,
            "overdue_now": self.overdue,
            "accept_median_hours": am,
            "accept_p90_hours": ap,
            "resolve_median_hours": rm,
            "resolve_p90_hours": rp,
            "ratings": n,
            "rating_avg": round(sum(self.ratings) / n, 2) if n else None,
            "satisfied_pct": round(100 * sum(x >= 4 for x in self.ratings) / n, 1) if n else None,
        }


_COLUMNS = [
    col("filed", "受理申请", "Filed"),
    col("resolved", "已办结", "Resolved"),
    col("rejected", "不予办理", "Rejected"),
    col("escalated", "曾升级", "Escalated"),
    col("overdue_now", "当前超时", "Overdue now"),
    col("accept_median_hours", "受理用时中位数（小时）", "Time to accept, median (h)"),
    col("accept_p90_hours", "受理用时P90（小时）", "Time to accept, p90 (h)"),
    col("resolve_median_hours", "办结用时中位数（小时）", "Time to resolve, median (h)"),
    col("resolve_p90_hours", "办结用时P90（小时）", "Time to resolve, p90 (h)"),
    col("ratings", "评价数", "Ratings"),
    col("rating_avg", "平均评分", "Mean rating"),
    col("satisfied_pct", "满意率（%）", "Satisfied (%)"),
]


async def _requests_in_range(session: AsyncSession, org: Org, rng: ReportRange) -> list[Any]:
    return list(
        (
            await session.execute(
                select(
                    SR.kind,
                    SR.status,
                    SR.org_path,
                    SR.submitted_at,
                    SR.accepted_at,
                    SR.closed_at,
                    SR.due_at,
                    SR.escalations,
                    SR.rating,
                ).where(
                    SR.org_path.startswith(org.path, autoescape=True),
                    SR.submitted_at >= rng.since,
                    SR.submitted_at < rng.until,
                )
            )
        ).all()
    )


async def _open_and_overdue(session: AsyncSession, org: Org, now: datetime) -> tuple[int, int]:
    """Requests of the subtree open now, and those of them past their deadline."""
    open_now = await session.scalar(
        select(func.count())
        .select_from(SR)
        .where(
            SR.org_path.startswith(org.path, autoescape=True), SR.status.in_(list(OPEN_STATUSES))
        )
    )
    overdue_now = await session.scalar(
        select(func.count())
        .select_from(SR)
        .where(
            SR.org_path.startswith(org.path, autoescape=True),
            SR.status.in_(list(OPEN_STATUSES)),
            SR.due_at < now,
        )
    )
    return int(open_now or 0), int(overdue_now or 0)


def _service_summary(t: dict[str, Any], open_now: int, overdue_now: int) -> list[Any]:
    return [
        figure("filed", "期间受理申请", "Filed in range", t["filed"]),
        figure("resolved", "其中已办结", "Of which resolved", t["resolved"]),
        figure("escalated", "其中曾升级", "Of which escalated", t["escalated"]),
        figure("open_now", "当前未办结", "Open now", open_now),
        figure("overdue_now", "当前超时", "Overdue now", overdue_now),
        figure(
            "accept_median_hours",
            "受理用时中位数（小时）",
            "Time to accept, median (h)",
            t["accept_median_hours"],
        ),
        figure(
            "resolve_median_hours",
            "办结用时中位数（小时）",
            "Time to resolve, median (h)",
            t["resolve_median_hours"],
        ),
        figure("rating_avg", "平均评分", "Mean rating", t["rating_avg"]),
        figure("satisfied_pct", "满意率（%）", "Satisfied (%)", t["satisfied_pct"]),
    ]


def _service_sections(
    org: Org, children: list[Org], per_kind: dict[RequestKind, _Acc], per_child: dict[str, _Acc]
) -> list[Any]:
    kind_rows = [
        {
            "kind": k.value,
            "kind_label": KIND_LABELS_ZH[k],
            **(per_kind[k].row() if k in per_kind else _Acc().row()),
        }
        for k in RequestKind
    ]
    org_rows = [
        {"org_code": org.code, "org_name": f"{org.name}（本级）", **per_child[org.path].row()}
    ] + [{"org_code": c.code, "org_name": c.name, **per_child[c.path].row()} for c in children]
    return [
        section(
            "per_kind",
            "按类别",
            "Per kind",
            [col("kind", "类别代码", "Kind"), col("kind_label", "类别", "Kind label"), *_COLUMNS],
            kind_rows,
        ),
        section(
            "per_org",
            "按下级组织（含其下级）",
            "Per child org (with its subtree)",
            [col("org_code", "组织编码", "Org code"), col("org_name", "组织", "Org"), *_COLUMNS],
            org_rows,
        ),
    ]


async def service_report(
    session: AsyncSession, org: Org, rng: ReportRange, now: datetime
) -> dict[str, Any]:
    rows = await _requests_in_range(session, org, rng)
    children = list(
        await session.scalars(
            select(Org)
            .where(Org.parent_id == org.id, Org.status == OrgStatus.active)
            .order_by(Org.code)
        )
    )
    total = _Acc()
    per_kind: dict[RequestKind, _Acc] = defaultdict(_Acc)
    per_child: dict[str, _Acc] = defaultdict(_Acc)
    for r in rows:
        total.add(r, now)
        per_kind[RequestKind(r.kind)].add(r, now)
        child = next((c for c in children if r.org_path.startswith(c.path)), None)
        per_child[child.path if child else org.path].add(r, now)
    open_now, overdue_now = await _open_and_overdue(session, org, now)
    doc = new_doc("service-requests", "服务申请", "Service requests", org, rng)
    doc["summary"] = _service_summary(total.row(), open_now, overdue_now)
    doc["sections"] = _service_sections(org, children, per_kind, per_child)
    return doc


async def _hardship_cases(session: AsyncSession, in_tree: Any, rng: ReportRange) -> Counter[str]:
    """Hardship requests resolved in the range, per month."""
    cases: Counter[str] = Counter()
    for (closed,) in await session.execute(
        select(SR.closed_at).where(
            in_tree,
            SR.kind == RequestKind.hardship,
            SR.status == ServiceStatus.resolved,
            SR.closed_at >= rng.since,
            SR.closed_at < rng.until,
        )
    ):
        cases[rng.local_month(closed)] += 1
    return cases


async def _payments(
    session: AsyncSession, in_tree: Any, rng: ReportRange
) -> tuple[Counter[str], Counter[str]]:
    """Amount paid (fen) and number of payments recorded in the range, per month."""
    paid: Counter[str] = Counter()
    payments: Counter[str] = Counter()
    for at, amount in await session.execute(
        select(ServiceStep.at, ServiceStep.amount_fen)
        .join(SR, SR.id == ServiceStep.request_id)
        .where(
            in_tree,
            ServiceStep.kind == "payment",
            ServiceStep.at >= rng.since,
            ServiceStep.at < rng.until,
        )
    ):
        paid[rng.local_month(at)] += int(amount or 0)
        payments[rng.local_month(at)] += 1
    return paid, payments


async def _record_counts(
    session: AsyncSession, org: Org, rng: ReportRange
) -> tuple[Counter[tuple[str, int]], int, int, int]:
    """Hardship records in force by (category, level); pending; approved and expired in range."""
    HR = HardshipRecord
    hr_tree = HR.org_path.startswith(org.path, autoescape=True)
    active: Counter[tuple[str, int]] = Counter()
    for cat, level in await session.execute(
        select(HR.category, HR.level).where(hr_tree, HR.status == HardshipStatus.approved)
    ):
        active[(HardshipCategory(cat).value, int(level))] += 1
    pending = await session.scalar(
        select(func.count()).select_from(HR).where(hr_tree, HR.status == HardshipStatus.pending)
    )
    approved_in = await session.scalar(
        select(func.count())
        .select_from(HR)
        .where(
            hr_tree,
            HR.decided_at >= rng.since,
            HR.decided_at < rng.until,
            HR.status.in_(
                [HardshipStatus.approved, HardshipStatus.expired, HardshipStatus.revoked]
            ),
        )
    )
    expired_in = await session.scalar(
        select(func.count())
        .select_from(HR)
        .where(
            hr_tree,
            HR.status == HardshipStatus.expired,
            HR.ended_at >= rng.since,
            HR.ended_at < rng.until,
        )
    )
    return active, int(pending or 0), int(approved_in or 0), int(expired_in or 0)


def _hardship_sections(
    rng: ReportRange,
    cases: Counter[str],
    paid: Counter[str],
    payments: Counter[str],
    active: Counter[tuple[str, int]],
) -> list[Any]:
    return [
        section(
            "delivered",
            "帮扶发放",
            "Assistance delivered",
            [
                col("month", "月份", "Month"),
                col("cases", "帮扶人次", "Cases"),
                col("payments", "发放笔数", "Payments"),
                col("amount_fen", "帮扶金额（分）", "Amount (fen)"),
            ],
            [
                {"month": m, "cases": cases[m], "payments": payments[m], "amount_fen": paid[m]}
                for m in rng.months()
            ],
        ),
        section(
            "records",
            "在册困难职工（按类别与等级）",
            "Records in force by category and level",
            [
                col("category", "类别代码", "Category"),
                col("category_label", "类别", "Category label"),
                col("level", "等级", "Level"),
                col("count", "人数", "Members"),
            ],
            [
                {
                    "category": c.value,
                    "category_label": CATEGORY_LABELS_ZH[c],
                    "level": lvl,
                    "count": active[(c.value, lvl)],
                }
                for c in HardshipCategory
                for lvl in (1, 2, 3)
                if active[(c.value, lvl)]
            ],
        ),
    ]


async def hardship_report(session: AsyncSession, org: Org, rng: ReportRange) -> dict[str, Any]:
    in_tree = SR.org_path.startswith(org.path, autoescape=True)
    cases = await _hardship_cases(session, in_tree, rng)
    paid, payments = await _payments(session, in_tree, rng)
    active, pending, approved_in, expired_in = await _record_counts(session, org, rng)
    doc = new_doc("hardship", "困难帮扶", "Hardship assistance", org, rng)
    doc["summary"] = [
        figure("records_active", "在册困难职工", "Hardship records in force", sum(active.values())),
        figure("records_pending", "待审批建档", "Records pending approval", pending),
        figure("records_approved", "期间批准建档", "Approved in range", approved_in),
        figure("records_expired", "期间到期未复核", "Expired unreviewed in range", expired_in),
        figure("cases", "期间办结帮扶申请", "Hardship requests resolved", sum(cases.values())),
        figure("amount_fen", "期间发放金额（分）", "Paid in range (fen)", sum(paid.values())),
    ]
    doc["sections"] = _hardship_sections(rng, cases, paid, payments, active)
    return doc
