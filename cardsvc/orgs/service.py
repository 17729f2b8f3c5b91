"""The union tree: create, rename, move, close, list — with the tree's rules enforced."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from cardsvc.kernel.audit import record
from cardsvc.kernel.errors import Conflict, FieldError, NotFound, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.regions import parse_optional_region
from cardsvc.orgs.models import LEVEL_RANK, Org, OrgLevel, OrgStatus

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")
LEVEL_LABELS_ZH = {
    OrgLevel.national: "全国总工会",
    OrgLevel.provincial: "省级总工会",
    OrgLevel.city: "市级总工会",
    OrgLevel.district: "区县/产业工会",
    OrgLevel.grassroots: "基层工会",
}


# What must hold before an org closes besides having no open child orgs (members: no live
# members). The composition root registers the checks, so that orgs imports no package above it.
CloseCheck = Callable[[AsyncSession, Org], Awaitable[None]]
_close_checks: list[CloseCheck] = []


def register_close_check(check: CloseCheck) -> None:
    if check not in _close_checks:
        _close_checks.append(check)


def _following_columns() -> list[Column[Any]]:
    """Every column of every table that copies an org path and follows the org's moves
    (``info=FOLLOWS_ORG``): members, grants, applications, programmes, merchants, requests…"""
    return [
        col
        for table in Org.metadata.sorted_tables
        for col in table.columns
        if col.info.get("follows_org")
    ]


def child_path(parent: Org | None, org_id: uuid.UUID) -> str:
    return (parent.path if parent else "") + org_id.hex + "/"


def _validate_name(name: str) -> str:
    name = name.strip()
    if not 2 <= len(name) <= 128:
        raise ValidationError.field(
            "name", "名称长度应为 2–128 个字符", "name must be 2–128 characters"
        )
    return name


def _validate_code(code: str) -> str:
    code = code.strip().upper()
    if not CODE_RE.match(code):
        raise ValidationError.field(
            "code",
            "编码只能由大写字母、数字和连字符组成，2–32 位",
            "code must be 2–32 upper-case letters, digits or hyphens",
        )
    return code


def _check_parent(parent: Org | None, level: OrgLevel) -> None:
    if parent is None:
        if level not in (OrgLevel.national, OrgLevel.provincial):
            raise ValidationError.field(
                "parent_id",
                "只有全国或省级总工会可以没有上级",
                "only a national or provincial federation may be a root",
            )
        return
    if parent.status != OrgStatus.active:
        raise ValidationError.field("parent_id", "上级组织已撤销", "the parent org is closed")
    if parent.level == OrgLevel.grassroots:
        raise ValidationError.field(
            "parent_id", "基层工会不能有下级组织", "a grassroots union cannot have child orgs"
        )
    if LEVEL_RANK[level] <= LEVEL_RANK[parent.level]:
        raise ValidationError.field(
            "level",
            f"下级组织的层级必须低于上级（{LEVEL_LABELS_ZH[parent.level]}）",
            f"a child org must be below its parent's level ({parent.level})",
        )


async def get_org(
    session: AsyncSession, viewer: Principal, org_id: uuid.UUID, perm: Perm = Perm.org_read
) -> Org:
    """The org, if the viewer holds ``perm`` on it; otherwise 404 (no leak that it exists)."""
    org = await session.get(Org, org_id)
    if org is None or not viewer.can(perm, org.path):
        raise NotFound("org_not_found", "未找到该组织", "Org not found")
    return org


async def find_org(session: AsyncSession, org_id: uuid.UUID) -> Org | None:
    """The org by id, unchecked: for a caller that already holds the right to see it (a
    member's own union, the owner of a record the viewer may read)."""
    return await session.get(Org, org_id)


async def orgs_by_id(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, Org]:
    """Orgs by id, unchecked: the unions of rows the viewer was already allowed to list."""
    if not ids:
        return {}
    return {o.id: o for o in await session.scalars(select(Org).where(Org.id.in_(ids)))}


async def orgs_in_scope(
    session: AsyncSession,
    viewer: Principal,
    perm: Perm,
    *,
    under: str | None = None,
    limit: int | None = None,
) -> list[Org]:
    """The orgs on which the viewer holds ``perm`` (optionally only those in the subtree at
    path ``under``), by path: the choices of an owner, target or filter drop-down."""
    stmt = select(Org).where(viewer.scope_filter(Org.path, perm))
    if under is not None:
        stmt = stmt.where(Org.path.startswith(under, autoescape=True))
    stmt = stmt.order_by(Org.path)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(await session.scalars(stmt))


async def child_orgs(session: AsyncSession, org: Org) -> list[Org]:
    """The org's direct children (open or closed), by name."""
    return list(
        await session.scalars(select(Org).where(Org.parent_id == org.id).order_by(Org.name))
    )


async def create_org(
    session: AsyncSession,
    actor: Principal,
    *,
    code: str,
    name: str,
    level: OrgLevel,
    parent_id: uuid.UUID | None,
    region_code: str | None = None,
) -> Org:
    code, name = _validate_code(code), _validate_name(name)
    parent = await get_org(session, actor, parent_id, Perm.org_write) if parent_id else None
    if parent is None and not actor.is_system:
        # Roots (the top federation) are created by operators with the CLI, not over the API.
        raise ValidationError.field("parent_id", "请指定上级组织", "parent_id is required")
    _check_parent(parent, level)
    if await session.scalar(select(Org.id).where(Org.code == code)):
        raise Conflict(
            "org_code_taken",
            f"组织编码 {code} 已被使用",
            f"org code {code} is already used",
            errors=[FieldError("code", "已被使用", "already used")],
        )
    org_id = uuid7()
    org = Org(
        id=org_id,
        code=code,
        name=name,
        level=level,
        parent_id=parent.id if parent else None,
        region_code=parse_optional_region("region_code", region_code),
        path=child_path(parent, org_id),
    )
    session.add(org)
    await session.flush()
    record(
        session,
        actor,
        "org.create",
        target_type="org",
        target_id=org.id,
        org_path=org.path,
        summary={"code": code, "name": name, "level": level.value},
    )
    return org


async def rename_org(
    session: AsyncSession,
    actor: Principal,
    org_id: uuid.UUID,
    *,
    name: str | None,
    region_code: str | None = None,
) -> Org:
    """Rename and/or set the region (a code or an unambiguous name; blank clears it)."""
    org = await get_org(session, actor, org_id, Perm.org_write)
    before = {"name": org.name, "region_code": org.region_code}
    if name is not None:
        org.name = _validate_name(name)
    if region_code is not None:
        org.region_code = parse_optional_region("region_code", region_code)
    record(
        session,
        actor,
        "org.update",
        target_type="org",
        target_id=org.id,
        org_path=org.path,
        summary={
            "before": before,
            "after": {"name": org.name, "region_code": org.region_code},
        },
    )
    return org


async def move_org(
    session: AsyncSession, actor: Principal, org_id: uuid.UUID, *, new_parent_id: uuid.UUID
) -> Org:
    org = await get_org(session, actor, org_id, Perm.org_write)
    parent = await get_org(session, actor, new_parent_id, Perm.org_write)
    if parent.path.startswith(org.path):
        raise ValidationError.field(
            "parent_id",
            "不能移动到自身或其下级组织之下",
            "cannot move an org under itself or its descendants",
        )
    _check_parent(parent, org.level)
    old_path, new_path = org.path, child_path(parent, org.id)
    if old_path == new_path:
        return org
    n = len(old_path)
    # Every denormalised org path under the moved subtree follows it (scoping reads them).
    for col in (Org.__table__.c.path, *_following_columns()):
        await session.execute(
            update(col.table)
            .where(col.startswith(old_path, autoescape=True))
            .values({col.name: new_path + func.substr(col, n + 1)})
        )
    old_parent = org.parent_id
    await session.execute(
        update(Org)
        .where(Org.id == org.id)
        .values(parent_id=parent.id)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(org)
    record(
        session,
        actor,
        "org.move",
        target_type="org",
        target_id=org.id,
        org_path=org.path,
        summary={"from_parent": str(old_parent), "to_parent": str(parent.id)},
    )
    return org


async def close_org(
    session: AsyncSession, actor: Principal, org_id: uuid.UUID, *, reason: str
) -> Org:
    org = await get_org(session, actor, org_id, Perm.org_write)
    if org.status == OrgStatus.closed:
        raise Conflict("org_closed", "该组织已撤销", "Org is already closed")
    open_children = await session.scalar(
        select(func.count())
        .select_from(Org)
        .where(Org.parent_id == org.id, Org.status == OrgStatus.active)
    )
    if open_children:
        raise Conflict(
            "org_has_children",
            f"该组织还有 {open_children} 个未撤销的下级组织",
            f"org still has {open_children} open child orgs",
        )
    for check in _close_checks:
        await check(session, org)
    org.status = OrgStatus.closed
    record(
        session,
        actor,
        "org.close",
        target_type="org",
        target_id=org.id,
        org_path=org.path,
        summary={"reason": reason},
    )
    return org


@dataclass(frozen=True, slots=True)
class OrgQuery:
    q: str | None = None
    level: OrgLevel | None = None
    parent_id: uuid.UUID | None = None
    under: uuid.UUID | None = None
    status: OrgStatus | None = None
    limit: int = 50
    offset: int = 0


async def list_orgs(
    session: AsyncSession, viewer: Principal, query: OrgQuery
) -> tuple[list[Org], int]:
    conds = [viewer.scope_filter(Org.path, Perm.org_read)]
    if query.q:
        like = query.q.strip()
        conds.append(or_(Org.name.contains(like, autoescape=True), Org.code == like.upper()))
    if query.level:
        conds.append(Org.level == query.level)
    if query.parent_id:
        conds.append(Org.parent_id == query.parent_id)
    if query.status:
        conds.append(Org.status == query.status)
    if query.under:
        root = await get_org(session, viewer, query.under)
        conds.append(Org.path.startswith(root.path, autoescape=True))
    total = (
        await session.execute(select(func.count()).select_from(Org).where(*conds))
    ).scalar_one()
    rows = await session.scalars(
        select(Org).where(*conds).order_by(Org.path).limit(query.limit).offset(query.offset)
    )
    return list(rows), total


async def ancestors(session: AsyncSession, org: Org) -> list[Org]:
    ids = [uuid.UUID(h) for h in org.path.strip("/").split("/")[:-1]]
    if not ids:
        return []
    rows = {o.id: o for o in await session.scalars(select(Org).where(Org.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows]
