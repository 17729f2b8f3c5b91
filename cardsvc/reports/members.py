"""Members of a subtree: active total, new per month, by category, employment type, union.

Stock figures (active, by category, by employment type, by union) are as of now: the member
table holds current status only. Flow figures (new members) count members whose ``joined_on``
(a civil date) falls in the range, whatever their status today.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.members.models import CATEGORY_LABELS_ZH, Category, Member, MemberStatus
from cardsvc.orgs.models import Org, OrgLevel
from cardsvc.reports.doc import col, figure, new_doc, section
from cardsvc.reports.period import ReportRange
from cardsvc.roster.columns import EMPLOYMENT_LABELS_ZH

STATUS_LABELS = {
    MemberStatus.active: ("正常", "Active"),
    MemberStatus.pending: ("待审核", "Pending"),
    MemberStatus.suspended: ("暂停", "Suspended"),
    MemberStatus.left: ("已离会", "Left"),
}
NONE_LABEL = ("未填写", "not given")


def _has_category(category: str) -> Any:
    # JSON arrays are stored as text on both databases; match the quoted value.
    return cast(Member.categories, Text).contains(f'"{category}"')


async def _by_status(session: AsyncSession, in_tree: Any) -> Counter[MemberStatus]:
    return Counter(
        {
            MemberStatus(s): int(n)
            for s, n in await session.execute(
                select(Member.status, func.count()).where(in_tree).group_by(Member.status)
            )
        }
    )


async def _new_per_month(session: AsyncSession, in_tree: Any, new: Any) -> Counter[str]:
    per_month: Counter[str] = Counter()
    for day, n in await session.execute(
        select(Member.joined_on, func.count()).where(in_tree, new).group_by(Member.joined_on)
    ):
        per_month[day.strftime("%Y-%m")] += int(n)
    return per_month


async def _category_counts(
    session: AsyncSession, in_tree: Any, active: Any, cats: list[Category]
) -> Any:
    """One row: active members per category, then those without a category."""
    return (
        await session.execute(
            select(
                *(func.count().filter(_has_category(c.value)) for c in cats),
                func.count().filter(
                    Member.categories.is_(None) | (cast(Member.categories, Text) == "[]")
                ),
            ).where(in_tree, active)
        )
    ).one()


async def _employment_counts(
    session: AsyncSession, in_tree: Any, active: Any
) -> dict[str | None, int]:
    return {
        e: int(n)
        for e, n in await session.execute(
            select(Member.employment_type, func.count())
            .where(in_tree, active)
            .group_by(Member.employment_type)
        )
    }


async def _per_union(
    session: AsyncSession, in_tree: Any, active: Any, new: Any
) -> dict[Any, tuple[int, int]]:
    """Per union: (active members, joined in range)."""
    return {
        oid: (int(a), int(n))
        for oid, a, n in await session.execute(
            select(Member.org_id, func.count().filter(active), func.count().filter(new))
            .where(in_tree)
            .group_by(Member.org_id)
        )
    }


async def _grassroots_unions(session: AsyncSession, org: Org) -> list[Org]:
    return list(
        await session.scalars(
            select(Org)
            .where(Org.path.startswith(org.path, autoescape=True), Org.level == OrgLevel.grassroots)
            .order_by(Org.code)
        )
    )


def _category_section(cats: list[Category], cat_row: Any) -> dict[str, Any]:
    return section(
        "by_category",
        "按会员类别（正常会员，可多选）",
        "By category (active members; a member may have several)",
        [
            col("category", "类别代码", "Category"),
            col("label", "类别", "Label"),
            col("count", "人数", "Members"),
        ],
        [
            {"category": c.value, "label": CATEGORY_LABELS_ZH[c], "count": int(n)}
            for c, n in zip(cats, cat_row[: len(cats)], strict=True)
        ]
        + [{"category": None, "label": "无类别", "count": int(cat_row[len(cats)])}],
    )


def _employment_section(employment: dict[str | None, int]) -> dict[str, Any]:
    return section(
        "by_employment_type",
        "按就业形态（正常会员）",
        "By employment type (active members)",
        [
            col("employment_type", "就业形态代码", "Employment type"),
            col("label", "就业形态", "Label"),
            col("count", "人数", "Members"),
        ],
        [
            {
                "employment_type": e,
                "label": EMPLOYMENT_LABELS_ZH[e],
                "count": employment.get(e, 0),
            }
            for e in EMPLOYMENT_LABELS_ZH
        ]
        + [
            {"employment_type": e, "label": e or NONE_LABEL[0], "count": n}
            for e, n in employment.items()
            if e not in EMPLOYMENT_LABELS_ZH
        ],
    )


def _union_section(unions: list[Org], per_union: dict[Any, tuple[int, int]]) -> dict[str, Any]:
    return section(
        "by_union",
        "按基层工会",
        "By grassroots union",
        [
            col("org_id", "工会ID", "Union id"),
            col("code", "工会编码", "Code"),
            col("name", "工会名称", "Union"),
            col("active", "正常会员", "Active"),
            col("new_in_range", "期间新入会", "Joined in range"),
        ],
        [
            {
                "org_id": str(u.id),
                "code": u.code,
                "name": u.name,
                "active": per_union.get(u.id, (0, 0))[0],
                "new_in_range": per_union.get(u.id, (0, 0))[1],
            }
            for u in unions
        ],
    )


async def members_report(session: AsyncSession, org: Org, rng: ReportRange) -> dict[str, Any]:
    in_tree = Member.org_path.startswith(org.path, autoescape=True)
    active = Member.status == MemberStatus.active
    new = Member.joined_on.between(rng.start, rng.end)
    by_status = await _by_status(session, in_tree)
    per_month = await _new_per_month(session, in_tree, new)
    cats = list(Category)
    cat_row = await _category_counts(session, in_tree, active, cats)
    employment = await _employment_counts(session, in_tree, active)
    per_union = await _per_union(session, in_tree, active, new)
    unions = await _grassroots_unions(session, org)

    doc = new_doc("members", "会员统计", "Members", org, rng)
    doc["summary"] = [
        figure("active_total", "正常会员总数", "Active members", by_status[MemberStatus.active]),
        figure("new_in_range", "期间新入会", "Joined in range", sum(per_month.values())),
        figure("pending", "待审核", "Pending", by_status[MemberStatus.pending]),
        figure("suspended", "暂停", "Suspended", by_status[MemberStatus.suspended]),
        figure("left", "已离会", "Left", by_status[MemberStatus.left]),
        figure("unions", "基层工会数", "Grassroots unions", len(unions)),
    ]
    doc["sections"] = [
        section(
            "new_per_month",
            "每月新入会",
            "New members per month",
            [col("month", "月份", "Month"), col("count", "人数", "Members")],
            [{"month": m, "count": per_month[m]} for m in rng.months()],
        ),
        _category_section(cats, cat_row),
        _employment_section(employment),
        _union_section(unions, per_union),
    ]
    return doc
