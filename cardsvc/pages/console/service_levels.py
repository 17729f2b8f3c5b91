"""Service-level times of one org (how long it has to accept and to resolve each kind of
service request): the same reads and ``set_sla`` as ``/api/v1/orgs/{id}/service-levels``."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.orgs.service import get_org, orgs_by_id
from cardsvc.pages.console.common import ConsoleController, page
from cardsvc.pages.console.service_requests import KINDS
from cardsvc.servicereq.models import RequestKind
from cardsvc.servicereq.schemas import service_levels_out
from cardsvc.servicereq.sla import set_sla


def _hours(value: str, field: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValidationError.field(field, "请填写整数小时数", "give whole hours") from None


def _kind(kind: str) -> RequestKind:
    if kind not in KINDS:
        raise ValidationError.field("kind", "未知的申请类型", "unknown request kind")
    return RequestKind(kind)


class ServiceLevelPages(ConsoleController):
    path = "/console/orgs/{org_id:uuid}/service-levels"

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        org_id: uuid.UUID,
    ) -> Template:
        org = await get_org(db_session, staff, org_id, Perm.service_handle)
        levels = await service_levels_out(db_session, state.settings, org.path)
        owners = await orgs_by_id(db_session, {s.set_on_org_id for s in levels if s.set_on_org_id})
        return await page(
            request,
            state,
            staff,
            "console/service_levels.html",
            "orgs",
            org=org,
            levels=levels,
            owners=owners,
            kinds=KINDS,
            can_write=staff.can(Perm.service_settings, org.path),
        )

    @post("/{kind:str}", status_code=200)
    async def put_level(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        org_id: uuid.UUID,
        kind: str,
    ) -> Response[Any]:
        org = await get_org(db_session, staff, org_id, Perm.service_settings)
        form = await request.form()
        await set_sla(
            db_session,
            staff,
            org,
            _kind(kind),
            accept_hours=_hours(str(form.get("accept_hours", "")).strip(), "accept_hours"),
            resolve_hours=_hours(str(form.get("resolve_hours", "")).strip(), "resolve_hours"),
        )
        return Response("", headers={"HX-Redirect": f"/console/orgs/{org_id}/service-levels"})

    @post("/{kind:str}/clear", status_code=200)
    async def clear_level(
        self, staff: Principal, db_session: AsyncSession, org_id: uuid.UUID, kind: str
    ) -> Response[Any]:
        org = await get_org(db_session, staff, org_id, Perm.service_settings)
        await set_sla(db_session, staff, org, _kind(kind), accept_hours=None, resolve_hours=None)
        return Response("", headers={"HX-Redirect": f"/console/orgs/{org_id}/service-levels"})
