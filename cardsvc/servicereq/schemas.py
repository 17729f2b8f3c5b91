"""API shapes of service requests, and how rows (and stored attachments) become them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Response
from litestar.datastructures import State
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.masking import mask_name
from cardsvc.kernel.settings import Settings
from cardsvc.members.models import Member
from cardsvc.orgs.models import Org
from cardsvc.servicereq.attachments import get_attachment, list_attachments, stored_path
from cardsvc.servicereq.models import (
    KIND_LABELS_ZH,
    OPEN_STATUSES,
    Channel,
    ContactPreference,
    RequestKind,
    ServiceAttachment,
    ServiceRequest,
    ServiceStatus,
    ServiceStep,
)
from cardsvc.servicereq.sla import BUILTIN_SLA, effective_sla
from cardsvc.servicereq.steps import STEP_LABELS

Note = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class RequestIn(msgspec.Struct):
    kind: RequestKind
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=100, examples=["孩子上学学费困难"])]
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    contact_preference: ContactPreference = ContactPreference.in_app


class StaffRequestIn(msgspec.Struct):
    member_id: uuid.UUID
    kind: RequestKind
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    channel: Channel = Channel.walk_in
    contact_preference: ContactPreference = ContactPreference.phone


class NoteIn(msgspec.Struct):
    note: Note


class OptionalNoteIn(msgspec.Struct):
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class OutcomeIn(msgspec.Struct):
    outcome: Note


class ReasonIn(msgspec.Struct):
    reason: Note


class WithdrawIn(msgspec.Struct):
    reason: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class HandlingIn(msgspec.Struct):
    kind: Annotated[str, msgspec.Meta(examples=["visit", "call", "payment", "note"])]
    note: Note
    amount_fen: int | None = None


class TakeOverIn(msgspec.Struct):
    org_id: uuid.UUID | None = None
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class RatingIn(msgspec.Struct):
    rating: Annotated[int, msgspec.Meta(ge=1, le=5)]
    comment: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class OrgRef(msgspec.Struct):
    id: uuid.UUID
    code: str
    name: str
    level: str


class MemberRef(msgspec.Struct):
    id: uuid.UUID
    member_no: str
    name_masked: str


class RequestOut(msgspec.Struct):
    id: uuid.UUID
    ref_no: str
    kind: RequestKind
    kind_label: str
    status: ServiceStatus
    title: str
    channel: Channel
    contact_preference: ContactPreference
    union: OrgRef
    handling_org: OrgRef
    escalated_to: OrgRef | None
    escalations: int
    submitted_at: datetime
    accepted_at: datetime | None
    due_at: datetime | None
    overdue: bool
    closed_at: datetime | None
    rating: int | None
    member: MemberRef | None = None  # staff views only


class StepOut(msgspec.Struct):
    kind: str
    label: str
    label_en: str
    at: datetime
    actor_type: str
    actor: str | None  # staff username (staff views); None for staff steps in member views
    org_name: str | None
    note: str | None
    amount_fen: int | None
    detail: dict[str, object]


class AttachmentOut(msgspec.Struct):
    id: uuid.UUID
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_by: str
    created_at: datetime


class RequestDetail(msgspec.Struct):
    request: RequestOut
    description: str
    outcome: str | None
    rating_comment: str | None
    paused_seconds: int | None
    reopened: int
    filed_by: str | None
    steps: list[StepOut]
    attachments: list[AttachmentOut]


class RequestPage(msgspec.Struct):
    items: list[RequestOut]
    total: int
    limit: int
    offset: int


class QueuePage(msgspec.Struct):
    items: list[RequestOut]
    total: int
    limit: int
    offset: int
    counts: dict[str, int]


def org_ref(org: Org) -> OrgRef:
    return OrgRef(org.id, org.code, org.name, org.level.value)


def attachment_out(a: ServiceAttachment) -> AttachmentOut:
    return AttachmentOut(
        a.id, a.filename, a.media_type, a.size, a.sha256, a.uploaded_by, a.created_at
    )


async def requests_out(
    session: AsyncSession, rows: list[ServiceRequest], now: datetime, *, staff_view: bool
) -> list[RequestOut]:
    ids: set[uuid.UUID] = set()
    for r in rows:
        ids |= {r.org_id, r.handling_org_id} | (
            {r.escalated_org_id} if r.escalated_org_id else set()
        )
    orgs = (
        {o.id: o for o in await session.scalars(select(Org).where(Org.id.in_(ids)))} if ids else {}
    )
    members: dict[uuid.UUID, Member] = {}
    if staff_view and rows:
        members = {
            m.id: m
            for m in await session.scalars(
                select(Member).where(Member.id.in_({r.member_id for r in rows}))
            )
        }
    out = []
    for r in rows:
        m = members.get(r.member_id)
        out.append(
            RequestOut(
                id=r.id,
                ref_no=r.ref_no,
                kind=r.kind,
                kind_label=KIND_LABELS_ZH[r.kind],
                status=r.status,
                title=r.title,
                channel=r.channel,
                contact_preference=r.contact_preference,
                union=org_ref(orgs[r.org_id]),
                handling_org=org_ref(orgs[r.handling_org_id]),
                escalated_to=org_ref(orgs[r.escalated_org_id]) if r.escalated_org_id else None,
                escalations=r.escalations,
                submitted_at=r.submitted_at,
                accepted_at=r.accepted_at,
                due_at=r.due_at,
                overdue=bool(r.status in OPEN_STATUSES and r.due_at and r.due_at < now),
                closed_at=r.closed_at,
                rating=r.rating,
                member=MemberRef(m.id, m.member_no, mask_name(m.name)) if m else None,
            )
        )
    return out


async def request_detail(
    session: AsyncSession, req: ServiceRequest, now: datetime, *, staff_view: bool
) -> RequestDetail:
    (head,) = await requests_out(session, [req], now, staff_view=staff_view)
    steps = list(
        await session.scalars(
            select(ServiceStep)
            .where(ServiceStep.request_id == req.id)
            .order_by(ServiceStep.at, ServiceStep.id)
        )
    )
    org_ids = {s.org_id for s in steps if s.org_id}
    names = (
        dict(
            (await session.execute(select(Org.id, Org.name).where(Org.id.in_(org_ids))))
            .tuples()
            .all()
        )
        if org_ids
        else {}
    )
    step_out = [
        StepOut(
            kind=s.kind,
            label=STEP_LABELS.get(s.kind, (s.kind, s.kind))[0],
            label_en=STEP_LABELS.get(s.kind, (s.kind, s.kind))[1],
            at=s.at,
            actor_type=s.actor_type,
            actor=s.actor if staff_view or s.actor_type != "staff" else None,
            org_name=names.get(s.org_id) if s.org_id else None,
            note=s.note,
            amount_fen=s.amount_fen,
            detail=dict(s.detail or {}),
        )
        for s in steps
    ]
    return RequestDetail(
        request=head,
        description=req.description,
        outcome=req.outcome,
        rating_comment=req.rating_comment,
        paused_seconds=req.paused_seconds,
        reopened=req.reopened,
        filed_by=req.filed_by if staff_view else None,
        steps=step_out,
        attachments=[attachment_out(a) for a in await list_attachments(session, req)],
    )


async def attachment_response(
    state: State, session: AsyncSession, req: Any, attachment_id: uuid.UUID
) -> Response[bytes]:
    att = await get_attachment(session, req, attachment_id)
    path = stored_path(state.settings, att.sha256)
    data = path.read_bytes()
    return Response(
        data,
        media_type=att.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(att.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


class SlaOut(msgspec.Struct):
    kind: RequestKind
    kind_label: str
    accept_hours: int
    resolve_hours: int
    source: str  # org (set here or above), settings, default
    set_on_org_id: uuid.UUID | None


class SlaIn(msgspec.Struct):
    accept_hours: int
    resolve_hours: int


async def service_levels_out(session: AsyncSession, settings: Settings, path: str) -> list[SlaOut]:
    """The service-level times in force at ``path``, one row per kind."""
    out = []
    for kind in BUILTIN_SLA:
        s = await effective_sla(session, path, kind, settings.service_sla)
        out.append(
            SlaOut(kind, KIND_LABELS_ZH[kind], s.accept_hours, s.resolve_hours, s.source, s.org_id)
        )
    return out
