"""A new installation's first step: the root federation and its first administrator.

Run by the operator (``unioncard setup``) on an empty database, and safe to run again: the
same request finds its work done and changes nothing; another one, once a root exists, is
refused rather than growing a second tree or a second administrator unasked.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import Conflict
from cardsvc.kernel.permissions import Role
from cardsvc.kernel.principal import SYSTEM
from cardsvc.orgs.models import Org, OrgLevel
from cardsvc.orgs.service import create_org
from cardsvc.staff.models import RoleGrant, StaffUser
from cardsvc.staff.service import create_staff


@dataclass(frozen=True, slots=True)
class SetupRequest:
    org_code: str
    org_name: str
    level: OrgLevel
    admin: str
    admin_name: str = ""

    def normalised(self) -> SetupRequest:
        """Compared and stored as ``create_org`` and ``create_staff`` store them."""
        return SetupRequest(
            org_code=self.org_code.strip().upper(),
            org_name=self.org_name.strip(),
            level=self.level,
            admin=self.admin.strip().lower(),
            admin_name=self.admin_name.strip(),
        )


async def is_set_up(session: AsyncSession, request: SetupRequest) -> bool:
    """True when this very setup was done (nothing left to do); False on a database without
    any org; ``Conflict`` (``setup_conflict``) when another root federation or another
    administrator is already there."""
    req = request.normalised()
    roots = list(await session.scalars(select(Org).where(Org.parent_id.is_(None))))
    if not roots:
        return False
    root = next((o for o in roots if o.code == req.org_code), None)
    if root is None or (root.name, root.level) != (req.org_name, req.level):
        existing = "、".join(f"{o.code}({o.name})" for o in roots)
        existing_en = ", ".join(f"{o.code} ({o.name})" for o in roots)
        raise Conflict(
            "setup_conflict",
            f"数据库已有根组织 {existing}，不能再按 {req.org_code}（{req.org_name}）初始化。",
            f"the database already has a root org: {existing_en}; it cannot be set up "
            f"again as {req.org_code} ({req.org_name}, {req.level.value})",
        )
    admin = await session.scalar(
        select(StaffUser.id)
        .join(RoleGrant, RoleGrant.staff_id == StaffUser.id)
        .where(
            StaffUser.username == req.admin,
            RoleGrant.org_id == root.id,
            RoleGrant.role == Role.federation_admin,
        )
    )
    if admin is None:
        raise Conflict(
            "setup_conflict",
            f"{root.code} 已初始化，但其管理员不是 {req.admin}；"
            "请用已有管理员登录后在控制台添加工作人员。",
            f"{root.code} is already set up with another administrator than {req.admin}; "
            "sign in as that one to add staff",
        )
    return True


async def set_up(session: AsyncSession, request: SetupRequest, password: str) -> bool:
    """Create the root org and its ``federation_admin`` (both audited, as the system); False
    when this setup was already done, in which case nothing is changed."""
    req = request.normalised()
    if await is_set_up(session, req):
        return False
    org = await create_org(
        session, SYSTEM, code=req.org_code, name=req.org_name, level=req.level, parent_id=None
    )
    await create_staff(
        session,
        SYSTEM,
        username=req.admin,
        display_name=req.admin_name or req.admin,
        password=password,
        grants=[(Role.federation_admin, org.id)],
    )
    return True
