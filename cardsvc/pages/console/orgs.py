"""The union tree: every org in the officer's subtrees, with its members and unions."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.members.service import active_member_counts
from cardsvc.orgs.models import Org
from cardsvc.orgs.service import OrgQuery, ancestors, child_orgs, get_org, list_orgs
from cardsvc.pages.console.common import ConsoleController, page

LEVEL_LABELS = {
    "national": ("全国", "National"),
    "provincial": ("省级", "Provincial"),
    "city": ("市级", "City"),
    "district": ("区县 / 产业", "District"),
    "grassroots": ("基层工会", "Grassroots"),
}
MAX_ORGS = 2000


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
            members_link=staff.can(Perm.member_read, org.path),
        )
