"""Request and response shapes of the founding API, and the functions that fill them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

import msgspec
from litestar import Response
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.founding.coverage import CoverageRow
from cardsvc.founding.documents import documents_of, get_document, read_document
from cardsvc.founding.labels import KIND_LABELS, STATUS_LABELS, STEP_LABELS
from cardsvc.founding.models import (
    ApplicantType,
    FoundingApplication,
    FoundingDocument,
    FoundingKind,
    FoundingStatus,
)
from cardsvc.founding.register import ImportResult
from cardsvc.founding.service import (
    NAME_FIELD,
    Founder,
    FoundingInput,
    admin_username,
    founders_of,
    steps_of,
)
from cardsvc.kernel.masking import mask_phone
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.regions import full_name
from cardsvc.kernel.settings import Settings
from cardsvc.orgs.models import Org
from cardsvc.orgs.service import orgs_by_id

Text = Annotated[str, msgspec.Meta(max_length=200)]


class FounderIn(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=32, examples=["张三"])]
    phone: Annotated[str, msgspec.Meta(min_length=1, max_length=20, examples=["13800138000"])]
    role: Annotated[str, msgspec.Meta(max_length=32, examples=["筹备组组长"])] = ""


class FoundingIn(msgspec.Struct, kw_only=True):
    kind: FoundingKind
    applicant_type: ApplicantType
    contact_name: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    enterprise_name: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    credit_code: Annotated[
        str, msgspec.Meta(min_length=1, max_length=32, examples=["91350100M000100Y43"])
    ]
    address: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    region_code: Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["420502"])]
    headcount: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    founders: Annotated[list[FounderIn], msgspec.Meta(max_length=50)]
    union_name: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    joint_org_id: uuid.UUID | None = None


class ResubmitIn(FoundingIn, kw_only=True):
    note: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


class NoteIn(msgspec.Struct):
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class ReasonIn(msgspec.Struct):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


def founding_input(data: FoundingIn) -> FoundingInput:
    return FoundingInput(
        kind=data.kind,
        applicant_type=data.applicant_type,
        contact_name=data.contact_name,
        enterprise_name=data.enterprise_name,
        credit_code=data.credit_code,
        address=data.address,
        region_code=data.region_code,
        headcount=data.headcount,
        founders=[Founder(f.name, f.phone, f.role) for f in data.founders],
        union_name=data.union_name,
        joint_org_id=data.joint_org_id,
    )


class OrgRef(msgspec.Struct):
    id: uuid.UUID
    code: str
    name: str


class StepOut(msgspec.Struct):
    at: datetime
    kind: str
    kind_label: str
    actor: str
    note: str | None


class DocumentOut(msgspec.Struct):
    id: uuid.UUID
    filename: str
    media_type: str
    size: int
    uploaded_at: datetime


class FounderOut(msgspec.Struct):
    name: str
    phone: str
    role: str


class FoundingOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    ref_no: str
    kind: FoundingKind
    kind_label: str
    applicant_type: ApplicantType
    status: FoundingStatus
    status_label: str
    contact_name: str
    enterprise_name: str
    credit_code: str
    address: str
    region_code: str
    region_name: str | None
    headcount: int
    union_name: str | None
    joint_org: OrgRef | None
    reviewer_org: OrgRef
    founders: list[FounderOut]
    submitted_at: datetime
    decided_at: datetime | None
    staff_note: str | None
    org: OrgRef | None
    admin_username: str | None
    invite_url: str | None
    documents: list[DocumentOut]
    steps: list[StepOut]


class FoundingRow(msgspec.Struct):
    id: uuid.UUID
    ref_no: str
    kind: FoundingKind
    status: FoundingStatus
    status_label: str
    enterprise_name: str
    credit_code: str
    headcount: int
    reviewer_org: OrgRef
    submitted_at: datetime


class FoundingPage(msgspec.Struct):
    items: list[FoundingRow]
    total: int
    limit: int
    offset: int


class RowProblemOut(msgspec.Struct):
    row: int
    field: str
    reason: str
    reason_en: str


class ImportOut(msgspec.Struct):
    added: int
    updated: int
    problems: list[RowProblemOut]


class CoverageOut(msgspec.Struct):
    org: OrgRef
    registered: int
    organised: int
    rate_percent: float | None
    registered_workers: int
    organised_workers: int


class CoverageReport(msgspec.Struct):
    total: CoverageOut
    districts: list[CoverageOut]


def org_ref(org: Org) -> OrgRef:
    return OrgRef(org.id, org.code, org.name)


def document_out(doc: FoundingDocument) -> DocumentOut:
    return DocumentOut(doc.id, doc.filename, doc.media_type, doc.size, doc.created_at)


async def founding_out(
    session: AsyncSession,
    cipher: PiiCipher,
    app: FoundingApplication,
    *,
    base_url: str,
    staff_view: bool,
) -> FoundingOut:
    ids = {i for i in (app.reviewer_org_id, app.joint_org_id, app.org_id) if i is not None}
    orgs = await orgs_by_id(session, ids)
    founders = founders_of(cipher, app)
    admin = admin_username(app.credit_code) if app.admin_staff_id is not None else None
    return FoundingOut(
        id=app.id,
        ref_no=app.ref_no,
        kind=app.kind,
        kind_label=KIND_LABELS[app.kind.value][0],
        applicant_type=app.applicant_type,
        status=app.status,
        status_label=STATUS_LABELS[app.status.value][0],
        contact_name=cipher.decrypt(NAME_FIELD, app.contact_name_enc),
        enterprise_name=app.enterprise_name,
        credit_code=app.credit_code,
        address=app.address,
        region_code=app.region_code,
        region_name=full_name(app.region_code),
        headcount=app.headcount,
        union_name=app.union_name,
        joint_org=org_ref(orgs[app.joint_org_id]) if app.joint_org_id in orgs else None,
        reviewer_org=org_ref(orgs[app.reviewer_org_id]),
        founders=[
            FounderOut(f["name"], mask_phone(f["phone"]) if staff_view else f["phone"], f["role"])
            for f in founders
        ],
        submitted_at=app.submitted_at,
        decided_at=app.decided_at,
        staff_note=app.staff_note,
        org=org_ref(orgs[app.org_id]) if app.org_id in orgs else None,
        admin_username=admin,
        invite_url=f"{base_url}/m/join?invite={app.invite_token}" if app.invite_token else None,
        documents=[document_out(d) for d in await documents_of(session, app)],
        steps=[
            StepOut(s.at, s.kind, STEP_LABELS.get(s.kind, (s.kind,))[0], s.actor, s.note)
            for s in await steps_of(session, app)
        ],
    )


async def founding_rows(
    session: AsyncSession, apps: list[FoundingApplication]
) -> list[FoundingRow]:
    orgs = await orgs_by_id(session, {a.reviewer_org_id for a in apps})
    return [
        FoundingRow(
            a.id,
            a.ref_no,
            a.kind,
            a.status,
            STATUS_LABELS[a.status.value][0],
            a.enterprise_name,
            a.credit_code,
            a.headcount,
            org_ref(orgs[a.reviewer_org_id]),
            a.submitted_at,
        )
        for a in apps
    ]


def import_out(result: ImportResult) -> ImportOut:
    return ImportOut(
        result.added,
        result.updated,
        [RowProblemOut(p.row, p.field, p.reason, p.reason_en) for p in result.problems],
    )


def coverage_out(row: CoverageRow) -> CoverageOut:
    return CoverageOut(
        org_ref(row.org),
        row.registered,
        row.organised,
        row.rate,
        row.registered_workers,
        row.organised_workers,
    )


async def document_response(
    settings: Settings, session: AsyncSession, app: FoundingApplication, doc_id: uuid.UUID
) -> Response[bytes]:
    doc = await get_document(session, app, doc_id)
    return Response(
        read_document(settings, doc),
        media_type=doc.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(doc.filename, safe='')}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
