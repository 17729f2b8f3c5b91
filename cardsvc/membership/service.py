"""Finding a union, joining online, approving applications and leaving."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from cardsvc.kernel.audit import record
from cardsvc.kernel.clock import local_date, utc_now
from cardsvc.kernel.errors import AppError, Conflict, FieldError, NotFound, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.ratelimit import RateLimiter
from cardsvc.kernel.regions import codes_named, parse_optional_region
from cardsvc.kernel.sequences import allocate
from cardsvc.members.identity import ResidentId, parse_resident_id, validate_name
from cardsvc.members.models import Member, MemberStatus
from cardsvc.members.numbers import format_member_no
from cardsvc.members.service import (
    ID_FIELD,
    PHONE_FIELD,
    add_member,
    assert_accepts_members,
    find_by_id_number,
    validate_employment,
)
from cardsvc.membership.holds import add_application, release_identity
from cardsvc.membership.invites import resolve_invite
from cardsvc.membership.lifecycle import after_status_change
from cardsvc.membership.models import (
    JoinApplication,
    RequestStatus,
    TransferRequest,
)
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
        conds.append(_region_filter(region.strip()))
    total = (
        await session.execute(select(func.count()).select_from(Org).where(*conds))
    ).scalar_one()
    rows = await session.scalars(
        select(Org).where(*conds).order_by(Org.name).limit(limit).offset(offset)
    )
    return list(rows), total


def _region_filter(region: str) -> Any:
    """Digits: a code prefix (``4205`` = 宜昌市); text: codes whose full name contains it."""
    if region.isascii() and region.isdigit():
        return Org.region_code.startswith(region, autoescape=True)
    return Org.region_code.in_(codes_named(region))


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
    region_code: str | None = None  # a code or an unambiguous name
    privacy_version: str = ""
    consent: bool = False


async def _assert_not_member(
    session: AsyncSession, cipher: PiiCipher, id_number: str
) -> Member | None:
    """Refuse a second membership; return the ended membership of a returning member."""
    existing = await find_by_id_number(session, cipher, id_number)
    if existing is not None and existing.status != MemberStatus.left:
        raise _already_member()
    return existing


def _already_member() -> Conflict:
    return Conflict(
        "duplicate_id_number",
        "该身份证号已是会员，无需重复入会；如需更换工会请申请转会",
        "This ID number already belongs to a member; request a transfer instead",
        errors=[FieldError("id_number", "已是会员", "already a member")],
    )


def _check_consent(data: ApplicationInput) -> None:
    if not data.consent:
        raise ValidationError.field(
            "consent", "请阅读并同意隐私政策", "consent to the privacy notice"
        )
    if data.privacy_version != PRIVACY_VERSION:
        raise ValidationError.field(
            "privacy_version",
            "隐私政策已更新，请重新阅读后同意",
            f"the current privacy notice is version {PRIVACY_VERSION}",
        )


async def _union_to_join(session: AsyncSession, data: ApplicationInput) -> Org:
    """The union named by the invite link, else the one chosen."""
    if data.invite_token:
        _, org = await resolve_invite(session, data.invite_token)
        return org
    if data.org_id:
        chosen = await session.get(Org, data.org_id)
        if chosen is None:
            raise NotFound("org_not_found", "未找到该工会", "Union not found")
        return chosen
    raise ValidationError.field("org_id", "请选择要加入的工会", "choose a union to join")


class ApplicationsThrottled(AppError):
    status = 429
    code = "rate_limited"
    message_zh = "入会申请提交过于频繁，请稍后再试"
    message_en = "Too many applications; retry later"


@dataclass(frozen=True, slots=True)
class ApplyThrottle:
    """Applications per applicant phone (a day) and per client address (an hour)."""

    limiter: RateLimiter
    ip: str | None
    per_phone_day: int
    per_ip_hour: int


async def _throttle(throttle: ApplyThrottle, phone_hash: str) -> None:
    for key, limit, window in (
        (f"join-phone:{phone_hash}", throttle.per_phone_day, 86400),
        (f"join-ip:{throttle.ip or '-'}", throttle.per_ip_hour, 3600),
    ):
        if not (d := await throttle.limiter.hit(key, limit, window)).allowed:
            raise ApplicationsThrottled(
                headers={"Retry-After": str(d.retry_after)}, retry_after=d.retry_after
            )


async def _review_flag(
    session: AsyncSession, cipher: PiiCipher, id_number: str, id_hash: str, phone_hash: str
) -> tuple[str | None, uuid.UUID]:
    """Why staff must look at this application, which is otherwise answered like any other:
    telling the applicant that an ID number is a member's, or has an application pending from
    another phone, would reveal someone else's membership. And the member the applicant is or
    becomes: the member's id, or that of another pending application of theirs, or a new one
    (all of one person's applications on their member's shard under Citus)."""
    pending = {
        row.phone_hash: row.member_id
        for row in await session.execute(
            select(JoinApplication.phone_hash, JoinApplication.member_id).where(
                JoinApplication.id_number_hash == id_hash,
                JoinApplication.status == RequestStatus.pending,
            )
        )
    }
    if phone_hash in pending:
        # This phone's own application: telling its owner reveals nothing new.
        raise Conflict(
            "application_pending",
            "该身份证号已有待审核的入会申请",
            "An application with this ID number is already waiting for approval",
            errors=[FieldError("id_number", "已有待审核申请", "application pending")],
        )
    existing = await find_by_id_number(session, cipher, id_number)
    member_id = existing.id if existing else next(iter(pending.values()), None) or uuid7()
    if existing is not None and existing.status != MemberStatus.left:
        return "member", member_id
    return ("pending" if pending else None), member_id


def _new_application(
    cipher: PiiCipher,
    data: ApplicationInput,
    *,
    org: Org,
    phone: str,
    source: str,
    name: str,
    rid: ResidentId,
    id_hash: str,
    employment: str | None,
) -> JoinApplication:
    """The pending application row, with the ID number and phone encrypted."""
    now = utc_now()
    return JoinApplication(
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
        region_code=parse_optional_region("region_code", data.region_code),
        privacy_version=data.privacy_version,
        consented_at=now,
        submitted_at=now,
    )


async def submit_application(
    session: AsyncSession,
    cipher: PiiCipher,
    *,
    phone: str,
    data: ApplicationInput,
    throttle: ApplyThrottle | None,
    source: str = "self",
) -> JoinApplication:
    """A pending application. One whose ID number is already a member's (or has an application
    pending from another phone) is answered the same way and flagged for staff to review.
    ``throttle`` limits applications per phone and address (None: staff and the demo seed)."""
    _check_consent(data)
    name = validate_name(data.name)
    rid = parse_resident_id(data.id_number)
    employment = validate_employment(data.employment_type)
    org = await _union_to_join(session, data)
    if data.invite_token:
        source = "invite"
    await assert_accepts_members(session, org)
    phone_hash = cipher.lookup_hash(PHONE_FIELD, phone)
    if throttle is not None:
        await _throttle(throttle, phone_hash)
    id_hash = cipher.lookup_hash(ID_FIELD, rid.number)
    flag, member_id = await _review_flag(session, cipher, rid.number, id_hash, phone_hash)
    app = _new_application(
        cipher,
        data,
        org=org,
        phone=phone,
        source=source,
        name=name,
        rid=rid,
        id_hash=id_hash,
        employment=employment,
    )
    app.review_flag, app.member_id = flag, member_id
    await add_application(session, app)
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
    app = await session.scalar(select(JoinApplication).where(JoinApplication.id == app_id))
    if app is None or app.phone_hash != phone_hash:
        raise NotFound("application_not_found", "未找到该申请", "Application not found")
    if app.status != RequestStatus.pending:
        raise Conflict(
            "application_decided", "该申请已处理，不能撤回", "The application was already decided"
        )
    app.status = RequestStatus.withdrawn
    app.decided_at = utc_now()
    app.decided_by = "applicant"
    await release_identity(session, app)
    return app


# --- deciding applications ----------------------------------------------------------------------


async def get_application(
    session: AsyncSession, viewer: Principal, app_id: uuid.UUID
) -> JoinApplication:
    app = await session.scalar(select(JoinApplication).where(JoinApplication.id == app_id))
    if app is None or not viewer.can(Perm.member_write, app.org_path):
        raise NotFound("application_not_found", "未找到该申请", "Application not found")
    return app


def require_pending(status: RequestStatus) -> None:
    if status != RequestStatus.pending:
        raise Conflict("already_decided", "该申请已处理", "This request was already decided")


def rejection_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationError.field("reason", "请填写不予批准的原因", "a reason is required")
    return reason[:255]


def decide_rejected(
    request: JoinApplication | TransferRequest, actor: Principal, reason: str
) -> None:
    require_pending(request.status)
    request.status, request.decided_at = RequestStatus.rejected, utc_now()
    request.decided_by, request.reason = actor.username, reason


async def approve_application(
    session: AsyncSession, actor: Principal, cipher: PiiCipher, app_id: uuid.UUID
) -> Member:
    """Approve: the applicant becomes an active member (a returning member keeps the number)
    and gets a card."""
    app = await get_application(session, actor, app_id)
    require_pending(app.status)
    org = await session.get(Org, app.org_id)
    assert org is not None
    await assert_accepts_members(session, org)
    id_number = cipher.decrypt(ID_FIELD, app.id_number_enc)
    returning = await _assert_not_member(session, cipher, id_number)
    today = local_date(utc_now())
    if returning is not None:
        member, before = returning, returning.status
        member.org_id, member.org_path = org.id, org.path
        member.name = app.name
        member.status, member.status_reason = MemberStatus.active, None
        member.joined_on = today
    else:
        before = None
        member = Member(
            id=app.member_id,  # given at submission: the application's shard
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
            joined_on=today,
        )
        await add_member(session, member, _already_member)
    member.phone_enc, member.phone_hash = app.phone_enc, app.phone_hash
    member.employment_type, member.employer, member.job = app.employment_type, app.employer, app.job
    member.region_code = app.region_code or org.region_code
    await session.flush()
    app.status, app.decided_at, app.decided_by = RequestStatus.approved, utc_now(), actor.username
    # The same unless the ID number became another member's after submission (made by staff
    # or a roster, and left since): the application follows that member. Under Citus this is
    # a change of the distribution column, which it refuses (docs/scaling.md, not done).
    app.member_id = member.id
    await release_identity(session, app)
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
    reason = rejection_reason(reason)
    app = await get_application(session, actor, app_id)
    decide_rejected(app, actor, reason)
    await release_identity(session, app)
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
