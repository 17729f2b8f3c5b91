"""Participation in activities and training of a subtree: per organising union and kind
(activities held, places taken, attended, no-shows), and training hours per member (passed
courses). An activity counts in the range by its start day (federation zone).

``GET /api/v1/reports/activities`` and the console's reports page; the chart's series come
from :func:`chart_series`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.activities.attendance import no_show
from cardsvc.activities.models import Activity, ActivityKind, ActivitySignup, SignupStatus
from cardsvc.members.models import Member
from cardsvc.orgs.models import Org
from cardsvc.reports.doc import col, figure, new_doc, section
from cardsvc.reports.period import ReportRange

KIND_LABELS = {ActivityKind.activity: "工会活动", ActivityKind.training: "培训课程"}
KIND_LABELS_EN = {ActivityKind.activity: "Activity", ActivityKind.training: "Training"}


def _hours(minutes: int) -> float:
    return round(minutes / 60, 1)


async def _rows(
    session: AsyncSession, org: Org, rng: ReportRange
) -> list[tuple[Activity, ActivitySignup | None]]:
    rows = await session.execute(
        select(Activity, ActivitySignup)
        .outerjoin(ActivitySignup, ActivitySignup.activity_id == Activity.id)
        .where(
            Activity.org_path.startswith(org.path, autoescape=True),
            Activity.starts_at >= rng.since,
            Activity.starts_at < rng.until,
        )
    )
    return [(a, s) for a, s in rows]


async def _tally(
    session: AsyncSession, org: Org, rng: ReportRange, now: datetime
) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    """How many activities, the rows per union and kind, the rows per trained member."""
    rows = await _rows(session, org, rng)
    names = {
        o.id: o.name
        for o in await session.scalars(select(Org).where(Org.id.in_({a.org_id for a, _ in rows})))
    }
    groups: dict[tuple[Any, ActivityKind], dict[str, Any]] = {}
    seen: set[Any] = set()
    trainees: dict[Any, dict[str, int]] = defaultdict(lambda: {"courses": 0, "minutes": 0})
    for a, s in rows:
        g = groups.setdefault(
            (a.org_id, a.kind),
            {
                "org_id": str(a.org_id),
                "org": names.get(a.org_id, ""),
                "kind": KIND_LABELS[a.kind],
                "activities": 0,
                "signed": 0,
                "attended": 0,
                "no_shows": 0,
            },
        )
        if a.id not in seen:
            seen.add(a.id)
            g["activities"] += 1
        if s is None or s.status != SignupStatus.signed:
            continue
        g["signed"] += 1
        g["attended"] += s.checked_in_at is not None
        g["no_shows"] += no_show(a, s, now)
        if s.passed and s.minutes:
            trainees[s.member_id]["courses"] += 1
            trainees[s.member_id]["minutes"] += s.minutes
    people = {
        m.id: m for m in await session.scalars(select(Member).where(Member.id.in_(set(trainees))))
    }
    by_member: list[dict[str, Any]] = sorted(
        (
            {
                "member_no": people[mid].member_no,
                "name": people[mid].name,
                "courses": t["courses"],
                "hours": _hours(t["minutes"]),
            }
            for mid, t in trainees.items()
            if mid in people
        ),
        key=lambda r: (-float(r["hours"]), str(r["member_no"])),
    )
    by_org = sorted(groups.values(), key=lambda r: (r["org"], r["kind"]))
    return len(seen), by_org, by_member


async def activities_report(
    session: AsyncSession, org: Org, rng: ReportRange, now: datetime
) -> dict[str, Any]:
    count, by_org, by_member = await _tally(session, org, rng, now)
    doc = new_doc("activities", "活动与培训参与", "Activities and training", org, rng)
    doc["summary"] = [
        figure("activities", "活动数", "Activities", count),
        figure("signed", "报名人次", "Places taken", sum(r["signed"] for r in by_org)),
        figure("attended", "签到人次", "Attended", sum(r["attended"] for r in by_org)),
        figure("no_shows", "缺席人次", "No-shows", sum(r["no_shows"] for r in by_org)),
        figure("hours", "培训学时合计", "Training hours", sum(r["hours"] for r in by_member)),
    ]
    doc["sections"] = [
        section(
            "by_org_kind",
            "按主办工会和类型",
            "By organising union and kind",
            [
                col("org_id", "组织ID", "Org id"),
                col("org", "主办工会", "Union"),
                col("kind", "类型", "Kind"),
                col("activities", "活动数", "Activities"),
                col("signed", "报名人次", "Places taken"),
                col("attended", "签到人次", "Attended"),
                col("no_shows", "缺席人次", "No-shows"),
            ],
            by_org,
        ),
        section(
            "training_hours",
            "会员培训学时",
            "Training hours per member",
            [
                col("member_no", "会员编号", "Member no."),
                col("name", "姓名", "Name"),
                col("courses", "结业课程数", "Courses passed"),
                col("hours", "学时", "Hours"),
            ],
            by_member,
            note="只计考核合格的培训课程。",
            note_en="Passed training courses only.",
        ),
    ]
    return doc


def chart_series(doc: dict[str, Any], lang: str) -> dict[str, Any]:
    """The participation chart: per union, places taken, attended and no-shows."""
    rows = doc["sections"][0]["rows"] if doc.get("sections") else []
    en = lang == "en"
    labels = [f"{r['org']} · {r['kind']}" for r in rows]
    return {
        "participation": {
            "labels": labels,
            "datasets": [
                {
                    "label": "Places taken" if en else "报名人次",
                    "data": [r["signed"] for r in rows],
                },
                {
                    "label": "Attended" if en else "签到人次",
                    "data": [r["attended"] for r in rows],
                    "tone": "good",
                },
                {
                    "label": "No-shows" if en else "缺席人次",
                    "data": [r["no_shows"] for r in rows],
                    "tone": "bad",
                },
            ],
        }
    }
