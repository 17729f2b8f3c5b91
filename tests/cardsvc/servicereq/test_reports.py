"""Report figures and the queue's filters and counts against a fixture of known requests,
filed on a clock ~300 days back, where none of the demo's own requests fall."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import NotFound
from cardsvc.members.models import Member
from cardsvc.reports.period import report_range
from cardsvc.reports.service_requests import hardship_report, service_report
from cardsvc.servicereq import member_actions
from cardsvc.servicereq import service as svc
from cardsvc.servicereq.escalation import escalate_due
from cardsvc.servicereq.hardship import service as hs
from cardsvc.servicereq.hardship.models import HardshipCategory
from cardsvc.servicereq.models import RequestKind, ServiceRequest, ServiceStatus
from cardsvc.servicereq.queue import QueueFilter, list_queue
from tests.cardsvc.servicereq.conftest import member_in, org, staff

H = timedelta(hours=1)
TZ = "Asia/Shanghai"


async def _fixture(session: AsyncSession, t0: datetime) -> dict[str, ServiceRequest]:
    jidian_staff, hospital_staff = (
        await staff(session, "xl.jidian"),
        await staff(session, "xl.admin"),
    )
    m1, m2 = await member_in(session, "XL-JIDIAN"), await member_in(session, "XL-JIDIAN", skip=1)
    m3 = await member_in(session, "XL-HOSPITAL")

    async def file(m: Member, kind: RequestKind, at: datetime) -> ServiceRequest:
        return await svc.file_request(session, m, svc.RequestInput(kind, "t", "d"), now=at, sla={})

    a = await file(m1, RequestKind.legal_aid, t0)
    await svc.accept(session, jidian_staff, a, now=t0 + 2 * H, sla={})
    await svc.resolve(session, jidian_staff, a, now=t0 + 10 * H, outcome="ok")
    await member_actions.rate(session, m1, a, now=t0 + 11 * H, rating=5, comment=None)
    b = await file(m2, RequestKind.legal_aid, t0 + H)
    await svc.accept(session, jidian_staff, b, now=t0 + 5 * H, sla={})
    await svc.resolve(session, jidian_staff, b, now=t0 + 25 * H, outcome="ok")
    await member_actions.rate(session, m2, b, now=t0 + 26 * H, rating=3, comment=None)
    c = await file(m3, RequestKind.hardship, t0)
    await svc.accept(session, hospital_staff, c, now=t0 + H, sla={})
    await svc.record_handling(
        session, hospital_staff, c, now=t0 + 2 * H, kind="payment", note="帮扶金", amount_fen=50000
    )
    await svc.resolve(session, hospital_staff, c, now=t0 + 3 * H, outcome="ok")
    d = await file(m3, RequestKind.other, t0)  # never accepted: escalated at 72 h
    e = await file(m1, RequestKind.training, t0 + 2 * H)
    await svc.reject(session, jidian_staff, e, now=t0 + 4 * H, reason="名额已满")
    await session.commit()
    assert await escalate_due(session, t0 + 72 * H, {}) == 1
    rec = await hs.apply(
        session,
        jidian_staff,
        m2,
        category=HardshipCategory.relative,
        level=2,
        circumstances="x",
        now=t0 + H,
    )
    local_day = (t0 + 5 * H).astimezone(ZoneInfo(TZ)).date()
    await hs.approve(session, hospital_staff, rec, now=t0 + 5 * H, today=local_day, review_days=365)
    await session.commit()
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


async def test_service_and_hardship_report_figures(
    session: AsyncSession, demo: dict, t0: datetime
) -> None:
    await _fixture(session, t0)
    district = await org(session, "HB-YC-XL")
    day = t0.astimezone(ZoneInfo(TZ)).date()
    rng = report_range(day, day + timedelta(days=20), TZ)
    doc = await service_report(session, district, rng, t0 + 200 * H)
    summary = {f["key"]: f["value"] for f in doc["summary"]}
    assert {k: summary[k] for k in ("filed", "resolved", "escalated", "overdue_now")} == {
        "filed": 5,
        "resolved": 3,
        "escalated": 1,
        "overdue_now": 1,  # d: escalated at 72 h, the district's 72 h ran out at 144 h
    }
    assert summary["rating_avg"] == 4.0 and summary["satisfied_pct"] == 50.0
    assert summary["accept_median_hours"] == 2.0  # 2, 4, 1 h → median 2
    assert summary["resolve_median_hours"] == 10.0  # 10, 24, 3 h → median 10
    per_kind = {r["kind"]: r for r in doc["sections"][0]["rows"]}
    legal = per_kind["legal_aid"]
    assert (legal["filed"], legal["resolved"], legal["ratings"], legal["rating_avg"]) == (
        2,
        2,
        2,
        4.0,
    )
    assert (legal["accept_median_hours"], legal["accept_p90_hours"]) == (3.0, 4.0)
    assert (legal["resolve_median_hours"], legal["resolve_p90_hours"]) == (17.0, 24.0)
    assert (per_kind["other"]["escalated"], per_kind["other"]["overdue_now"]) == (1, 1)
    assert per_kind["training"]["rejected"] == 1 and per_kind["medical_aid"]["filed"] == 0
    per_org = {r["org_code"]: r for r in doc["sections"][1]["rows"]}
    assert (per_org["XL-JIDIAN"]["filed"], per_org["XL-JIDIAN"]["rejected"]) == (3, 1)
    assert (per_org["XL-HOSPITAL"]["filed"], per_org["XL-HOSPITAL"]["escalated"]) == (2, 1)
    assert per_org["XL-NEWFORMS"]["filed"] == 0 and per_org["HB-YC-XL"]["filed"] == 0

    hard = await hardship_report(session, district, rng)
    hs_summary = {f["key"]: f["value"] for f in hard["summary"]}
    assert (hs_summary["cases"], hs_summary["amount_fen"], hs_summary["records_approved"]) == (
        1,
        50000,
        1,
    )
    month = day.strftime("%Y-%m")
    delivered = {r["month"]: r for r in hard["sections"][0]["rows"]}
    assert delivered[month] == {"month": month, "cases": 1, "payments": 1, "amount_fen": 50000}
    assert any(
        r["category"] == "relative" and r["level"] == 2 and r["count"] >= 1
        for r in hard["sections"][1]["rows"]
    )
    # The grassroots union's own report sees only its own requests.
    jdoc = await service_report(session, await org(session, "XL-JIDIAN"), rng, t0 + 200 * H)
    assert {f["key"]: f["value"] for f in jdoc["summary"]}["filed"] == 3


async def test_queue_filters_and_counts(session: AsyncSession, demo: dict, t0: datetime) -> None:
    made = await _fixture(session, t0)
    at = t0 + 200 * H
    admin = await staff(session, "xl.admin")
    rows, total, counts = await list_queue(
        session, admin, QueueFilter(overdue=True), now=at, limit=50, offset=0
    )
    assert [r.id for r in rows] == [made["d"].id] and total == 1
    assert counts["overdue"] == 1 and counts["escalated"] >= 1
    hospital = await org(session, "XL-HOSPITAL")
    rows, total, counts = await list_queue(
        session, admin, QueueFilter(org_id=hospital.id, escalated=True), now=at, limit=50, offset=0
    )
    assert made["d"].id in {r.id for r in rows}
    # The grassroots union sees its own requests only; filters by kind and status.
    jidian = await staff(session, "xl.jidian")
    rows, total, _ = await list_queue(
        session,
        jidian,
        QueueFilter(kind=RequestKind.legal_aid, status=ServiceStatus.resolved),
        now=at,
        limit=1,
        offset=0,
    )
    assert total == 2 and len(rows) == 1  # paginated
    with pytest.raises(NotFound):  # another union, even in the same district
        await list_queue(
            session, jidian, QueueFilter(org_id=hospital.id), now=at, limit=50, offset=0
        )
    # wjg staff: nothing of XL.
    wjg = await staff(session, "wjg.admin")
    rows, _, _ = await list_queue(
        session, wjg, QueueFilter(overdue=True), now=at, limit=50, offset=0
    )
    assert rows == []
