"""Founding applications: who reviews them, submitting and resubmitting, asking for more,
refusing, and finding them (the applicant by phone, staff in their subtree).

Reviewing needs ``org.write`` on the reviewing federation (its admins create the new union
in their tree). Staff see only applications whose reviewing org lies in their subtree; any
other id is a 404. Every step is a timeline row the applicant sees and an audit entry.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.founding.creditcode import parse_credit_code
from cardsvc.founding.models import (
    OPEN_FOUNDING,
    ApplicantType,
    FoundingApplication,
    FoundingKind,
    FoundingStatus,
    FoundingStep,
)
from cardsvc.kernel.audit import record
from cardsvc.kernel.errors import AppError, Conflict, FieldError, NotFound, ValidationError
from cardsvc.kernel.masking import mask_phone
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.regions import parse_region
from cardsvc.kernel.sequences import allocate
from cardsvc.members.identity import parse_phone, validate_name
from cardsvc.orgs.models import Org, OrgLevel, OrgStatus

PHONE_FIELD, NAME_FIELD, FOUNDERS_FIELD = "phone", "founding_contact", "founding_founders"
JOINT_MARK = "联合工会"  # regional / industry joint unions are named so (区域性、行业性联合工会)
MAX_FOUNDERS = 50


@dataclass(frozen=True, slots=True)
class Founder:
    name: str
    phone: str
    role: str = ""


@dataclass(frozen=True, slots=True)
class FoundingInput:
    kind: FoundingKind
    applicant_type: ApplicantType
    contact_name: str
    enterprise_name: str
    credit_code: str
    address: str
    region_code: str
    headcount: int
    founders: list[Founder] = field(default_factory=list)
    union_name: str | None = None
    joint_org_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Checked:
    """The input once validated and normalised."""

    data: FoundingInput
    credit_code: str
    region_code: str
    founders: list[dict[str, str]]
    contact_name: str


def admin_username(credit_code: str) -> str:
    """The first admin account of the union founded for this enterprise."""
    return "u" + credit_code.lower()


def applicant_actor(phone_hash: str, phone: str) -> Principal:
    """The applicant as the audit names them (a masked phone: no account of their own)."""
    return Principal(id=None, username=f"applicant:{mask_phone(phone)}"[:64], display_name="申请人")


def _text(name: str, raw: str | None, lo: int, hi: int, zh: str, en: str) -> str:
    text = " ".join((raw or "").split())
    if not lo <= len(text) <= hi:
        raise ValidationError.field(
            name, f"{zh}应为 {lo}–{hi} 个字符", f"{en}: {lo}–{hi} characters"
        )
    return text


def _person(index: int, f: Founder) -> dict[str, str]:
    where = f"founders[{index}]"
    try:
        name = validate_name(f.name)
        phone = parse_phone(f.phone)
    except ValidationError as exc:
        raise ValidationError(
            errors=[FieldError(f"{where}.{e.field}", e.reason_zh, e.reason_en) for e in exc.errors]
        ) from None
    return {"name": name, "phone": phone, "role": " ".join(f.role.split())[:32]}


def check_input(data: FoundingInput, min_founders: int) -> Checked:
    """Every field checked before anything is looked up: a 422 naming the field."""
    contact = _text("contact_name", data.contact_name, 2, 32, "联系人姓名", "contact name")
    name = _text("enterprise_name", data.enterprise_name, 2, 128, "单位名称", "enterprise name")
    code = parse_credit_code("credit_code", data.credit_code)
    _text("address", data.address, 4, 200, "地址", "address")
    region = parse_region("region_code", data.region_code)
    if not 1 <= data.headcount <= 1_000_000:
        raise ValidationError.field("headcount", "职工人数应为 1–1000000", "headcount: 1–1000000")
    if len(data.founders) > MAX_FOUNDERS:
        raise ValidationError.field(
            "founders", f"发起人最多 {MAX_FOUNDERS} 位", f"at most {MAX_FOUNDERS} founders"
        )
    need = min_founders if data.applicant_type == ApplicantType.workers else 1
    if len(data.founders) < need:
        raise ValidationError.field(
            "founders",
            f"至少需要 {need} 位发起人",
            f"at least {need} founders are needed",
            code="too_few_founders",
        )
    founders = [_person(i, f) for i, f in enumerate(data.founders)]
    if data.kind == FoundingKind.found:
        _text("union_name", data.union_name, 4, 128, "拟成立工会名称", "union name")
    elif data.joint_org_id is None:
        raise ValidationError.field(
            "joint_org_id", "请选择要加入的联合工会", "choose a joint union"
        )
    del name
    return Checked(data, code, region, founders, contact)


async def reviewer_for(session: AsyncSession, region_code: str) -> Org:
    """The federation that reviews an enterprise in this region: the district with that
    region code, else the city, else the province (the lowest level the tree has)."""
    for level, code in (
        (OrgLevel.district, region_code),
        (OrgLevel.city, region_code[:4] + "00"),
        (OrgLevel.provincial, region_code[:2] + "0000"),
    ):
        org = await session.scalar(
            select(Org)
            .where(Org.level == level, Org.region_code == code, Org.status == OrgStatus.active)
            .order_by(Org.created_at)
            .limit(1)
        )
        if org is not None:
            return org
    raise ValidationError.field(
        "region_code",
        "该地区暂无受理建会申请的总工会",
        "no federation in the tree accepts applications from this region",
        code="no_reviewer_for_region",
    )


async def joint_unions(session: AsyncSession, reviewer: Org | None = None) -> list[Org]:
    """The open joint unions (by name), under the reviewing federation if given."""
    stmt = select(Org).where(
        Org.level == OrgLevel.grassroots,
        Org.status == OrgStatus.active,
        Org.name.contains(JOINT_MARK),
    )
    if reviewer is not None:
        stmt = stmt.where(Org.path.startswith(reviewer.path, autoescape=True))
    return list(await session.scalars(stmt.order_by(Org.name).limit(200)))


async def _check_joint(session: AsyncSession, reviewer: Org, joint_id: uuid.UUID) -> None:
    if joint_id not in {o.id for o in await joint_unions(session, reviewer)}:
        raise ValidationError.field(
            "joint_org_id",
            "所选联合工会不在该地区或已撤销",
            "that joint union is not in this region or is closed",
        )


async def _refuse_duplicate(session: AsyncSession, code: str, own: uuid.UUID | None) -> None:
    stmt = select(FoundingApplication.status).where(
        FoundingApplication.credit_code == code,
        FoundingApplication.status.in_([*OPEN_FOUNDING, FoundingStatus.approved]),
    )
    if own is not None:
        stmt = stmt.where(FoundingApplication.id != own)
    status = await session.scalar(stmt.limit(1))
    if status is not None:
        raise Conflict(
            "founding_exists",
            "该单位已建会或已有正在办理的建会申请",
            "this enterprise already has a union or an open application",
            errors=[FieldError("credit_code", "已有申请", "already applied")],
        )


def add_step(
    session: AsyncSession,
    app: FoundingApplication,
    kind: str,
    actor: str,
    *,
    now: datetime,
    note: str | None = None,
) -> None:
    session.add(FoundingStep(application_id=app.id, at=now, kind=kind, actor=actor, note=note))


def audit(
    session: AsyncSession, actor: Principal, action: str, app: FoundingApplication, **extra: object
) -> None:
    record(
        session,
        actor,
        action,
        target_type="founding_application",
        target_id=app.id,
        org_path=app.reviewer_org_path,
        summary={"ref_no": app.ref_no, "status": app.status.value, **extra},
    )


def _fill(app: FoundingApplication, checked: Checked, cipher: PiiCipher) -> None:
    d = checked.data
    app.kind, app.applicant_type = d.kind, d.applicant_type
    app.contact_name_enc = cipher.encrypt(NAME_FIELD, checked.contact_name)
    app.founders_enc = cipher.encrypt(FOUNDERS_FIELD, json.dumps(checked.founders))
    app.founders_count = len(checked.founders)
    app.data_key_id = PiiCipher.key_id(app.founders_enc)
    app.enterprise_name = " ".join(d.enterprise_name.split())
    app.credit_code = checked.credit_code
    app.address = " ".join(d.address.split())
    app.region_code = checked.region_code
    app.headcount = d.headcount
    app.union_name = " ".join((d.union_name or "").split()) or None
    app.joint_org_id = d.joint_org_id if d.kind == FoundingKind.join_joint else None


async def submit(
    session: AsyncSession,
    cipher: PiiCipher,
    *,
    phone: str,
    data: FoundingInput,
    min_founders: int,
    now: datetime,
) -> FoundingApplication:
    """File an application for the signed-in phone; routed to the reviewing federation."""
    checked = check_input(data, min_founders)
    reviewer = await reviewer_for(session, checked.region_code)
    if data.joint_org_id is not None and data.kind == FoundingKind.join_joint:
        await _check_joint(session, reviewer, data.joint_org_id)
    await _refuse_duplicate(session, checked.credit_code, None)
    (number,) = await allocate(session, "founding_application")
    app = FoundingApplication(
        ref_no=f"JH{now.year:04d}{number:07d}",
        status=FoundingStatus.submitted,
        phone_hash=cipher.lookup_hash("phone", phone),
        phone_enc=cipher.encrypt("phone", phone),
        reviewer_org_id=reviewer.id,
        reviewer_org_path=reviewer.path,
        submitted_at=now,
    )
    _fill(app, checked, cipher)
    session.add(app)
    await session.flush()
    actor = applicant_actor(app.phone_hash, phone)
    add_step(session, app, "submitted", actor.username, now=now)
    audit(session, actor, "founding.submit", app, kind=app.kind.value)
    return app


async def resubmit(
    session: AsyncSession,
    cipher: PiiCipher,
    app: FoundingApplication,
    *,
    phone: str,
    data: FoundingInput,
    min_founders: int,
    note: str | None,
    now: datetime,
) -> FoundingApplication:
    """The applicant answers a request for more: the corrected form goes back for review."""
    if app.status != FoundingStatus.info_requested:
        raise Conflict(
            "founding_not_awaiting_applicant",
            "该申请当前不需要补充材料",
            "the application is not waiting for more information",
        )
    checked = check_input(data, min_founders)
    reviewer = await reviewer_for(session, checked.region_code)
    if data.kind == FoundingKind.join_joint and data.joint_org_id is not None:
        await _check_joint(session, reviewer, data.joint_org_id)
    await _refuse_duplicate(session, checked.credit_code, app.id)
    _fill(app, checked, cipher)
    app.reviewer_org_id, app.reviewer_org_path = reviewer.id, reviewer.path
    app.status = FoundingStatus.submitted
    actor = applicant_actor(app.phone_hash, phone)
    add_step(session, app, "resubmitted", actor.username, now=now, note=_note(note, False))
    audit(session, actor, "founding.resubmit", app)
    return app


def _note(raw: str | None, required: bool) -> str | None:
    text = (raw or "").strip()
    if required and not 2 <= len(text) <= 1000:
        raise ValidationError.field(
            "note", "请填写说明（2–1000 个字符）", "give a note (2–1000 characters)"
        )
    return text[:1000] or None


def _must_be_open(app: FoundingApplication) -> None:
    if app.status != FoundingStatus.submitted:
        raise Conflict(
            "founding_not_under_review",
            "该申请不在待审核状态",
            "the application is not waiting for review",
        )


async def request_info(
    session: AsyncSession, actor: Principal, app: FoundingApplication, *, note: str, now: datetime
) -> FoundingApplication:
    _must_be_open(app)
    app.staff_note = _note(note, True)
    app.status = FoundingStatus.info_requested
    add_step(session, app, "info_requested", actor.username, now=now, note=app.staff_note)
    audit(session, actor, "founding.request_info", app)
    return app


async def refuse(
    session: AsyncSession, actor: Principal, app: FoundingApplication, *, reason: str, now: datetime
) -> FoundingApplication:
    _must_be_open(app)
    app.staff_note = _note(reason, True)
    app.status = FoundingStatus.refused
    app.decided_at, app.decided_by = now, actor.username
    add_step(session, app, "refused", actor.username, now=now, note=app.staff_note)
    audit(session, actor, "founding.refuse", app, reason=app.staff_note)
    return app


_NOT_FOUND = ("founding_not_found", "未找到该建会申请", "Founding application not found")


async def staff_application(
    session: AsyncSession, viewer: Principal, app_id: uuid.UUID
) -> FoundingApplication:
    """The application, if its reviewing org lies where the viewer holds org.write; else 404."""
    app = await session.get(FoundingApplication, app_id)
    if app is None or not viewer.can(Perm.org_write, app.reviewer_org_path):
        raise NotFound(*_NOT_FOUND)
    return app


async def applicant_application(
    session: AsyncSession, phone_hash: str, app_id: uuid.UUID
) -> FoundingApplication:
    app = await session.get(FoundingApplication, app_id)
    if app is None or app.phone_hash != phone_hash:
        raise NotFound(*_NOT_FOUND)
    return app


async def applications_for_phone(
    session: AsyncSession, phone_hash: str
) -> list[FoundingApplication]:
    return list(
        await session.scalars(
            select(FoundingApplication)
            .where(FoundingApplication.phone_hash == phone_hash)
            .order_by(FoundingApplication.submitted_at.desc())
        )
    )


async def review_queue(
    session: AsyncSession,
    viewer: Principal,
    *,
    status: FoundingStatus | None,
    q: str | None,
    limit: int,
    offset: int,
) -> tuple[list[FoundingApplication], int]:
    conds = [viewer.scope_filter(FoundingApplication.reviewer_org_path, Perm.org_write)]
    if status is not None:
        conds.append(FoundingApplication.status == status)
    if q and q.strip():
        like = q.strip()
        conds.append(
            or_(
                FoundingApplication.enterprise_name.contains(like, autoescape=True),
                FoundingApplication.ref_no == like.upper(),
                FoundingApplication.credit_code == like.upper(),
            )
        )
    total = await session.scalar(
        select(func.count()).select_from(FoundingApplication).where(*conds)
    )
    rows = await session.scalars(
        select(FoundingApplication)
        .where(*conds)
        .order_by(FoundingApplication.submitted_at.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0)


async def steps_of(session: AsyncSession, app: FoundingApplication) -> list[FoundingStep]:
    return list(
        await session.scalars(
            select(FoundingStep)
            .where(FoundingStep.application_id == app.id)
            .order_by(FoundingStep.at, FoundingStep.created_at)
        )
    )


def founders_of(cipher: PiiCipher, app: FoundingApplication) -> list[dict[str, str]]:
    return list(json.loads(cipher.decrypt(FOUNDERS_FIELD, app.founders_enc)))


def not_reviewable(app: FoundingApplication) -> AppError:
    return Conflict("founding_not_under_review", "该申请不在待审核状态", "not waiting for review")
