"""Whom a staff simulation runs for: one member, or a sample of an org's subtree.

The staff API (``POST /api/v1/programs/simulate``) and the console's simulator both call
:func:`simulation_members`; members and orgs outside the staff member's subtrees are "not
found", never revealed.
"""

from __future__ import annotations

import uuid

from benefits.access import READ, Directory, MemberRef, StaffPrincipal
from benefits.errors import FieldError, NotFound, ValidationError


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
