"""Coverage: grassroots unions in a subtree that no worker has yet joined online.

The point is that dispersed and flexible workers can find a union and join
from a phone; a union with no approved online application (``JoinApplication``, any source,
decided before the end of the range) is listed, with its member count, so the federation can
follow it up. Closed unions are left out.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.members.models import Member, MemberStatus
from cardsvc.membership.models import JoinApplication, RequestStatus
from cardsvc.orgs.models import Org, OrgLevel, OrgStatus
from cardsvc.reports.doc import col, figure, new_doc, section
from cardsvc.reports.period import ReportRange

J = JoinApplication


async def _active_unions(session: AsyncSession, org: Org) -> list[Org]:
    return list(
        await session.scalars(
            select(Org)
            .where(
                Org.path.startswith(org.path, autoescape=True),
                Org.level == OrgLevel.grassroots,
                Org.status == OrgStatus.active,
            )
            .order_by(Org.code)
        )
    )


async def _online_joins(
    session: AsyncSession, ids: list[uuid.UUID], rng: ReportRange
) -> dict[uuid.UUID, int]:
    """Approved online applications per union, decided before the end of the range."""
    return {
        oid: int(n)
        for oid, n in await session.execute(
            select(J.org_id, func.count())
            .where(
                J.org_id.in_(ids),
                J.status == RequestStatus.approved,
                J.decided_at < rng.until,
            )
            .group_by(J.org_id)
        )
    }


async def _active_members(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    return {
        oid: int(n)
        for oid, n in await session.execute(
            select(Member.org_id, func.count())
            .where(Member.org_id.in_(ids), Member.status == MemberStatus.active)
            .group_by(Member.org_id)
        )
    }


async def _parent_names(session: AsyncSession, unions: list[Org]) -> dict[uuid.UUID, str]:
    return {
        o.id: o.name
        for o in await session.scalars(select(Org).where(Org.id.in_({u.parent_id for u in unions})))
    }


def _columns() -> list[dict[str, str]]:
    return [
        col("org_id", "工会ID", "Union id"),
        col("code", "工会编码", "Code"),
        col("name", "工会名称", "Union"),
        col("parent", "上级工会", "Parent"),
        col("active_members", "正常会员", "Active members"),
        col("online_joins", "网上入会人数", "Joined online"),
    ]


async def coverage_report(session: AsyncSession, org: Org, rng: ReportRange) -> dict[str, Any]:
    unions = await _active_unions(session, org)
    ids = [u.id for u in unions]
    online = await _online_joins(session, ids, rng)
    active = await _active_members(session, ids)
    parents = await _parent_names(session, unions)

    def row(u: Org) -> dict[str, Any]:
        return {
            "org_id": str(u.id),
            "code": u.code,
            "name": u.name,
            "parent": parents.get(u.parent_id) if u.parent_id else None,
            "active_members": active.get(u.id, 0),
            "online_joins": online.get(u.id, 0),
        }

    columns = _columns()
    uncovered = [u for u in unions if not online.get(u.id)]
    covered = len(unions) - len(uncovered)
    doc = new_doc("coverage", "网上入会覆盖", "Online joining coverage", org, rng)
    doc["summary"] = [
        figure("unions", "基层工会数", "Grassroots unions", len(unions)),
        figure("covered", "有网上入会的工会", "Unions with online joins", covered),
        figure("uncovered", "无网上入会的工会", "Unions without online joins", len(uncovered)),
        figure(
            "coverage_pct",
            "覆盖率（%）",
            "Coverage (%)",
            round(covered * 100 / len(unions), 1) if unions else None,
        ),
    ]
    doc["sections"] = [
        section(
            "uncovered",
            "尚无网上入会的基层工会",
            "Grassroots unions nobody has joined online",
            columns,
            [row(u) for u in uncovered],
        ),
        section(
            "by_union", "各基层工会", "All grassroots unions", columns, [row(u) for u in unions]
        ),
    ]
    return doc
