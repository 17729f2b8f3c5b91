"""Staff API for members: identity is masked unless the role may unmask (audited).

Roles that may not unmask see the minimum they need: the masked ID number and phone, the birth
year (not the date) and the province (not the household-registration county), which together
no longer narrow an ID number down to a handful of candidates."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

import msgspec
from litestar import Controller, get, patch, post
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import AppError
from cardsvc.kernel.masking import mask_id_number, mask_phone
from cardsvc.kernel.openapi import RATE_LIMITED
from cardsvc.kernel.pagination import Limit, Offset
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.regions import full_name, province_code
from cardsvc.members.lookup import IdentityLookupForbidden, LookupLimit, lookup_members
from cardsvc.members.models import Member, MemberStatus
from cardsvc.members.service import (
    ID_FIELD,
    PHONE_FIELD,
    MemberInput,
    MemberQuery,
    MemberUpdate,
    change_status,
    create_member,
    get_member,
    reveal,
    search_members,
    update_member,
)


class MemberOut(msgspec.Struct):
    id: uuid.UUID
    member_no: str
    name: str
    id_number_masked: str
    phone_masked: str | None
    gender: str
    # The date only for roles that may unmask this member; None too once erased.
    birth_date: date | None
    birth_year: int | None
    org_id: uuid.UUID
    status: MemberStatus
    status_reason: str | None
    categories: list[str]
    hardship_level: int | None
    employment_type: str | None
    employer: str | None
    job: str | None
    region_code: str | None  # GB/T 2260, e.g. "420525"
    region_name: str | None  # its full name, e.g. "湖北省宜昌市远安县"
    joined_on: date | None


class MemberPage(msgspec.Struct):
    items: list[MemberOut]
    total: int
    limit: int
    offset: int


class MemberIn(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=32, examples=["张三明"])]
    id_number: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    org_id: uuid.UUID
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    categories: list[str] = []
    hardship_level: int | None = None
    employment_type: str | None = None
    employer: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    job: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    # A 6-digit code, or a name that maps to exactly one code; the union's when omitted.
    region_code: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    status: MemberStatus = MemberStatus.active


class MemberPatch(msgspec.Struct, omit_defaults=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    phone: str | msgspec.UnsetType | None = msgspec.UNSET
    categories: list[str] | msgspec.UnsetType = msgspec.UNSET
    hardship_level: int | msgspec.UnsetType | None = msgspec.UNSET
    employment_type: str | msgspec.UnsetType | None = msgspec.UNSET
    employer: str | msgspec.UnsetType | None = msgspec.UNSET
    job: str | msgspec.UnsetType | None = msgspec.UNSET
    region_code: Annotated[str, msgspec.Meta(max_length=64)] | msgspec.UnsetType | None = (
        msgspec.UNSET
    )
    # Why the details change: not a field of the member, kept in the audit row.
    reason: Annotated[str, msgspec.Meta(max_length=255)] | msgspec.UnsetType | None = msgspec.UNSET


class StatusIn(msgspec.Struct):
    status: MemberStatus
    reason: Annotated[str, msgspec.Meta(max_length=255)] | None = None


class LookupIn(msgspec.Struct):
    id_number: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None


class IdentityOut(msgspec.Struct):
    id_number: str
    phone: str | None


def member_out(m: Member, cipher: PiiCipher, viewer: Principal) -> MemberOut:
    """The member as ``viewer`` may see them (see the module's docstring)."""
    id_number = cipher.decrypt(ID_FIELD, m.id_number_enc)
    phone = cipher.decrypt(PHONE_FIELD, m.phone_enc) if m.phone_enc else None
    full = viewer.can(Perm.member_unmask, m.org_path)
    region = m.region_code if full else province_code(m.region_code)
    return MemberOut(
        id=m.id,
        member_no=m.member_no,
        name=m.name,
        id_number_masked=mask_id_number(id_number),
        phone_masked=mask_phone(phone) if phone else None,
        gender=m.gender,
        birth_date=m.birth_date if full else None,
        birth_year=m.birth_date.year if m.birth_date else None,
        org_id=m.org_id,
        status=m.status,
        status_reason=m.status_reason,
        categories=list(m.categories or []),
        hardship_level=m.hardship_level,
        employment_type=m.employment_type,
        employer=m.employer,
        job=m.job,
        region_code=region,
        region_name=full_name(region),
        joined_on=m.joined_on,
    )


def lookup_limit(state: State) -> LookupLimit:
    return LookupLimit(state.limiter, state.settings.identity_lookups_per_hour)


def refuse_identity_params(staff: Principal, id_number: str | None, phone: str | None) -> None:
    """The list takes no ID number or phone: an exact match is a look-up (``POST …/lookup``),
    which only roles that may unmask have, audited. Refused rather than ignored, so that a
    list of everyone is never mistaken for a match."""
    if not (id_number or phone):
        return
    if not staff.can(Perm.member_unmask):
        raise IdentityLookupForbidden()
    raise AppError(
        "identity_lookup_required",
        "按身份证号或手机号查找会员请使用精确查找（将记录审计）",
        "Look members up by ID number or phone with POST /api/v1/members/lookup (audited)",
    )


class MemberController(Controller):
    path = "/api/v1/members"
    tags = ["staff: members"]

    @get("/", summary="Search members in my subtrees (masked identity, paginated)")
    async def search(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        member_no: str | None = None,
        id_number: str | None = None,
        phone: str | None = None,
        name: str | None = None,
        org_id: uuid.UUID | None = None,
        status: MemberStatus | None = None,
        category: str | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> MemberPage:
        refuse_identity_params(staff, id_number, phone)
        rows, total = await search_members(
            db_session,
            staff,
            MemberQuery(member_no, name, org_id, status, category, limit, offset),
        )
        return MemberPage([member_out(m, state.cipher, staff) for m in rows], total, limit, offset)

    @post(
        "/lookup",
        summary="Find members by exact ID number or phone (roles that may unmask; audited, "
        "rate-limited; needs CSRF)",
        status_code=200,
        responses=RATE_LIMITED,
    )
    async def lookup(
        self, staff: Principal, state: State, db_session: AsyncSession, data: LookupIn
    ) -> MemberPage:
        rows = await lookup_members(
            db_session,
            staff,
            state.cipher,
            id_number=data.id_number,
            phone=data.phone,
            limit=lookup_limit(state),
        )
        items = [member_out(m, state.cipher, staff) for m in rows]
        return MemberPage(items, len(items), len(items), 0)

    @post("/", summary="Register a member in a grassroots union")
    async def create(
        self, staff: Principal, state: State, db_session: AsyncSession, data: MemberIn
    ) -> MemberOut:
        member = await create_member(
            db_session,
            staff,
            state.cipher,
            MemberInput(
                name=data.name,
                id_number=data.id_number,
                phone=data.phone,
                org_id=data.org_id,
                categories=data.categories,
                hardship_level=data.hardship_level,
                employment_type=data.employment_type,
                employer=data.employer,
                job=data.job,
                region_code=data.region_code,
                status=data.status,
            ),
        )
        return member_out(member, state.cipher, staff)

    @get("/{member_id:uuid}", summary="One member (masked)")
    async def detail(
        self, staff: Principal, state: State, db_session: AsyncSession, member_id: uuid.UUID
    ) -> MemberOut:
        return member_out(await get_member(db_session, staff, member_id), state.cipher, staff)

    @post(
        "/{member_id:uuid}/identity",
        summary="Unmasked ID number and phone (roles that may unmask; audited; needs CSRF)",
        status_code=200,
    )
    async def identity(
        self, staff: Principal, state: State, db_session: AsyncSession, member_id: uuid.UUID
    ) -> IdentityOut:
        # A POST: the read writes an audit row, so a cross-site link must not be able to
        # cause it (the CSRF header is checked for every unsafe method).
        member = await get_member(db_session, staff, member_id)
        plain = reveal(db_session, staff, state.cipher, member)
        return IdentityOut(id_number=plain["id_number"] or "", phone=plain["phone"])

    @patch("/{member_id:uuid}", summary="Update a member's details")
    async def update(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        member_id: uuid.UUID,
        data: MemberPatch,
    ) -> MemberOut:
        fields = {f: getattr(data, f) for f in data.__struct_fields__}
        given = {k: v for k, v in fields.items() if v is not msgspec.UNSET}
        upd = MemberUpdate(**given, fields_set=frozenset(given))
        member = await update_member(db_session, staff, state.cipher, member_id, upd)
        return member_out(member, state.cipher, staff)

    @post(
        "/{member_id:uuid}/status",
        summary="Activate, suspend, or end a membership",
        status_code=200,
    )
    async def status(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        member_id: uuid.UUID,
        data: StatusIn,
    ) -> MemberOut:
        member = await change_status(
            db_session, staff, member_id, status=data.status, reason=data.reason
        )
        return member_out(member, state.cipher, staff)
