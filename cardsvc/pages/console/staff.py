"""Staff accounts in the officer's scope: list, create, disable and enable, reset a password,
grant and revoke roles; the same domain functions as ``/api/v1/staff/users`` (scope, audit)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import AppError, Conflict, ValidationError
from cardsvc.kernel.permissions import ROLE_LABELS_ZH, Perm, Role
from cardsvc.kernel.principal import Principal
from cardsvc.orgs.service import orgs_by_id, orgs_in_scope
from cardsvc.pages.console.common import (
    ROLE_LABELS_EN,
    ConsoleController,
    field_errors,
    message_of,
    page,
    require,
)
from cardsvc.staff.accounts import (
    grant_role,
    managed_staff,
    reset_password,
    revoke_role,
    set_active,
)
from cardsvc.staff.service import create_staff, get_staff, list_staff

NO_MANAGE = ("您的角色无权管理工作人员账号", "Your role may not manage staff accounts")
ROLES = {r.value: (ROLE_LABELS_ZH[r], ROLE_LABELS_EN[r.value]) for r in Role}


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {k: str(form.get(k, "")).strip() for k in form}


def _role(value: str) -> Role:
    if value not in ROLES:
        raise ValidationError.field("role", "请选择角色", "choose a role")
    return Role(value)


def _org(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationError.field("org_id", "请选择组织", "choose an org") from None


def _problem(request: Request[Any, Any, Any], exc: AppError) -> Template:
    """A refused action as a message in the page's #flash, with each reason in words (no
    field names)."""
    return Template(
        "console/_staff_problem.html",
        context={"message": message_of(exc, request), "reasons": field_errors(exc, request)},
        status_code=exc.status,
        headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
    )


class StaffPages(ConsoleController):
    path = "/console/staff"

    async def _orgs(self, db: AsyncSession, staff: Principal) -> list[Any]:
        return await orgs_in_scope(db, staff, Perm.staff_manage, limit=500)

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
    ) -> Template:
        require(staff, Perm.staff_manage, *NO_MANAGE)
        users = await list_staff(db_session, staff)
        orgs = await orgs_by_id(db_session, {g.org_id for u in users for g in u.grants})
        return await page(
            request,
            state,
            staff,
            "console/staff.html",
            "staff",
            users=users,
            orgs=orgs,
            role_labels=ROLES,
            owners=await self._orgs(db_session, staff),
            values={},
            errors={},
        )

    @post("/", status_code=200)
    async def create(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        db_session: AsyncSession,
    ) -> Response[Any]:
        require(staff, Perm.staff_manage, *NO_MANAGE)
        values = await _form(request)
        try:
            user = await create_staff(
                db_session,
                staff,
                username=values.get("username", ""),
                display_name=values.get("display_name", ""),
                password=values.get("password", ""),
                grants=[(_role(values.get("role", "")), _org(values.get("org_id", "")))],
            )
        except (ValidationError, Conflict) as exc:
            values.pop("password", None)
            return Template(
                "console/_staff_form.html",
                context={
                    "values": values,
                    "errors": field_errors(exc, request) or {"grants": message_of(exc, request)},
                    "role_labels": ROLES,
                    "owners": await self._orgs(db_session, staff),
                },
                status_code=422,
            )
        return Response("", headers={"HX-Redirect": f"/console/staff/{user.id}"})

    @get("/{staff_id:uuid}")
    async def detail(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        staff_id: uuid.UUID,
    ) -> Template:
        require(staff, Perm.staff_manage, *NO_MANAGE)
        user = await get_staff(db_session, staff, staff_id)
        orgs = await orgs_by_id(db_session, {g.org_id for g in user.grants})
        manageable = all(staff.can(Perm.staff_manage, g.org_path) for g in user.grants)
        return await page(
            request,
            state,
            staff,
            "console/staff_user.html",
            "staff",
            user=user,
            orgs=orgs,
            role_labels=ROLES,
            owners=await self._orgs(db_session, staff),
            can_manage=manageable and user.id != staff.id,
        )

    @post("/{staff_id:uuid}/{action:str}", status_code=200)
    async def act(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        db_session: AsyncSession,
        staff_id: uuid.UUID,
        action: str,
    ) -> Response[Any]:
        await managed_staff(db_session, staff, staff_id)  # 404 before any form error
        values = await _form(request)
        try:
            if action == "disable":
                await set_active(
                    db_session, staff, staff_id, active=False, reason=values.get("reason", "")
                )
            elif action == "enable":
                await set_active(db_session, staff, staff_id, active=True, reason="")
            elif action == "password":
                await reset_password(
                    db_session, staff, staff_id, password=values.get("password", "")
                )
            elif action in ("grant", "revoke"):
                do = grant_role if action == "grant" else revoke_role
                await do(
                    db_session,
                    staff,
                    staff_id,
                    role=_role(values.get("role", "")),
                    org_id=_org(values.get("org_id", "")),
                )
            else:
                raise ValidationError.field("action", "未知操作", "unknown action")
        except (ValidationError, Conflict) as exc:
            return _problem(request, exc)
        done = "?done=password" if action == "password" else ""
        return Response("", headers={"HX-Redirect": f"/console/staff/{staff_id}{done}"})
