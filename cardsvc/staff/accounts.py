"""Staff accounts after creation: disable and enable, reset a password, grant and revoke roles.

Scope: an officer manages an account only when every role the account holds lies in the
officer's ``staff.manage`` subtrees (nobody edits an account that also works above them), and
never their own account here. A role is granted or revoked by someone who may grant it (a
federation admin, or a holder of that same role over the org). A disabled account is refused
at its next request (the session dependency checks ``active``). Every change is audited.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import record
from cardsvc.kernel.errors import Conflict, NotFound, ValidationError
from cardsvc.kernel.permissions import Perm, Role
from cardsvc.kernel.principal import Principal
from cardsvc.staff.models import StaffUser
from cardsvc.staff.service import _add_grant, get_staff, hash_password


def _top_path(user: StaffUser) -> str | None:
    return min((g.org_path for g in user.grants), key=len) if user.grants else None


async def managed_staff(session: AsyncSession, actor: Principal, staff_id: uuid.UUID) -> StaffUser:
    """The account, if all its roles lie in the actor's staff.manage scope; else 404."""
    user = await get_staff(session, actor, staff_id)
    if not all(actor.can(Perm.staff_manage, g.org_path) for g in user.grants):
        raise NotFound("staff_not_found", "未找到该工作人员", "Staff user not found")
    return user


def _not_self(actor: Principal, user: StaffUser) -> None:
    if actor.id == user.id:
        raise Conflict(
            "staff_self", "不能对自己的账号执行此操作", "You cannot do this to your own account"
        )


async def set_active(
    session: AsyncSession, actor: Principal, staff_id: uuid.UUID, *, active: bool, reason: str
) -> StaffUser:
    user = await managed_staff(session, actor, staff_id)
    _not_self(actor, user)
    reason = reason.strip()
    if not active and not 2 <= len(reason) <= 255:
        raise ValidationError.field(
            "reason", "请填写停用原因（2–255 个字符）", "give a reason (2–255 characters)"
        )
    if user.active == active:
        raise Conflict(
            "staff_unchanged",
            "账号已是启用状态" if active else "账号已停用",
            "the account is already " + ("enabled" if active else "disabled"),
        )
    user.active = active
    record(
        session,
        actor,
        "staff.enable" if active else "staff.disable",
        target_type="staff",
        target_id=user.id,
        org_path=_top_path(user),
        summary={"username": user.username, "reason": reason or None},
    )
    return user


async def reset_password(
    session: AsyncSession, actor: Principal, staff_id: uuid.UUID, *, password: str
) -> StaffUser:
    user = await managed_staff(session, actor, staff_id)
    _not_self(actor, user)
    user.password_hash = hash_password(password)
    record(
        session,
        actor,
        "staff.password_reset",
        target_type="staff",
        target_id=user.id,
        org_path=_top_path(user),
        summary={"username": user.username},
    )
    return user


async def grant_role(
    session: AsyncSession, actor: Principal, staff_id: uuid.UUID, *, role: Role, org_id: uuid.UUID
) -> StaffUser:
    user = await managed_staff(session, actor, staff_id)
    if any(g.role == role and g.org_id == org_id for g in user.grants):
        raise Conflict(
            "grant_exists",
            "该账号已在此组织拥有该角色",
            "the account already holds this role on this org",
        )
    await _add_grant(session, actor, user, role, org_id)
    await session.flush()
    record(
        session,
        actor,
        "staff.grant",
        target_type="staff",
        target_id=user.id,
        org_path=_top_path(user),
        summary={"username": user.username, "role": role.value, "org_id": str(org_id)},
    )
    return user


async def revoke_role(
    session: AsyncSession, actor: Principal, staff_id: uuid.UUID, *, role: Role, org_id: uuid.UUID
) -> StaffUser:
    user = await managed_staff(session, actor, staff_id)
    grant = next((g for g in user.grants if g.role == role and g.org_id == org_id), None)
    if grant is None:
        raise NotFound("grant_not_found", "该账号没有这项授权", "The account has no such role")
    if not actor.is_system and not any(
        g.role in (Role.federation_admin, role) and grant.org_path.startswith(g.org_path)
        for g in actor.grants
    ):
        raise ValidationError.field(
            "grants", "无权收回该角色", "you may not revoke this role on this org"
        )
    if len(user.grants) == 1:
        raise Conflict(
            "last_grant",
            "这是该账号唯一的角色；如不再使用，请停用账号",
            "this is the account's only role; disable the account instead",
        )
    _not_self(actor, user)
    user.grants.remove(grant)
    await session.flush()
    record(
        session,
        actor,
        "staff.revoke",
        target_type="staff",
        target_id=user.id,
        org_path=grant.org_path,
        summary={"username": user.username, "role": role.value, "org_id": str(org_id)},
    )
    return user
