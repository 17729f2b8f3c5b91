"""Membership HTTP API shapes: request and response structs and the functions that fill them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.masking import mask_id_number, mask_name
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.regions import full_name
from cardsvc.members.models import Member, MemberStatus
from cardsvc.membership.bulk import BulkResult
from cardsvc.membership.history import Leave
from cardsvc.membership.models import (
    InviteLink,
    JoinApplication,
    RequestStatus,
    TransferRequest,
)
from cardsvc.membership.service import (
    PRIVACY_VERSION,
)
from cardsvc.orgs.models import Org
from cardsvc.orgs.service import orgs_by_id


class UnionOut(msgspec.Struct):
    id: uuid.UUID
    code: str
    name: str
    region_code: str | None
    region_name: str | None


class UnionPage(msgspec.Struct):
    items: list[UnionOut]
    total: int
    limit: int
    offset: int


class InviteInfo(msgspec.Struct):
    union: UnionOut
    label: str | None
    privacy_version: str


class ApplicationIn(msgspec.Struct, forbid_unknown_fields=True):
    """What an applicant declares. Member categories and hardship are not among it: they
    unlock programmes, so staff set them (hardship only through an approved record)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=32, examples=["王小明"])]
    id_number: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    consent: bool
    privacy_version: Annotated[str, msgspec.Meta(max_length=16, examples=[PRIVACY_VERSION])]
    org_id: uuid.UUID | None = None
    invite_token: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    employment_type: str | None = None
    employer: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    job: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    region_code: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class ApplicationOut(msgspec.Struct):
    id: uuid.UUID
    union: UnionOut
    status: RequestStatus
    name: str
    id_number_masked: str
    employment_type: str | None
    employer: str | None
    job: str | None
    source: str
    submitted_at: datetime
    decided_at: datetime | None
    reason: str | None
    member_no: str | None = None
    region_code: str | None = None
    region_name: str | None = None


class ReviewApplicationOut(ApplicationOut, kw_only=True):
    """An application as staff review it: with the flag the applicant is never shown
    (``member``: the ID number is already a member's; ``pending``: another phone has an
    application with it pending)."""

    review_flag: str | None = None


class ApplicationPage(msgspec.Struct):
    items: list[ReviewApplicationOut]
    total: int
    limit: int
    offset: int


class TransferIn(msgspec.Struct):
    to_org_id: uuid.UUID
    note: Annotated[str, msgspec.Meta(max_length=255)] | None = None


class TransferOut(msgspec.Struct):
    id: uuid.UUID
    member_no: str
    member_name: str
    from_union: UnionOut
    to_union: UnionOut
    status: RequestStatus
    note: str | None
    submitted_at: datetime
    decided_at: datetime | None
    reason: str | None


class TransferPage(msgspec.Struct):
    items: list[TransferOut]
    total: int
    limit: int
    offset: int


class LeaveOut(msgspec.Struct):
    member_id: uuid.UUID
    member_no: str
    member_name: str
    union: UnionOut
    left_at: datetime
    reason: str | None


class LeavePage(msgspec.Struct):
    items: list[LeaveOut]
    total: int
    limit: int
    offset: int


class LeaveIn(msgspec.Struct):
    reason: Annotated[str, msgspec.Meta(max_length=255)] = ""


class BulkIn(msgspec.Struct):
    ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=200)]


class BulkRejectIn(msgspec.Struct):
    ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=200)]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


class BulkItem(msgspec.Struct):
    id: uuid.UUID
    ok: bool
    code: str | None = None
    message: str | None = None
    member_no: str | None = None


class InviteIn(msgspec.Struct):
    label: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    valid_days: int | None = None


class InviteOut(msgspec.Struct):
    id: uuid.UUID
    org_id: uuid.UUID
    url: str
    label: str | None
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    uses: int


class EventOut(msgspec.Struct):
    kind: str
    at: datetime
    from_org_id: uuid.UUID | None
    to_org_id: uuid.UUID | None
    actor: str
    reason: str | None


class MemberStatusOut(msgspec.Struct):
    member_no: str
    status: MemberStatus
    left_on: date | None = None


def union_out(org: Org) -> UnionOut:
    return UnionOut(org.id, org.code, org.name, org.region_code, full_name(org.region_code))


async def applications_out(
    session: AsyncSession, cipher: PiiCipher, apps: list[JoinApplication]
) -> list[ApplicationOut]:
    orgs = await orgs_by_id(session, {a.org_id for a in apps})
    # Every application names its member from submission; only an approved one has its number.
    member_ids = {a.member_id for a in apps if a.status == RequestStatus.approved}
    numbers: dict[uuid.UUID, str] = (
        {
            row[0]: row[1]
            for row in await session.execute(
                select(Member.id, Member.member_no).where(Member.id.in_(member_ids))
            )
        }
        if member_ids
        else {}
    )
    return [
        ApplicationOut(
            id=a.id,
            union=union_out(orgs[a.org_id]),
            status=a.status,
            name=a.name,
            id_number_masked=mask_id_number(cipher.decrypt("id_number", a.id_number_enc)),
            employment_type=a.employment_type,
            employer=a.employer,
            job=a.job,
            region_code=a.region_code,
            region_name=full_name(a.region_code),
            source=a.source,
            submitted_at=a.submitted_at,
            decided_at=a.decided_at,
            reason=a.reason,
            member_no=numbers.get(a.member_id),
        )
        for a in apps
    ]


async def applications_review_out(
    session: AsyncSession, cipher: PiiCipher, apps: list[JoinApplication]
) -> list[ReviewApplicationOut]:
    """The staff queue's view: what the applicant sees, and the review flag."""
    plain = await applications_out(session, cipher, apps)
    return [
        ReviewApplicationOut(
            **{f: getattr(out, f) for f in out.__struct_fields__}, review_flag=app.review_flag
        )
        for out, app in zip(plain, apps, strict=True)
    ]


async def transfers_out(session: AsyncSession, rows: list[TransferRequest]) -> list[TransferOut]:
    orgs = await orgs_by_id(session, {t.from_org_id for t in rows} | {t.to_org_id for t in rows})
    members = (
        {
            m.id: m
            for m in await session.scalars(
                select(Member).where(Member.id.in_({t.member_id for t in rows}))
            )
        }
        if rows
        else {}
    )
    return [
        TransferOut(
            id=t.id,
            member_no=members[t.member_id].member_no,
            member_name=mask_name(members[t.member_id].name),
            from_union=union_out(orgs[t.from_org_id]),
            to_union=union_out(orgs[t.to_org_id]),
            status=t.status,
            note=t.note,
            submitted_at=t.submitted_at,
            decided_at=t.decided_at,
            reason=t.reason,
        )
        for t in rows
    ]


async def leaves_out(session: AsyncSession, rows: list[Leave]) -> list[LeaveOut]:
    orgs = await orgs_by_id(session, {r.member.org_id for r in rows})
    return [
        LeaveOut(
            member_id=r.member.id,
            member_no=r.member.member_no,
            member_name=mask_name(r.member.name),
            union=union_out(orgs[r.member.org_id]),
            left_at=r.at,
            reason=r.reason,
        )
        for r in rows
    ]


def bulk_item(r: BulkResult) -> BulkItem:
    return BulkItem(r.id, r.ok, r.code, r.message_zh, r.member_no)


def invite_out(invite: InviteLink, base_url: str) -> InviteOut:
    return InviteOut(
        id=invite.id,
        org_id=invite.org_id,
        url=f"{base_url}/m/join?invite={invite.token}",
        label=invite.label,
        created_by=invite.created_by,
        expires_at=invite.expires_at,
        revoked_at=invite.revoked_at,
        uses=invite.uses,
    )
