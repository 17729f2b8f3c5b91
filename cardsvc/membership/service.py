"""Joining online, approvals, transfers between unions, leaving, and invite links."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import record
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import AppError, Conflict, FieldError, NotFound, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.sequences import allocate
from cardsvc.members.identity import parse_resident_id, validate_name
from cardsvc.members.models import Member, MemberStatus
from cardsvc.members.numbers import format_member_no
from cardsvc.members.service import (
    ID_FIELD,
    PHONE_FIELD,
    assert_accepts_members,
    find_by_id_number,
    validate_categories,
    validate_employment,
)
from cardsvc.membership.lifecycle import add_event, after_status_change
from cardsvc.membership.models import InviteLink, JoinApplication, RequestStatus, TransferRequest
from cardsvc.orgs.models import Org, OrgLevel, OrgStatus

# The privacy notice an applicant consents to; bump when its text changes.
PRIVACY_VERSION = "2026-01"


# --- finding a union -------------------------------------------------------------------------


async def search_unions(
    session: AsyncSession, *, q: str | None, region: str | None, limit: int, offset: int
) -> tuple[list[Org], int]:
    conds: list[Any] = [Org.level == OrgLevel.grassroots, Org.status == OrgStatus.active]
    if q and q.strip():
        conds.append(Org.name.contains(q.strip(), autoescape=True))
    if region and region.strip():
        conds.append(Org.region.contains(region.strip(), autoescape=True))
    total = (
        await session.execute(select(func.count()).select_from(Org).where(*conds))
    ).scalar_one()
    rows = await session.scalars(
        select(Org).where(*conds).order_by(Org.name).limit(limit).offset(offset)
    )
    return list(rows), total


async def resolve_invite(session: AsyncSession, token: str) -> tuple[InviteLink, Org]:
    invite = await session.scalar(select(InviteLink).where(InviteLink.token == token))
    if invite is None or invite.revoked_at is not None:
        raise NotFound("invite_not_found", "邀请链接无效或已撤销", "Invite link invalid or revoked")
    if invite.expires_at is not None and invite.expires_at <= utc_now():
        raise AppError("invite_expired", "邀请链接已过期", "Invite link expired", status=410)
    org = await session.get(Org, invite.org_id)
    assert org is not None
    return invite, org


# --- applying ---------------------------------------------------------------------------------


@dataclass(slots=True)
class ApplicationInput:
    name: str
    id_number: str
    org_id: uuid.UUID | None = None
    invite_token: str | None = None
    employment_type: str | None = None
    employer: str | None = None
    job: str | None = None
    categories: list[str] = field(default_factory=list)
    hardship_level: int | None = None
    privacy_version: str = ""
    consent: bool = False


async def _assert_not_member(
    session: AsyncSession, cipher: PiiCipher, id_number: str
) -> Member | None:
    """Refuse a second membership; return the ended membership of a returning member."""
    existing = await find_by_id_number(session, cipher, id_number)
    if existing is not None and existing.status != MemberStatus.left:
        raise Conflict(
            "duplicate_id_number",
            "该身份证号已是会员,无需重复入会;如需更换工会请申请转会",
            "This ID number already belongs to a member; request a transfer instead",
            errors=[FieldError("id_number", "已是会员", "already a member")],
        )
    return existing


async def submit_application(
    session: AsyncSession,
    cipher: PiiCipher,
    *,
    phone: str,
    data: ApplicationInput,
    source: str = "self",
) -> JoinApplication:
    if not data.consent:
        raise ValidationError.field(
            "consent", "请阅读并同意隐私政策", "consent to the privacy notice"
        )
    if data.privacy_version != PRIVACY_VERSION:
        raise ValidationError.field(
            "privacy_version",
            "隐私政策已更新,请重新阅读后同意",
            f"the current privacy notice is version {PRIVACY_VERSION}",
        )
    name = validate_name(data.name)
    rid = parse_resident_id(data.id_number)
    categories = validate_categories(data.categories, data.hardship_level)
    employment = validate_employment(data.employment_type)
    org: Org | None
    if data.invite_token:
        _, org = await resolve_invite(session, data.invite_token)
        source = "invite"
    elif data.org_id:
        org = await session.get(Org, data.org_id)
        if org is None:
            raise NotFound("org_not_found", "未找到该工会", "Union not found")
    else:
        raise ValidationError.field("org_id", "请选择要加入的工会", "choose a union to join")
    await assert_accepts_members(session, org)
    await _assert_not_member(session, cipher, rid.number)
    id_hash = cipher.lookup_hash(ID_FIELD, rid.number)
    pending = await session.scalar(
        select(JoinApplication.id).where(
            JoinApplication.id_number_hash == id_hash,
            JoinApplication.status == RequestStatus.pending,
        )
    )
    if pending is not None:
        raise Conflict(
            "application_pending",
            "该身份证号已有待审核的入会申请",
            "An application with this ID number is already waiting for approval",
            errors=[FieldError("id_number", "已有待审核申请", "application pending")],
        )
    now = utc_now()
    app = JoinApplication(
        org_id=org.id,
        org_path=org.path,
        status=RequestStatus.pending,
        source=source,
        name=name,
        id_number_enc=cipher.encrypt(ID_FIELD, rid.number),
        id_number_hash=id_hash,
        phone_enc=cipher.encrypt(PHONE_FIELD, phone),
        phone_hash=cipher.lookup_hash(PHONE_FIELD, phone),
        data_key_id=cipher.active_kid,
        birth_date=rid.birth_date,
        gender=rid.gender,
        employment_type=employment,
        employer=(data.employer or "").strip() or None,
        job=(data.job or "").strip() or None,
        categories=categories,
        hardship_level=data.hardship_level,
        privacy_version=data.privacy_version,
        consented_at=now,
        submitted_at=now,
    )
    session.add(app)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        # Two submissions raced past the check; the partial unique index kept one.
        raise Conflict(
            "application_pending",
            "该身份证号已有待审核的入会申请",
            "An application with this ID number is already waiting for approval",
        ) from None
    if data.invite_token:
        invite, _ = await resolve_invite(session, data.invite_token)
        invite.uses += 1
    return app


async def applications_for_phone(session: AsyncSession, phone_hash: str) -> list[JoinApplication]:
    rows = await session.scalars(
        select(JoinApplication)
        .where(JoinApplication.phone_hash == phone_hash)
        .order_by(JoinApplication.submitted_at.desc())
    )
    return list(rows)


async def withdraw_application(
    session: AsyncSession, phone_hash: str, app_id: uuid.UUID
) -> JoinApplication:
    app = await session.get(JoinApplication, app_id)
    if app is None or app.phone_hash != phone_hash:
        raise NotFound("application_not_found", "未找到该申请", "Application not found")
    if app.status != RequestStatus.pending:
        raise Conflict(
            "application_decided", "该申请已处理,不能撤回", "The application was already decided"
        )
    app.status = RequestStatus.withdrawn
    app.decided_at = utc_now()
    app.decided_by = "applicant"
    return app


# --- deciding applications ----------------------------------------------------------------------


async def get_application(
    session: AsyncSession, viewer: Principal, app_id: uuid.UUID
) -> JoinApplication:
    app = await session.get(JoinApplication, app_id)
    if app is None or not viewer.can(Perm.member_write, app.org_path):
        raise NotFound("application_not_found", "未找到该申请", "Application not found")
    return app


def _require_pending(status: RequestStatus) -> None:
    if status != RequestStatus.pending:
        raise Conflict("already_decided", "该申请已处理", "This request was already decided")


def _rejection_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationError.field("reason", "请填写不予批准的原因", "a reason is required")
    return reason[:255]


def _decide_rejected(
    request: JoinApplication | TransferRequest, actor: Principal, reason: str
) -> None:
    _require_pending(request.status)
    request.status, request.decided_at = RequestStatus.rejected, utc_now()
    request.decided_by, request.reason = actor.username, reason


async def approve_application(
    session: AsyncSession, actor: Principal, cipher: PiiCipher, app_id: uuid.UUID
) -> Member:
    """Approve: the applicant becomes an active member (a returning member keeps the number)
    and gets a card."""
    app = await get_application(session, actor, app_id)
    _require_pending(app.status)
    org = await session.get(Org, app.org_id)
    assert org is not None
    await assert_accepts_members(session, org)
    id_number = cipher.decrypt(ID_FIELD, app.id_number_enc)
    returning = await _assert_not_member(session, cipher, id_number)
    today = utc_now().date()
    if returning is not None:
        member, before = returning, returning.status
        member.org_id, member.org_path = org.id, org.path
        member.name = app.name
        member.status, member.status_reason = MemberStatus.active, None
        member.joined_on = today
    else:
        before = None
        member = Member(
            member_no=format_member_no((await allocate(session, "member"))[0]),
            name=app.name,
            id_number_enc=app.id_number_enc,
            id_number_hash=app.id_number_hash,
            data_key_id=app.data_key_id,
            birth_date=app.birth_date,
            gender=app.gender,
            org_id=org.id,
            org_path=org.path,
            status=MemberStatus.active,
            region=org.region,
            joined_on=today,
        )
        session.add(member)
    member.phone_enc, member.phone_hash = app.phone_enc, app.phone_hash
    member.categories, member.hardship_level = list(app.categories), app.hardship_level
    member.employment_type, member.employer, member.job = app.employment_type, app.employer, app.job
    await session.flush()
    app.status, app.decided_at, app.decided_by = RequestStatus.approved, utc_now(), actor.username
    app.member_id = member.id
    await after_status_change(session, member, before, actor, reason="入会申请批准")
    record(
        session,
        actor,
        "membership.approve",
        target_type="join_application",
        target_id=app.id,
        org_path=app.org_path,
        summary={"member_no": member.member_no, "returning": returning is not None},
    )
    return member


async def reject_application(
    session: AsyncSession, actor: Principal, app_id: uuid.UUID, *, reason: str
) -> JoinApplication:
    reason = _rejection_reason(reason)
    app = await get_application(session, actor, app_id)
    _decide_rejected(app, actor, reason)
    record(
        session,
        actor,
        "membership.reject",
        target_type="join_application",
        target_id=app.id,
        org_path=app.org_path,
        summary={"reason": app.reason},
    )
    return app


# --- transfers --------------------------------------------------------------------------------


async def request_transfer(
    session: AsyncSession, member: Member, *, to_org_id: uuid.UUID, note: str | None
) -> TransferRequest:
    if member.status != MemberStatus.active:
        raise Conflict(
            "member_inactive", "只有正常状态的会员可以转会", "Only active members can transfer"
        )
    to_org = await session.get(Org, to_org_id)
    if to_org is None:
        raise NotFound("org_not_found", "未找到该工会", "Union not found")
    await assert_accepts_members(session, to_org)
    if to_org.id == member.org_id:
        raise ValidationError.field("to_org_id", "您已在该工会", "you already belong to this union")
    transfer = TransferRequest(
        member_id=member.id,
        from_org_id=member.org_id,
        from_org_path=member.org_path,
        to_org_id=to_org.id,
        to_org_path=to_org.path,
        status=RequestStatus.pending,
        note=(note or "").strip()[:255] or None,
        submitted_at=utc_now(),
    )
    session.add(transfer)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(
            "transfer_pending", "您已有待审核的转会申请", "A transfer request is already pending"
        ) from None
    return transfer


async def transfers_for_member(
    session: AsyncSession, member_id: uuid.UUID
) -> list[TransferRequest]:
    rows = await session.scalars(
        select(TransferRequest)
        .where(TransferRequest.member_id == member_id)
        .order_by(TransferRequest.submitted_at.desc())
    )
    return list(rows)


async def get_transfer(
    session: AsyncSession, viewer: Principal, transfer_id: uuid.UUID
) -> TransferRequest:
    """Visible to the receiving union (which decides) and to the one the member leaves."""
    t = await session.get(TransferRequest, transfer_id)
    if t is None or not (
        viewer.can(Perm.member_write, t.to_org_path)
        or viewer.can(Perm.member_read, t.from_org_path)
    ):
        raise NotFound("transfer_not_found", "未找到该转会申请", "Transfer request not found")
    return t


async def approve_transfer(
    session: AsyncSession, actor: Principal, transfer_id: uuid.UUID
) -> Member:
    t = await get_transfer(session, actor, transfer_id)
    if not actor.can(Perm.member_write, t.to_org_path):
        raise NotFound("transfer_not_found", "未找到该转会申请", "Transfer request not found")
    _require_pending(t.status)
    member = await session.get(Member, t.member_id)
    to_org = await session.get(Org, t.to_org_id)
    assert member is not None and to_org is not None
    if member.status != MemberStatus.active or member.org_id != t.from_org_id:
        raise Conflict(
            "member_changed",
            "会员状态已变化,该转会申请不再适用",
            "The member changed since the request",
        )
    await assert_accepts_members(session, to_org)
    # Member number, card and tenure (joined_on) are kept; only the union changes.
    member.org_id, member.org_path = to_org.id, to_org.path
    t.status, t.decided_at, t.decided_by = RequestStatus.approved, utc_now(), actor.username
    add_event(session, member, "transferred", actor, from_org_id=t.from_org_id, to_org_id=to_org.id)
    record(
        session,
        actor,
        "membership.transfer",
        target_type="member",
        target_id=member.id,
        org_path=t.to_org_path,
        summary={"from": str(t.from_org_id), "to": str(t.to_org_id)},
    )
    return member


async def reject_transfer(
    session: AsyncSession, actor: Principal, transfer_id: uuid.UUID, *, reason: str
) -> TransferRequest:
    reason = _rejection_reason(reason)
    t = await get_transfer(session, actor, transfer_id)
    if not actor.can(Perm.member_write, t.to_org_path):
        raise NotFound("transfer_not_found", "未找到该转会申请", "Transfer request not found")
    _decide_rejected(t, actor, reason)
    record(
        session,
        actor,
        "membership.transfer_reject",
        target_type="transfer_request",
        target_id=t.id,
        org_path=t.to_org_path,
        summary={"reason": t.reason},
    )
    return t


# --- leaving ----------------------------------------------------------------------------------


async def leave(session: AsyncSession, member: Member, actor: Principal, *, reason: str) -> Member:
    if member.status == MemberStatus.left:
        raise Conflict("already_left", "已办理离会", "Membership already ended")
    before = member.status
    member.status, member.status_reason = MemberStatus.left, reason.strip()[:255] or "本人申请离会"
    await after_status_change(session, member, before, actor, reason=member.status_reason)
    record(
        session,
        actor,
        "member.leave",
        target_type="member",
        target_id=member.id,
        org_path=member.org_path,
        summary={"reason": member.status_reason},
    )
    return member


# --- the approval queue -----------------------------------------------------------------------


async def pending_applications(
    session: AsyncSession,
    viewer: Principal,
    *,
    status: RequestStatus | None,
    org_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[JoinApplication], int]:
    conds: list[Any] = [viewer.scope_filter(JoinApplication.org_path, Perm.member_write)]
    if status:
        conds.append(JoinApplication.status == status)
    if org_id:
        org = await session.get(Org, org_id)
        if org is None or not viewer.sees(org.path):
            raise NotFound("org_not_found", "未找到该组织", "Org not found")
        conds.append(JoinApplication.org_path.startswith(org.path, autoescape=True))
    total = (
        await session.execute(select(func.count()).select_from(JoinApplication).where(*conds))
    ).scalar_one()
    rows = await session.scalars(
        select(JoinApplication)
        .where(*conds)
        .order_by(JoinApplication.submitted_at)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


async def pending_transfers(
    session: AsyncSession,
    viewer: Principal,
    *,
    status: RequestStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[TransferRequest], int]:
    conds: list[Any] = [
        or_(
            viewer.scope_filter(TransferRequest.to_org_path, Perm.member_write),
            viewer.scope_filter(TransferRequest.from_org_path, Perm.member_read),
        )
    ]
    if status:
        conds.append(TransferRequest.status == status)
    total = (
        await session.execute(select(func.count()).select_from(TransferRequest).where(*conds))
    ).scalar_one()
    rows = await session.scalars(
        select(TransferRequest)
        .where(*conds)
        .order_by(TransferRequest.submitted_at)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


# --- invite links -------------------------------------------------------------------------------


async def create_invite(
    session: AsyncSession,
    actor: Principal,
    *,
    org_id: uuid.UUID,
    label: str | None,
    valid_days: int | None,
) -> InviteLink:
    org = await session.get(Org, org_id)
    if org is None or not actor.can(Perm.member_write, org.path):
        raise NotFound("org_not_found", "未找到该组织", "Org not found")
    await assert_accepts_members(session, org)
    if valid_days is not None and not 1 <= valid_days <= 3650:
        raise ValidationError.field(
            "valid_days", "有效期应为 1–3650 天", "valid_days must be 1–3650"
        )
    invite = InviteLink(
        org_id=org.id,
        token=secrets.token_urlsafe(12),
        label=(label or "").strip()[:64] or None,
        created_by=actor.username,
        expires_at=utc_now() + timedelta(days=valid_days) if valid_days else None,
    )
    session.add(invite)
    await session.flush()
    record(
        session,
        actor,
        "invite.create",
        target_type="invite",
        target_id=invite.id,
        org_path=org.path,
        summary={"label": invite.label, "expires_at": str(invite.expires_at)},
    )
    return invite


async def list_invites(
    session: AsyncSession, viewer: Principal, org_id: uuid.UUID
) -> list[InviteLink]:
    org = await session.get(Org, org_id)
    if org is None or not viewer.can(Perm.member_write, org.path):
        raise NotFound("org_not_found", "未找到该组织", "Org not found")
    rows = await session.scalars(
        select(InviteLink).where(InviteLink.org_id == org.id).order_by(InviteLink.created_at.desc())
    )
    return list(rows)


async def revoke_invite(
    session: AsyncSession, actor: Principal, invite_id: uuid.UUID
) -> InviteLink:
    invite = await session.get(InviteLink, invite_id)
    org = await session.get(Org, invite.org_id) if invite else None
    if invite is None or org is None or not actor.can(Perm.member_write, org.path):
        raise NotFound("invite_not_found", "未找到该邀请链接", "Invite link not found")
    if invite.revoked_at is None:
        invite.revoked_at = utc_now()
        record(
            session,
            actor,
            "invite.revoke",
            target_type="invite",
            target_id=invite.id,
            org_path=org.path,
        )
    return invite
