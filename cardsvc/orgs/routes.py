"""Staff API for the union tree."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, get, patch, post
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.pagination import Limit, Offset
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.regions import full_name
from cardsvc.orgs.models import Org, OrgLevel, OrgStatus
from cardsvc.orgs.service import (
    LEVEL_LABELS_ZH,
    OrgQuery,
    ancestors,
    close_org,
    create_org,
    get_org,
    list_orgs,
    move_org,
    rename_org,
)


class OrgOut(msgspec.Struct):
    id: uuid.UUID
    code: str
    name: str
    level: OrgLevel
    level_label: str
    parent_id: uuid.UUID | None
    depth: int
    status: OrgStatus
    region_code: str | None  # GB/T 2260, e.g. "420502"
    region_name: str | None  # its full name, e.g. "湖北省宜昌市西陵区"


class OrgDetail(OrgOut, kw_only=True):
    ancestors: list[OrgOut]


class OrgPage(msgspec.Struct):
    items: list[OrgOut]
    total: int
    limit: int
    offset: int


class OrgIn(msgspec.Struct):
    code: Annotated[str, msgspec.Meta(min_length=2, max_length=32, examples=["YC-XL-001"])]
    name: Annotated[
        str, msgspec.Meta(min_length=2, max_length=128, examples=["西陵区快递行业工会"])
    ]
    level: OrgLevel
    parent_id: uuid.UUID
    # A 6-digit code, or a name that maps to exactly one code.
    region_code: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class OrgPatch(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=2, max_length=128)] | None = None
    region_code: Annotated[str, msgspec.Meta(max_length=64)] | None = None  # "" clears it
    parent_id: uuid.UUID | None = None


class CloseIn(msgspec.Struct):
    reason: Annotated[str, msgspec.Meta(min_length=2, max_length=255)]


def org_out(org: Org) -> OrgOut:
    return OrgOut(
        id=org.id,
        code=org.code,
        name=org.name,
        level=org.level,
        level_label=LEVEL_LABELS_ZH[org.level],
        parent_id=org.parent_id,
        depth=org.path.count("/"),
        status=org.status,
        region_code=org.region_code,
        region_name=full_name(org.region_code),
    )


class OrgController(Controller):
    path = "/api/v1/orgs"
    tags = ["staff: union tree"]

    @get("/", summary="List or search orgs in my subtrees (paginated)")
    async def index(
        self,
        staff: Principal,
        db_session: AsyncSession,
        q: str | None = None,
        level: OrgLevel | None = None,
        parent_id: uuid.UUID | None = None,
        under: uuid.UUID | None = None,
        status: OrgStatus | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> OrgPage:
        rows, total = await list_orgs(
            db_session,
            staff,
            OrgQuery(q, level, parent_id, under, status, limit, offset),
        )
        return OrgPage([org_out(o) for o in rows], total, limit, offset)

    @get("/{org_id:uuid}", summary="One org with its ancestors")
    async def detail(
        self, staff: Principal, db_session: AsyncSession, org_id: uuid.UUID
    ) -> OrgDetail:
        org = await get_org(db_session, staff, org_id)
        base = org_out(org)
        return OrgDetail(
            **{f: getattr(base, f) for f in base.__struct_fields__},
            ancestors=[org_out(a) for a in await ancestors(db_session, org)],
        )

    @post("/", summary="Create an org under a parent in my subtree")
    async def create(self, staff: Principal, db_session: AsyncSession, data: OrgIn) -> OrgOut:
        org = await create_org(
            db_session,
            staff,
            code=data.code,
            name=data.name,
            level=data.level,
            parent_id=data.parent_id,
            region_code=data.region_code,
        )
        return org_out(org)

    @patch("/{org_id:uuid}", summary="Rename, change region, or move under another parent")
    async def update(
        self, staff: Principal, db_session: AsyncSession, org_id: uuid.UUID, data: OrgPatch
    ) -> OrgOut:
        org = None
        if data.name is not None or data.region_code is not None:
            org = await rename_org(
                db_session, staff, org_id, name=data.name, region_code=data.region_code
            )
        if data.parent_id is not None:
            org = await move_org(db_session, staff, org_id, new_parent_id=data.parent_id)
        if org is None:
            org = await get_org(db_session, staff, org_id)
        return org_out(org)

    @post(
        "/{org_id:uuid}/close",
        summary="Close an org (no open children, no members left)",
        status_code=200,
    )
    async def close(
        self, staff: Principal, db_session: AsyncSession, org_id: uuid.UUID, data: CloseIn
    ) -> OrgOut:
        return org_out(await close_org(db_session, staff, org_id, reason=data.reason))
