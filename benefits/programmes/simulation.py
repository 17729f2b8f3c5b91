"""Whom a staff simulation runs for: one member, or a sample of an org's subtree; and how an
edit of a programme would change who may use it (``eligibility_diff``).

The staff API (``POST /api/v1/programs/simulate``) and the console's simulator both call
:func:`simulation_members`; members and orgs outside the staff member's subtrees are "not
found", never revealed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from benefits.access import READ, Directory, MemberRef, StaffPrincipal
from benefits.errors import FieldError, NotFound, Reason, ValidationError
from benefits.rules.eligibility import check_eligibility
from benefits.rules.facts import MerchantContext
from benefits.rules.programme import ProgramRules

# The merchant id of a hypothetical point of sale (a simulation for a category or region).
NO_MERCHANT = uuid.UUID(int=0)


def org_not_found(field: str) -> NotFound:
    return NotFound(
        "org_not_found",
        "未找到该组织",
        "Org not found",
        errors=[FieldError(field, "组织不存在或不在您的管理范围内", "no such org in your scope")],
    )


async def simulation_members(
    staff: StaffPrincipal,
    directory: Directory,
    *,
    member_id: uuid.UUID | None = None,
    member_no: str | None = None,
    org_id: uuid.UUID | None = None,
    sample: int = 20,
) -> list[MemberRef]:
    """Exactly one of ``member_id``, ``member_no`` (that member) or ``org_id`` (up to
    ``sample`` members of its subtree)."""
    chosen = {"member_id": member_id, "member_no": member_no, "org_id": org_id}
    given = [name for name, value in chosen.items() if value is not None]
    if len(given) != 1:
        raise ValidationError.field(
            given[1] if given else "member_id",
            "请只指定 member_id、member_no、org_id 其中之一",
            "give exactly one of member_id, member_no, org_id",
        )
    if org_id is not None:
        path = await directory.org_path(org_id)
        if path is None or not staff.can(READ, path):
            raise org_not_found("org_id")
        return await directory.sample_members(path, sample)
    ref = await directory.find_member(member_id=member_id, member_no=member_no)
    if ref is None or not staff.can(READ, ref.facts.org_path):
        raise NotFound(
            "member_not_found",
            "未找到该会员",
            "Member not found",
            errors=[
                FieldError(given[0], "会员不存在或不在您的管理范围内", "no such member in scope")
            ],
        )
    return [ref]


async def simulation_point_of_sale(
    directory: Directory,
    *,
    merchant_id: uuid.UUID | None,
    store_id: uuid.UUID | None,
    category: str | None,
    region: str | None,
) -> MerchantContext:
    """Where the simulation happens. Given a merchant or a store, exactly what a terminal
    there presents (its real category, region and store), so the answer is the scan's; a
    category or region given beside them would contradict it and is refused. Without either,
    a hypothetical point of sale of that category and region."""
    if merchant_id is None and store_id is None:
        return MerchantContext(merchant_id=NO_MERCHANT, category=category, region=region)
    if category is not None or region is not None:
        raise ValidationError.field(
            "merchant.category" if category is not None else "merchant.region",
            "指定了商户或门店时，类别和地区取自该商户，不能另行指定",
            "with a merchant or store, its own category and region apply: leave these out",
        )
    where = await directory.point_of_sale(merchant_id=merchant_id, store_id=store_id)
    if where is None:
        field = "merchant.store_id" if store_id is not None else "merchant.merchant_id"
        raise NotFound(
            "merchant_not_found",
            "未找到该商户或门店",
            "Merchant or store not found",
            errors=[FieldError(field, "商户或门店不存在", "no such merchant or store")],
        )
    return where


@dataclass(frozen=True, slots=True)
class MemberChange:
    """A member whose access changes, and why they lack it under the other version."""

    member_no: str
    reasons: list[Reason]


@dataclass(frozen=True, slots=True)
class EligibilityDiff:
    """Who gains and who loses a programme if an edit goes live, over a sample of members."""

    sampled: int
    gained: list[MemberChange]  # eligible under the edit, not now (reasons: the live version's)
    lost: list[MemberChange]  # eligible now, not under the edit (reasons: the edit's)
    kept: int  # eligible under both
    neither: int  # eligible under neither


def eligibility_diff(
    live: ProgramRules | None,
    draft: ProgramRules,
    *,
    owner_org_path: str,
    members: list[MemberRef],
    on: date,
) -> EligibilityDiff:
    """Compare who may use the programme under its live rules (None: not live, nobody may)
    and under an edit, member by member; what a scan checks about the member, not the shop."""
    gained: list[MemberChange] = []
    lost: list[MemberChange] = []
    kept = neither = 0
    for ref in members:
        draft_no = check_eligibility(
            draft.eligibility, owner_org_path=owner_org_path, member=ref.facts, on=on
        )
        live_no = (
            check_eligibility(
                live.eligibility, owner_org_path=owner_org_path, member=ref.facts, on=on
            )
            if live is not None
            else [Reason("not_live", "项目尚未发布", "The programme is not live")]
        )
        if not draft_no and live_no:
            gained.append(MemberChange(ref.member_no, live_no))
        elif draft_no and not live_no:
            lost.append(MemberChange(ref.member_no, draft_no))
        elif not draft_no:
            kept += 1
        else:
            neither += 1
    return EligibilityDiff(len(members), gained, lost, kept, neither)
