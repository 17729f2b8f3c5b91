"""Exact-match look-up of members by ID number or phone: a capability of the roles that may
unmask, rate-limited per staff account and audited per look-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import record
from cardsvc.kernel.errors import AppError, Forbidden, ValidationError
from cardsvc.kernel.masking import normalize_id_number
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.ratelimit import RateLimiter
from cardsvc.members.identity import parse_phone, parse_resident_id
from cardsvc.members.models import Member
from cardsvc.members.service import ID_FIELD, PHONE_FIELD

MAX_MATCHES = 20


class IdentityLookupForbidden(Forbidden):
    code = "identity_lookup_forbidden"
    message_zh = "您的角色无权按身份证号或手机号查找会员"
    message_en = "Your role may not look members up by ID number or phone"


class IdentityLookupThrottled(AppError):
    status = 429
    code = "rate_limited"
    message_zh = "按身份证号或手机号查找过于频繁，请稍后再试"
    message_en = "Too many look-ups by ID number or phone; retry later"


@dataclass(frozen=True, slots=True)
class LookupLimit:
    """Exact-match look-ups per staff account and hour."""

    limiter: RateLimiter
    per_hour: int


async def lookup_members(
    session: AsyncSession,
    viewer: Principal,
    cipher: PiiCipher,
    *,
    id_number: str | None,
    phone: str | None,
    limit: LookupLimit,
) -> list[Member]:
    """Members whose ID number or phone is exactly this: only for roles that may unmask, only
    in the subtrees where they may, rate-limited, and every look-up audited (an exact match
    confirms a guessed number, as good as unmasking it)."""
    if not viewer.can(Perm.member_unmask):
        raise IdentityLookupForbidden()
    if not (id_number or "").strip() and not (phone or "").strip():
        raise ValidationError.field(
            "id_number", "请填写身份证号或手机号", "give an ID number or a phone"
        )
    decision = await limit.limiter.hit(f"member-lookup:{viewer.id}", limit.per_hour, 3600)
    if not decision.allowed:
        wait = decision.retry_after
        raise IdentityLookupThrottled(headers={"Retry-After": str(wait)}, retry_after=wait)
    conds: list[Any] = [viewer.scope_filter(Member.org_path, Perm.member_unmask)]
    if id_number and id_number.strip():
        try:
            number = parse_resident_id(id_number).number
        except ValidationError:
            number = normalize_id_number(id_number)
        conds.append(Member.id_number_hash == cipher.lookup_hash(ID_FIELD, number))
    if phone and phone.strip():
        try:
            plain = parse_phone(phone)
        except ValidationError:
            plain = phone.strip()
        conds.append(Member.phone_hash == cipher.lookup_hash(PHONE_FIELD, plain))
    rows = list(
        await session.scalars(
            select(Member).where(*conds).order_by(Member.member_no).limit(MAX_MATCHES)
        )
    )
    record(
        session,
        viewer,
        "member.lookup",
        target_type="member",
        target_id=rows[0].id if len(rows) == 1 else None,
        org_path=rows[0].org_path
        if len(rows) == 1
        else min(viewer.paths(Perm.member_unmask), key=len, default=None),
        summary={
            "by": [f for f, v in ((ID_FIELD, id_number), (PHONE_FIELD, phone)) if v and v.strip()],
            "found": len(rows),
        },
    )
    return rows
