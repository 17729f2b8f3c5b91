"""The union tree: every org in the officer's subtrees, with its members and unions; and
editing it (a child org, name and region, closing) through the API's own domain functions."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import Conflict, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.members.service import active_member_counts
from cardsvc.orgs.models import LEVEL_RANK, Org, OrgLevel
from cardsvc.orgs.service import (
    OrgQuery,
    ancestors,
    child_orgs,
    close_org,
    create_org,
    get_org,
    list_orgs,
    rename_org,
)
from cardsvc.pages.console.common import ConsoleController, field_errors, page

LEVEL_LABELS = {
    "national": ("全国", "National"),
    "provincial": ("省级", "Provincial"),
    "city": ("市级", "City"),
    "district": ("区县 / 产业", "District"),
    "grassroots": ("基层工会", "Grassroots"),
}
ORG_STATUS = {"active": ("正常", "Open"), "closed": ("已撤销", "Closed")}
MAX_ORGS = 2000


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {k: str(form.get(k, "")).strip() for k in form}


def child_levels(org: Org) -> dict[str, tuple[str, str]]:
    """The levels a child of ``org`` may have (strictly below it)."""
    return {
        lv.value: LEVEL_LABELS[lv.value]
        for lv in OrgLevel
        if LEVEL_RANK[lv] > LEVEL_RANK[org.level]
    }


class OrgPages(ConsoleController):
    path = "/console/orgs"

    @get("/")
    async def tree(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
    ) -> Template:
        # The API's org list (GET /api/v1/orgs): the staff's org_read subtrees, by path.
        rows, _ = await list_orgs(db_session, staff, OrgQuery(limit=MAX_ORGS))
        ids = {o.id for o in rows}
        children: dict[uuid.UUID | None, list[Org]] = defaultdict(list)
        for o in rows:
            children[o.parent_id if o.parent_id in ids else None].append(o)
        for kids in children.values():
            kids.sort(key=lambda o: o.name)
        # Active members directly in each org, then summed up the tree.
        direct: Counter[uuid.UUID] = Counter()
        if staff.can(Perm.member_read):
            direct.update(await active_member_counts(db_session, staff))
        totals: dict[uuid.UUID, int] = {}

        def total(o: Org) -> int:
            totals[o.id] = direct[o.id] + sum(total(c) for c in children.get(o.id, []))
            return totals[o.id]

        for root in children[None]:
            total(root)
        return await page(
            request,
            state,
            staff,
            "console/orgs.html",
            "orgs",
            roots=children[None],
            children=children,
            totals=totals,
            levels=LEVEL_LABELS,
            statuses=ORG_STATUS,
            truncated=len(rows) >= MAX_ORGS,
            members_link=staff.can(Perm.member_read),
        )

    @get("/{org_id:uuid}")
    async def detail(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        org_id: uuid.UUID,
    ) -> Template:
        org = await get_org(db_session, staff, org_id)
        kids = await child_orgs(db_session, org)
        return await page(
            request,
            state,
            staff,
            "console/org.html",
            "orgs",
            org=org,
            chain=await ancestors(db_session, org),
            kids=kids,
            levels=LEVEL_LABELS,
            statuses=ORG_STATUS,
            child_levels=child_levels(org),
            members_link=staff.can(Perm.member_read, org.path),
            can_write=staff.can(Perm.org_write, org.path),
            can_sla=staff.can(Perm.service_handle, org.path),
            values={"name": org.name, "region_code": org.region_code or ""},
            child_values={},
            errors={},
            child_errors={},
        )

    @post("/{org_id:uuid}/edit", status_code=200)
    async def edit(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        db_session: AsyncSession,
        org_id: uuid.UUID,
    ) -> Response[Any]:
        values = await _form(request)
        try:
            await rename_org(
                db_session,
                staff,
                org_id,
                name=values.get("name", ""),
                region_code=values.get("region_code", ""),
            )
        except ValidationError as exc:
            org = await get_org(db_session, staff, org_id)
            return Template(
                "console/_org_edit.html",
                context={"org": org, "values": values, "errors": field_errors(exc, request)},
                status_code=422,
            )
        return Response("", headers={"HX-Redirect": f"/console/orgs/{org_id}"})

    @post("/{org_id:uuid}/children", status_code=200)
    async def add_child(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        db_session: AsyncSession,
        org_id: uuid.UUID,
    ) -> Response[Any]:
        values = await _form(request)
        parent = await get_org(db_session, staff, org_id, Perm.org_write)
        levels = child_levels(parent)
        try:
            if values.get("level") not in levels:
                raise ValidationError.field("level", "请选择层级", "choose a level")
            child = await create_org(
                db_session,
                staff,
                code=values.get("code", ""),
                name=values.get("name", ""),
                level=OrgLevel(values["level"]),
                parent_id=parent.id,
                region_code=values.get("region_code") or None,
            )
        except (ValidationError, Conflict) as exc:
            if isinstance(exc, Conflict) and not exc.errors:
                raise
            return Template(
                "console/_org_child.html",
                context={
                    "org": parent,
                    "child_levels": levels,
                    "child_values": values,
                    "child_errors": field_errors(exc, request),
                },
                status_code=422,
            )
        return Response("", headers={"HX-Redirect": f"/console/orgs/{child.id}"})

    @post("/{org_id:uuid}/close", status_code=200)
    async def close(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        db_session: AsyncSession,
        org_id: uuid.UUID,
    ) -> Response[Any]:
        await get_org(db_session, staff, org_id, Perm.org_write)  # 404 before any form error
        values = await _form(request)
        reason = values.get("reason", "")
        if not 2 <= len(reason) <= 255:
            raise ValidationError.field(
                "reason", "请填写撤销原因（2–255 个字符）", "give a reason (2–255 characters)"
            )
        await close_org(db_session, staff, org_id, reason=reason)
        return Response("", headers={"HX-Redirect": f"/console/orgs/{org_id}"})
