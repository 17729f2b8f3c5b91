"""Console sign-in and sign-out: the same accounts, throttle and session store as the API."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import record
from cardsvc.kernel.errors import AppError
from cardsvc.kernel.web import client_ip, same_site_form
from cardsvc.pages.console.common import ConsoleController, message_of
from cardsvc.staff.auth import SESSION_COOKIE
from cardsvc.staff.service import authenticate, close_session, open_session, principal_of
from cardsvc.staff.throttle import limits_from, throttle_sign_in


def local_next(target: str | None) -> str:
    """Only console paths: ``next`` must never send a signed-in officer to another site."""
    if not target or not target.startswith("/console") or "//" in target or "\\" in target:
        return "/console"
    return target


class SignInPages(ConsoleController):
    path = "/console"

    @get("/login")
    async def login_form(self, request: Request[Any, Any, Any]) -> Template:
        return Template(
            "console/login.html",
            context={"next": local_next(request.query_params.get("next")), "username": ""},
        )

    @post("/login", status_code=200, guards=[same_site_form])
    async def login(
        self, request: Request[Any, Any, Any], state: State, db_session: AsyncSession
    ) -> Response[Any]:
        form = await request.form()
        username = str(form.get("username", "")).strip()
        password = str(form.get("password", ""))
        target = local_next(str(form.get("next", "")))
        settings = state.settings
        try:
            if not username or not password:
                raise AppError(
                    "invalid_credentials", "请输入用户名和密码", "Enter username and password"
                )
            await throttle_sign_in(
                state.limiter, limits_from(settings), username=username, ip=client_ip(request)
            )
            user = await authenticate(db_session, username=username, password=password)
        except AppError as exc:
            return Template(
                "console/_login_form.html",
                context={"next": target, "username": username, "error": message_of(exc, request)},
                status_code=exc.status,
                headers={k: v for k, v in exc.headers.items() if k.lower() == "retry-after"},
            )
        store = state.stores.get("sessions")
        if old := request.cookies.get(SESSION_COOKIE):
            await close_session(store, old)
        sess = await open_session(store, user.id, settings.session_max_age)
        record(
            db_session,
            principal_of(user, ip=client_ip(request)),
            "staff.login",
            target_type="staff",
            target_id=user.id,
            org_path=min((g.org_path for g in user.grants), key=len, default=None),
        )
        return Response(
            "",
            headers={"HX-Redirect": target},
            cookies=[
                Cookie(
                    key=SESSION_COOKIE,
                    value=sess.token,
                    httponly=True,
                    samesite="lax",
                    secure=settings.secure_cookies,
                    max_age=settings.session_max_age,
                    path="/",
                )
            ],
        )

    @post("/logout", status_code=200)
    async def logout(self, request: Request[Any, Any, Any], state: State) -> Response[str]:
        if token := request.cookies.get(SESSION_COOKIE):
            await close_session(state.stores.get("sessions"), token)
        return Response(
            "",
            headers={"HX-Redirect": "/console/login"},
            cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")],
        )
