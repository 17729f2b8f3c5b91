"""Join applications of a subtree: what waits, what was decided, and how long approval took.

Lead time is ``decided_at - submitted_at`` of applications approved within the range, in days
(two decimals). Median: the middle value (mean of the two middle ones for an even count); p90:
nearest rank (the ``ceil(0.9 n)``-th smallest). Months are months of the federation's zone:
submissions by ``submitted_at``, decisions and lead times by ``decided_at``. Applications are
placed by their union's *current* path (joined through ``org``), so moved unions report right.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.membership.models import JoinApplication, RequestStatus, TransferRequest
from cardsvc.orgs.models import Org
from cardsvc.reports.doc import col, figure, new_doc, section
from cardsvc.reports.period import ReportRange

J = JoinApplication


def lead_days(values: list[float]) -> tuple[float | None, float | None]:
    """(median, p90) of ``values`` in days, rounded to two decimals; None when empty."""
    if not values:
        return None, None
    ordered = sorted(values)
    p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]
    return round(statistics.median(ordered), 2), round(p90, 2)


async def _pending(session: AsyncSession, in_tree: Any) -> tuple[int, int]:
    """Join applications and transfers in waiting for a decision in the subtree."""
    pending = await session.scalar(
        select(func.count())
        .select_from(J)
        .join(Org, Org.id == J.org_id)
        .where(in_tree, J.status == RequestStatus.pending)
    )
    pending_transfers = await session.scalar(
        select(func.count())
        .select_from(TransferRequest)
        .join(Org, Org.id == TransferRequest.to_org_id)
        .where(in_tree, TransferRequest.status == RequestStatus.pending)
    )
    return int(pending or 0), int(pending_transfers or 0)


async def _submitted_per_month(
    session: AsyncSession, in_tree: Any, rng: ReportRange
) -> Counter[str]:
    submitted: Counter[str] = Counter()
    for (at,) in await session.execute(
        select(J.submitted_at)
        .join(Org, Org.id == J.org_id)
        .where(in_tree, J.submitted_at >= rng.since, J.submitted_at < rng.until)
    ):
        submitted[rng.local_month(at)] += 1
    return submitted


async def _decided_per_month(
    session: AsyncSession, in_tree: Any, rng: ReportRange
) -> tuple[dict[RequestStatus, Counter[str]], dict[str, list[float]]]:
    """Decisions per status and month, and the approvals' lead times (days) per month."""
    decided: dict[RequestStatus, Counter[str]] = defaultdict(Counter)
    leads: dict[str, list[float]] = defaultdict(list)
    for status, sub, dec in await session.execute(
        select(J.status, J.submitted_at, J.decided_at)
        .join(Org, Org.id == J.org_id)
        .where(
            in_tree,
            J.status.in_([RequestStatus.approved, RequestStatus.rejected]),
            J.decided_at >= rng.since,
            J.decided_at < rng.until,
        )
    ):
        month = rng.local_month(dec)
        decided[RequestStatus(status)][month] += 1
        if status == RequestStatus.approved:
            leads[month].append((dec - sub).total_seconds() / 86400)
    return decided, leads


def _per_month_section(
    rng: ReportRange,
    submitted: Counter[str],
    approved: Counter[str],
    rejected: Counter[str],
    leads: dict[str, list[float]],
) -> dict[str, Any]:
    rows = []
    for m in rng.months():
        med, high = lead_days(leads.get(m, []))
        rows.append(
            {
                "month": m,
                "submitted": submitted[m],
                "approved": approved[m],
                "rejected": rejected[m],
                "lead_median_days": med,
                "lead_p90_days": high,
            }
        )
    return section(
        "per_month",
        "每月申请与审批",
        "Applications per month",
        [
            col("month", "月份", "Month"),
            col("submitted", "提交", "Submitted"),
            col("approved", "批准", "Approved"),
            col("rejected", "不予批准", "Rejected"),
            col("lead_median_days", "审批用时中位数（天）", "Lead time median (days)"),
            col("lead_p90_days", "审批用时P90（天）", "Lead time p90 (days)"),
        ],
        rows,
    )


async def joins_report(session: AsyncSession, org: Org, rng: ReportRange) -> dict[str, Any]:
    in_tree = Org.path.startswith(org.path, autoescape=True)
    pending, pending_transfers = await _pending(session, in_tree)
    submitted = await _submitted_per_month(session, in_tree, rng)
    decided, leads = await _decided_per_month(session, in_tree, rng)

    all_leads = [d for ds in leads.values() for d in ds]
    median, p90 = lead_days(all_leads)
    approved, rejected = decided[RequestStatus.approved], decided[RequestStatus.rejected]
    doc = new_doc("joins", "入会申请与审批", "Join applications", org, rng)
    doc["summary"] = [
        figure("pending", "待审核入会申请", "Applications pending", pending),
        figure("pending_transfers", "待审核转入申请", "Transfers in pending", pending_transfers),
        figure("submitted", "期间提交", "Submitted in range", sum(submitted.values())),
        figure("approved", "期间批准", "Approved in range", sum(approved.values())),
        figure("rejected", "期间不予批准", "Rejected in range", sum(rejected.values())),
        figure(
            "lead_median_days", "审批用时中位数（天）", "Approval lead time, median (days)", median
        ),
        figure("lead_p90_days", "审批用时P90（天）", "Approval lead time, p90 (days)", p90),
    ]
    doc["sections"] = [_per_month_section(rng, submitted, approved, rejected, leads)]
    return doc
