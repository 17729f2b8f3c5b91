"""Staff sign-in, sign-out, the current staff member, and staff account management."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie, State
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import record
from cardsvc.kernel.openapi import RATE_LIMITED
from cardsvc.kernel.permissions import ROLE_LABELS_ZH, Perm, Role
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.web import client_ip, cookie_secure, json_body_only
from cardsvc.staff.auth import SESSION_COOKIE
from cardsvc.staff.models import StaffUser
from cardsvc.staff.service import (
    authenticate,
    close_session,
    create_staff,
    list_staff,
    load_session,
    open_session,
    principal_of,
)
from cardsvc.staff.throttle import limits_from, throttle_sign_in


class LoginIn(msgspec.Struct):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class GrantOut(msgspec.Struct):
    role: Role
    role_label: str
    org_id: uuid.UUID


class StaffOut(msgspec.Struct):
    id: uuid.UUID
    username: str
    display_name: str
    active: bool
    grants: list[GrantOut]
    last_login_at: datetime | None = None


class MeOut(StaffOut, kw_only=True):
    csrf_token: str
    permissions: list[str]


class GrantIn(msgspec.Struct):
    role: Role
    org_id: uuid.UUID


class StaffIn(msgspec.Struct):
    username: Annotated[str, msgspec.Meta(min_length=3, max_length=64)]
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    grants: list[GrantIn]


def staff_out(user: StaffUser) -> StaffOut:
    return StaffOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        active=user.active,
        grants=[GrantOut(g.role, ROLE_LABELS_ZH[g.role], g.org_id) for g in user.grants],
        last_login_at=user.last_login_at,
    )


def _me(user: StaffUser, csrf: str) -> MeOut:
    base = staff_out(user)
    principal = principal_of(user)
    return MeOut(
        **{f: getattr(base, f) for f in base.__struct_fields__},
        csrf_token=csrf,
        permissions=sorted(p.value for p in Perm if principal.can(p)),
    )


class SessionController(Controller):
    path = "/api/v1/staff/session"
    tags = ["staff: sign-in"]

    @post(
        "/",
        summary="Sign in (sets the session cookie, returns the CSRF token)",
        status_code=200,
        guards=[json_body_only],
        responses=RATE_LIMITED,
    )
    async def login(
        self, request: Request[Any, Any, Any], state: State, db_session: AsyncSession, data: LoginIn
    ) -> Response[MeOut]:
        settings = state.settings
        await throttle_sign_in(
            state.limiter, limits_from(settings), username=data.username, ip=client_ip(request)
        )
        user = await authenticate(db_session, username=data.username, password=data.password)
        store = state.stores.get("sessions")
        old = request.cookies.get(SESSION_COOKIE)
        if old:
            await close_session(store, old)
        sess = await open_session(store, user.id, settings.session_max_age)
        actor = principal_of(user, ip=client_ip(request))
        record(
            db_session,
            actor,
            "staff.login",
            target_type="staff",
            target_id=user.id,
            org_path=min((g.org_path for g in user.grants), key=len, default=None),
        )
        return Response(
            _me(user, sess.csrf),
            cookies=[
                Cookie(
                    key=SESSION_COOKIE,
                    value=sess.token,
                    httponly=True,
                    samesite="lax",
                    secure=cookie_secure(request),
                    max_age=settings.session_max_age,
                    path="/",
                )
            ],
        )

    @delete(
        "/",
        summary="Sign out (the session is destroyed server-side)",
        status_code=204,
        # A static cookie on a None return: the 204 is documented without a body.
        response_cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/", httponly=True)],
    )
    async def logout(self, request: Request[Any, Any, Any], state: State) -> None:
        if token := request.cookies.get(SESSION_COOKIE):
            await close_session(state.stores.get("sessions"), token)


class StaffController(Controller):
    path = "/api/v1/staff"
    tags = ["staff: accounts"]

    @get("/me", summary="The signed-in staff member, roles and CSRF token")
    async def me(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
    ) -> MeOut:
        user = await db_session.get(StaffUser, staff.id)
        sess = await load_session(
            state.stores.get("sessions"), request.cookies.get(SESSION_COOKIE, "")
        )
        assert user is not None and sess is not None
        return _me(user, sess.csrf)

    @get("/users", summary="Staff accounts in my subtrees")
    async def list_users(self, staff: Principal, db_session: AsyncSession) -> list[StaffOut]:
        return [staff_out(u) for u in await list_staff(db_session, staff)]

    @post("/users", summary="Create a staff account with roles on orgs in my subtree")
    async def create_user(
        self, staff: Principal, db_session: AsyncSession, data: StaffIn
    ) -> StaffOut:
        user = await create_staff(
            db_session,
            staff,
            username=data.username,
            display_name=data.display_name,
            password=data.password,
            grants=[(g.role, g.org_id) for g in data.grants],
        )
        return staff_out(user)
