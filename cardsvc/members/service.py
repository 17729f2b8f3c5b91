"""Members: create with validated and encrypted identity, search, update, change status."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import record
from cardsvc.kernel.clock import local_date, utc_now
from cardsvc.kernel.errors import Conflict, FieldError, Forbidden, NotFound, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.regions import parse_optional_region
from cardsvc.kernel.sequences import allocate
from cardsvc.members.identity import parse_phone, parse_resident_id, validate_name
from cardsvc.members.models import Category, Member, MemberIdentity, MemberStatus
from cardsvc.members.numbers import format_member_no
from cardsvc.orgs.models import Org, OrgLevel, OrgStatus

ID_FIELD, PHONE_FIELD = "id_number", "phone"

# What follows a member's status change outside this package (the card follows the member,
# ``cardsvc.membership.lifecycle``): registered by the composition root (``cardsvc.wiring``).
StatusHook = Callable[
    [AsyncSession, Member, MemberStatus | None, Principal, str | None], Awaitable[None]
]
_status_hooks: list[StatusHook] = []


def on_status_change(hook: StatusHook) -> None:
    if hook not in _status_hooks:
        _status_hooks.append(hook)


async def after_status_change(
    session: AsyncSession,
    member: Member,
    before: MemberStatus | None,
    actor: Principal,
    reason: str | None = None,
) -> None:
    if not _status_hooks:
        # A member must never change status with the card left behind.
        raise RuntimeError("member status hooks are not wired: call cardsvc.wiring.wire()")
    for hook in _status_hooks:
        await hook(session, member, before, actor, reason)


EMPLOYMENT_TYPES = ("employee", "flexible_worker", "platform_worker", "migrant_worker", "retired")
HARDSHIP_LEVELS = (1, 2, 3)

# Allowed status changes: (from, to).
TRANSITIONS = {
    (MemberStatus.pending, MemberStatus.active),
    (MemberStatus.pending, MemberStatus.left),
    (MemberStatus.active, MemberStatus.suspended),
    (MemberStatus.active, MemberStatus.left),
    (MemberStatus.suspended, MemberStatus.active),
    (MemberStatus.suspended, MemberStatus.left),
}


@dataclass(slots=True)
class MemberInput:
    name: str
    id_number: str
    phone: str | None
    org_id: uuid.UUID
    categories: list[str] = field(default_factory=list)
    hardship_level: int | None = None
    employment_type: str | None = None
    employer: str | None = None
    job: str | None = None
    region_code: str | None = None  # a code or an unambiguous name (kernel/regions)
    status: MemberStatus = MemberStatus.active
    joined_on: date | None = None


def validate_categories(categories: list[str], hardship_level: int | None) -> list[str]:
    out: list[str] = []
    for c in categories:
        try:
            out.append(Category(c).value)
        except ValueError:
            raise ValidationError.field(
                "categories", f"未知的会员类别：{c}", f"unknown category: {c}"
            ) from None
    out = sorted(set(out))
    if hardship_level is not None and hardship_level not in HARDSHIP_LEVELS:
        raise ValidationError.field(
            "hardship_level", "困难等级应为 1、2 或 3", "hardship_level must be 1, 2 or 3"
        )
    if (Category.hardship.value in out) != (hardship_level is not None):
        raise ValidationError.field(
            "hardship_level",
            "困难职工类别与困难等级必须同时设置",
            "the hardship category and hardship_level go together",
        )
    return out


def hardship_needs_record(field: str = "hardship_level") -> ValidationError:
    """Hardship unlocks the most sensitive entitlements: only an approved hardship record
    (decided one level above the member's union) sets it, and its end clears it."""
    zh = "困难职工身份只能通过困难职工建档申请、经上一级工会审批后取得，不能直接设置"
    en = (
        "hardship status comes only from a hardship record approved by the union one level "
        "above (POST /api/v1/hardship/records); it cannot be set directly"
    )
    return ValidationError(
        code="hardship_needs_record",
        message_zh=zh,
        message_en=en,
        errors=[FieldError(field, zh, en)],
    )


def staff_categories(categories: list[str], *, has_hardship: bool = False) -> list[str]:
    """The categories staff set directly: every one but hardship, which the member keeps
    exactly as the hardship record made it (``has_hardship``)."""
    out = validate_categories(
        [c for c in categories if c != Category.hardship.value], hardship_level=None
    )
    if (Category.hardship.value in categories) != has_hardship:
        raise hardship_needs_record("categories")
    return sorted([*out, Category.hardship.value]) if has_hardship else out


def validate_employment(employment_type: str | None) -> str | None:
    if employment_type is not None and employment_type not in EMPLOYMENT_TYPES:
        raise ValidationError.field(
            "employment_type",
            "未知的就业形态",
            f"employment_type must be one of {', '.join(EMPLOYMENT_TYPES)}",
        )
    return employment_type


async def assert_accepts_members(session: AsyncSession, org: Org) -> None:
    if org.level != OrgLevel.grassroots:
        raise ValidationError.field(
            "org_id", "会员只能加入基层工会", "members belong to a grassroots union"
        )
    if org.status != OrgStatus.active:
        raise ValidationError.field(
            "org_id", "该工会已撤销，不再接收会员", "this union is closed and accepts no members"
        )


async def find_by_id_number(
    session: AsyncSession, cipher: PiiCipher, id_number: str
) -> Member | None:
    """The member with this ID number, through its identity row (one shard under Citus, then
    the member's own)."""
    digest = cipher.lookup_hash(ID_FIELD, id_number)
    member_id = await session.scalar(
        select(MemberIdentity.member_id).where(MemberIdentity.id_number_hash == digest)
    )
    return None if member_id is None else await session.get(Member, member_id)


def duplicate_id_number() -> Conflict:
    return Conflict(
        "duplicate_id_number",
        "该身份证号已登记为会员（或入会申请审核中）",
        "a member (or pending application) with this ID number already exists",
        errors=[FieldError("id_number", "该身份证号已登记", "already registered")],
    )


async def add_member(
    session: AsyncSession, member: Member, duplicate: Callable[[], Conflict] = duplicate_id_number
) -> None:
    """The new member and its identity row in one savepoint: a second membership of the same
    person (a writer that raced past the caller's check) is refused with ``duplicate()``."""
    try:
        async with session.begin_nested():
            session.add(member)
            await session.flush()  # gives the member its id
            session.add(MemberIdentity(id_number_hash=member.id_number_hash, member_id=member.id))
            await session.flush()
    except IntegrityError:
        raise duplicate() from None


async def create_member(
    session: AsyncSession, actor: Principal, cipher: PiiCipher, data: MemberInput
) -> Member:
    name = validate_name(data.name)
    rid = parse_resident_id(data.id_number)
    phone = parse_phone(data.phone) if data.phone else None
    if data.hardship_level is not None:
        raise hardship_needs_record()
    categories = staff_categories(data.categories)
    employment = validate_employment(data.employment_type)
    org = await session.get(Org, data.org_id)
    if org is None or not actor.can(Perm.member_write, org.path):
        raise NotFound("org_not_found", "未找到该工会", "Union not found")
    await assert_accepts_members(session, org)
    if data.status not in (MemberStatus.pending, MemberStatus.active):
        raise ValidationError.field(
            "status", "新会员状态只能是待审核或正常", "a new member is pending or active"
        )
    if await find_by_id_number(session, cipher, rid.number):
        raise duplicate_id_number()
    seq = (await allocate(session, "member"))[0]
    member = Member(
        member_no=format_member_no(seq),
        name=name,
        id_number_enc=cipher.encrypt(ID_FIELD, rid.number),
        id_number_hash=cipher.lookup_hash(ID_FIELD, rid.number),
        phone_enc=cipher.encrypt(PHONE_FIELD, phone) if phone else None,
        phone_hash=cipher.lookup_hash(PHONE_FIELD, phone) if phone else None,
        data_key_id=cipher.active_kid,
        birth_date=rid.birth_date,
        gender=rid.gender,
        org_id=org.id,
        org_path=org.path,
        status=data.status,
        categories=categories,
        employment_type=employment,
        employer=(data.employer or "").strip() or None,
        job=(data.job or "").strip() or None,
        region_code=parse_optional_region("region_code", data.region_code) or org.region_code,
        joined_on=(data.joined_on or local_date(utc_now()))
        if data.status == MemberStatus.active
        else None,
    )
    await add_member(session, member)
    if member.status == MemberStatus.active:
        await after_status_change(session, member, None, actor, reason="登记入会")
    record(
        session,
        actor,
        "member.create",
        target_type="member",
        target_id=member.id,
        org_path=member.org_path,
        summary={
            "member_no": member.member_no,
            "status": member.status.value,
            "categories": categories,
        },
    )
    return member


async def get_member(
    session: AsyncSession, viewer: Principal, member_id: uuid.UUID, perm: Perm = Perm.member_read
) -> Member:
    member = await session.get(Member, member_id)
    if member is None or not viewer.can(perm, member.org_path):
        raise NotFound("member_not_found", "未找到该会员", "Member not found")
    return member


def reveal(
    session: AsyncSession, viewer: Principal, cipher: PiiCipher, member: Member
) -> dict[str, str | None]:
    """Plain ID number and phone for a role that may unmask; the read itself is audited."""
    if not viewer.can(Perm.member_unmask, member.org_path):
        raise Forbidden(
            "unmask_forbidden",
            "您的角色无权查看完整身份证号",
            "your role may not unmask ID numbers",
        )
    record(
        session,
        viewer,
        "member.unmask",
        target_type="member",
        target_id=member.id,
        org_path=member.org_path,
        summary={"fields": [ID_FIELD, PHONE_FIELD]},
    )
    return {
        "id_number": cipher.decrypt(ID_FIELD, member.id_number_enc),
        "phone": cipher.decrypt(PHONE_FIELD, member.phone_enc) if member.phone_enc else None,
    }


@dataclass(frozen=True, slots=True)
class MemberQuery:
    member_no: str | None = None
    name: str | None = None  # prefix
    org_id: uuid.UUID | None = None  # subtree root
    status: MemberStatus | None = None
    category: str | None = None
    limit: int = 50
    offset: int = 0


async def search_members(
    session: AsyncSession, viewer: Principal, q: MemberQuery
) -> tuple[list[Member], int]:
    if not viewer.can(Perm.member_read):
        raise Forbidden("forbidden", "您的角色无权查看会员", "your role may not read members")
    conds: list[Any] = [viewer.scope_filter(Member.org_path, Perm.member_read)]
    if q.member_no:
        conds.append(Member.member_no == q.member_no.strip())
    if q.name:
        conds.append(Member.name.startswith(q.name.strip(), autoescape=True))
    if q.org_id:
        root = await session.get(Org, q.org_id)
        if root is None or not viewer.sees(root.path):
            raise NotFound("org_not_found", "未找到该组织", "Org not found")
        conds.append(Member.org_path.startswith(root.path, autoescape=True))
    if q.status:
        conds.append(Member.status == q.status)
    if q.category:
        # JSON arrays are stored as text on both databases; match the quoted value.
        conds.append(cast(Member.categories, Text).contains(f'"{q.category}"'))
    total = (
        await session.execute(select(func.count()).select_from(Member).where(*conds))
    ).scalar_one()
    rows = await session.scalars(
        select(Member).where(*conds).order_by(Member.member_no).limit(q.limit).offset(q.offset)
    )
    return list(rows), total


async def active_member_counts(session: AsyncSession, viewer: Principal) -> dict[uuid.UUID, int]:
    """Active members directly in each org, counting only members the viewer may read."""
    rows = await session.execute(
        select(Member.org_id, func.count())
        .where(
            viewer.scope_filter(Member.org_path, Perm.member_read),
            Member.status == MemberStatus.active,
        )
        .group_by(Member.org_id)
    )
    return {org_id: int(n) for org_id, n in rows}


@dataclass(slots=True)
class MemberUpdate:
    name: str | None = None
    phone: str | None = None
    categories: list[str] | None = None
    hardship_level: int | None = None
    employment_type: str | None = None
    employer: str | None = None
    job: str | None = None
    region_code: str | None = None
    reason: str | None = None  # why staff changed it, kept in the audit row
    fields_set: frozenset[str] = frozenset()


async def update_member(
    session: AsyncSession,
    actor: Principal,
    cipher: PiiCipher,
    member_id: uuid.UUID,
    data: MemberUpdate,
) -> Member:
    member = await get_member(session, actor, member_id, Perm.member_write)
    if member.erased_at is not None:
        raise Conflict(
            "member_erased",
            "该会员的个人信息已删除，不能再修改",
            "this member's personal data was erased; it cannot be edited",
        )
    changed: list[str] = []
    if "name" in data.fields_set and data.name is not None:
        member.name = validate_name(data.name)
        changed.append("name")
    if "phone" in data.fields_set:
        phone = parse_phone(data.phone) if data.phone else None
        member.phone_enc = cipher.encrypt(PHONE_FIELD, phone) if phone else None
        member.phone_hash = cipher.lookup_hash(PHONE_FIELD, phone) if phone else None
        changed.append("phone")
    before_categories = list(member.categories or [])
    if "hardship_level" in data.fields_set and data.hardship_level != member.hardship_level:
        raise hardship_needs_record()
    if "categories" in data.fields_set:
        member.categories = staff_categories(
            list(data.categories or []),
            has_hardship=Category.hardship.value in before_categories,
        )
        changed.append("categories")
    if "employment_type" in data.fields_set:
        member.employment_type = validate_employment(data.employment_type)
        changed.append("employment_type")
    for attr in ("employer", "job"):
        if attr in data.fields_set:
            setattr(member, attr, (getattr(data, attr) or "").strip() or None)
            changed.append(attr)
    if "region_code" in data.fields_set:
        member.region_code = parse_optional_region("region_code", data.region_code)
        changed.append("region_code")
    if not changed:
        raise ValidationError.field("body", "没有要修改的字段", "no field to change")
    record(
        session,
        actor,
        "member.update",
        target_type="member",
        target_id=member.id,
        org_path=member.org_path,
        summary={
            "fields": sorted(set(changed)),
            **_category_change(before_categories, member),
            **({"reason": reason} if (reason := (data.reason or "").strip()[:255]) else {}),
        },
    )
    return member


def _category_change(before: list[str], member: Member) -> dict[str, list[str]]:
    """Categories unlock programmes: the audit row keeps what staff changed."""
    after = list(member.categories or [])
    if after == sorted(before):
        return {}
    return {"categories_before": sorted(before), "categories_after": after}


async def change_status(
    session: AsyncSession,
    actor: Principal,
    member_id: uuid.UUID,
    *,
    status: MemberStatus,
    reason: str | None,
) -> Member:
    member = await get_member(session, actor, member_id, Perm.member_write)
    if (member.status, status) not in TRANSITIONS:
        raise Conflict(
            "invalid_status_change",
            f"会员状态不能从 {member.status.value} 变为 {status.value}",
            f"cannot change member status from {member.status.value} to {status.value}",
        )
    if status in (MemberStatus.suspended, MemberStatus.left) and not (reason or "").strip():
        raise ValidationError.field("reason", "请填写原因", "a reason is required")
    before = member.status
    member.status = status
    member.status_reason = (reason or "").strip() or None
    if status == MemberStatus.active and member.joined_on is None:
        member.joined_on = local_date(utc_now())
    await after_status_change(session, member, before, actor, reason=member.status_reason)
    record(
        session,
        actor,
        "member.status",
        target_type="member",
        target_id=member.id,
        org_path=member.org_path,
        summary={"from": before.value, "to": status.value, "reason": member.status_reason},
    )
    return member


async def refuse_closing_with_members(session: AsyncSession, org: Org) -> None:
    """An org with active, pending or suspended members cannot close (registered with
    ``cardsvc.orgs.service.register_close_check``)."""
    live_members = await session.scalar(
        select(func.count())
        .select_from(Member)
        .where(
            Member.org_id == org.id,
            Member.status.in_([MemberStatus.active, MemberStatus.pending, MemberStatus.suspended]),
        )
    )
    if live_members:
        raise Conflict(
            "org_has_members",
            f"该组织还有 {live_members} 名会员，请先转会或办理离会",
            f"org still has {live_members} members",
        )
