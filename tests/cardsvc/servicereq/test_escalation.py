"""Escalation at the deadline, up the tree to the root; the pause while the member is asked
for more; per-org service-level times; take-over by the level above (both databases)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import AppError, NotFound, ValidationError
from cardsvc.servicereq import member_actions, takeover
from cardsvc.servicereq import service as svc
from cardsvc.servicereq.escalation import escalate_due
from cardsvc.servicereq.models import RequestKind, ServiceStatus, ServiceStep
from cardsvc.servicereq.sla import set_sla
from tests.cardsvc.servicereq.conftest import member_in, org, staff

H = timedelta(hours=1)


async def _steps(session: AsyncSession, request_id: object) -> list[str]:
    rows = await session.scalars(
        select(ServiceStep.kind)
        .where(ServiceStep.request_id == request_id)
        .order_by(ServiceStep.at, ServiceStep.id)
    )
    return list(rows)


async def test_routed_to_the_members_union_and_escalated_up_to_the_root(
    session: AsyncSession, demo: dict, t0: datetime
) -> None:
    member = await member_in(session, "XL-JIDIAN")
    union, district = await org(session, "XL-JIDIAN"), await org(session, "HB-YC-XL")
    city, province = await org(session, "HB-YC"), await org(session, "HB")
    req = await svc.file_request(
        session, member, svc.RequestInput(RequestKind.legal_aid, "欠薪", "拖欠工资"), now=t0, sla={}
    )
    assert (req.org_id, req.handling_org_id, req.status) == (union.id, union.id, "submitted")
    assert req.due_at == t0 + 24 * H  # built-in legal aid: accept within 24 h
    await session.commit()

    assert await escalate_due(session, t0 + 24 * H - timedelta(seconds=1), {}) == 0
    assert await escalate_due(session, t0 + 24 * H, {}) == 1  # exactly at the deadline
    await session.commit()
    await session.refresh(req)
    assert (req.escalated_org_id, req.escalations) == (district.id, 1)
    assert req.handling_org_id == union.id  # the union keeps it until someone takes over
    assert req.due_at == t0 + 48 * H  # a fresh accept window for the district
    assert await escalate_due(session, t0 + 24 * H, {}) == 0  # never twice for one deadline

    assert await escalate_due(session, t0 + 48 * H, {}) == 1
    await session.commit()
    await session.refresh(req)
    assert req.escalated_org_id == city.id
    assert await escalate_due(session, t0 + 72 * H, {}) == 1
    await session.commit()
    await session.refresh(req)
    assert (req.escalated_org_id, req.escalations) == (province.id, 3)
    # At the root nobody is left: it stays overdue, the sweep stops looking at it.
    assert await escalate_due(session, t0 + 96 * H, {}) == 0
    await session.commit()
    await session.refresh(req)
    assert req.escalate_at is None and req.due_at == t0 + 96 * H
    assert req.status == ServiceStatus.submitted
    assert await _steps(session, req.id) == [
        "submitted",
        "escalated",
        "escalated",
        "escalated",
        "overdue",
    ]


async def test_resolve_deadline_pauses_while_the_member_is_asked(
    session: AsyncSession, demo: dict, t0: datetime
) -> None:
    member = await member_in(session, "XL-JIDIAN")
    agent = await staff(session, "xl.jidian")
    sla = {"legal_aid": (2, 10)}  # settings override: accept 2 h, resolve 10 h
    req = await svc.file_request(
        session, member, svc.RequestInput(RequestKind.legal_aid, "t", "d"), now=t0, sla=sla
    )
    assert req.due_at == t0 + 2 * H
    await svc.accept(session, agent, req, now=t0 + H, sla=sla)
    assert req.due_at == t0 + 11 * H
    await svc.request_info(session, agent, req, now=t0 + 3 * H, note="请补充劳动合同")
    assert (req.due_at, req.paused_seconds) == (None, 8 * 3600)
    await session.commit()
    # Waiting on the member never escalates, however long it takes.
    assert await escalate_due(session, t0 + 500 * H, sla) == 0
    await member_actions.member_reply(session, member, req, now=t0 + 100 * H, note="已上传")
    assert req.status == ServiceStatus.accepted and req.due_at == t0 + 108 * H
    await session.commit()
    assert await escalate_due(session, t0 + 108 * H, sla) == 1


async def test_org_service_level_overrides_hold_for_the_subtree(
    session: AsyncSession, demo: dict, t0: datetime
) -> None:
    admin = await staff(session, "xl.admin")
    district = await org(session, "HB-YC-XL")
    await set_sla(session, admin, district, RequestKind.hardship, accept_hours=4, resolve_hours=48)
    jidian = await member_in(session, "XL-JIDIAN")
    req = await svc.file_request(
        session, jidian, svc.RequestInput(RequestKind.hardship, "t", "d"), now=t0, sla={}
    )
    assert req.due_at == t0 + 4 * H  # the district's time holds in its grassroots unions
    wjg = await member_in(session, "WJG-LOGISTICS")
    other = await svc.file_request(
        session, wjg, svc.RequestInput(RequestKind.hardship, "t", "d"), now=t0, sla={}
    )
    assert other.due_at == t0 + 24 * H  # not in the other district
    with pytest.raises(ValidationError):
        await set_sla(session, admin, district, RequestKind.other, accept_hours=9, resolve_hours=5)


async def test_take_over_by_the_level_above(
    session: AsyncSession, demo: dict, t0: datetime
) -> None:
    member = await member_in(session, "XL-JIDIAN")
    district = await org(session, "HB-YC-XL")
    req = await svc.file_request(
        session, member, svc.RequestInput(RequestKind.medical_aid, "t", "d"), now=t0, sla={}
    )
    await session.commit()
    assert await escalate_due(session, t0 + 48 * H, {}) == 1
    await session.commit()
    await session.refresh(req)
    # The grassroots union cannot "take over" its own request…
    with pytest.raises(NotFound):
        await takeover.take_over(
            session, await staff(session, "xl.jidian"), req, now=t0 + 49 * H, sla={}
        )
    # …the other district cannot see it at all…
    with pytest.raises(NotFound):
        await svc.staff_request(session, await staff(session, "wjg.admin"), req.id)
    # …the district it was escalated to takes it over and gets a fresh deadline.
    admin = await staff(session, "xl.admin")
    await takeover.take_over(session, admin, req, now=t0 + 50 * H, sla={}, note="区总督办")
    assert (req.handling_org_id, req.handling_org_path) == (district.id, district.path)
    assert req.due_at == t0 + 98 * H
    await svc.accept(session, admin, req, now=t0 + 51 * H, sla={})
    await session.commit()
    # Next time it escalates above the district, to the city.
    assert await escalate_due(session, t0 + (51 + 336) * H, {}) == 1
    await session.refresh(req)
    assert req.escalated_org_id == (await org(session, "HB-YC")).id
    # Taking over from below the handling union is refused.
    with pytest.raises(ValidationError):
        await takeover.take_over(
            session,
            admin,
            req,
            now=t0 + 400 * H,
            sla={},
            org_id=(await org(session, "XL-JIDIAN")).id,
        )
    assert "taken_over" in await _steps(session, req.id)


async def test_closed_request_changes_only_by_reopening(
    session: AsyncSession, demo: dict, t0: datetime
) -> None:
    from cardsvc.kernel.audit import AuditEntry

    member = await member_in(session, "XL-JIDIAN")
    agent = await staff(session, "xl.jidian")
    req = await svc.file_request(
        session, member, svc.RequestInput(RequestKind.training, "t", "d"), now=t0, sla={}
    )
    await svc.accept(session, agent, req, now=t0 + H, sla={})
    await svc.resolve(session, agent, req, now=t0 + 2 * H, outcome="已报名")
    await member_actions.rate(session, member, req, now=t0 + 3 * H, rating=2, comment=None)
    for attempt in (
        svc.record_handling(session, agent, req, now=t0 + 4 * H, kind="note", note="x"),
        svc.reject(session, agent, req, now=t0 + 4 * H, reason="x"),
        member_actions.withdraw(session, member, req, now=t0 + 4 * H, reason=None),
    ):
        with pytest.raises(AppError) as exc:
            await attempt
        assert exc.value.code == "request_closed"
    with pytest.raises(AppError) as exc:
        await member_actions.rate(session, member, req, now=t0 + 4 * H, rating=5, comment=None)
    assert exc.value.code == "already_rated"
    await takeover.reopen(session, agent, req, now=t0 + 5 * H, sla={}, reason="会员反映未能报名")
    assert req.status == ServiceStatus.accepted and req.rating is None and req.reopened == 1
    assert req.due_at == t0 + 5 * H + 336 * H
    await session.flush()
    actions = list(
        await session.scalars(select(AuditEntry.action).where(AuditEntry.target_id == str(req.id)))
    )
    assert "service.reopen" in actions and "service.resolve" in actions
