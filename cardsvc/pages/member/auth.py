"""Member sign-in with phone + one-time code (the same functions as ``/api/v1/me/session``)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Template

from cardsvc.kernel.errors import AppError
from cardsvc.kernel.web import same_site_form
from cardsvc.memberauth import signin
from cardsvc.memberauth.sessions import (
    MEMBER_COOKIE,
    load_member_session,
)
from cardsvc.pages.errors import page_exception_handlers
from cardsvc.pages.member.common import AREA, field_errors, go, local_path


def _form(
    next_url: str,
    phone: str = "",
    errors: dict[str, str] | None = None,
    sent: bool = False,
    resend_after: int = 0,
    status_code: int = 200,
) -> Template:
    return Template(
        "m/_login_form.html",
        context={
            "next": next_url,
            "phone": phone,
            "errors": errors or {},
            "sent": sent,
            "resend_after": resend_after,
        },
        status_code=status_code,
    )


class MemberSignInController(Controller):
    path = AREA
    include_in_schema = False
    exception_handlers = page_exception_handlers

    @get("/login", media_type=MediaType.HTML)
    async def login_page(self, request: Request[Any, Any, Any], state: State) -> Any:
        next_url = local_path(request.query_params.get("next"))
        sess = await load_member_session(
            state.stores.get("sessions"), request.cookies.get(MEMBER_COOKIE, "")
        )
        if sess is not None:  # already signed in: straight on
            return go(request, next_url)
        # csrf_token: none before signing in (the template would otherwise see Litestar's).
        return Template(
            "m/login.html",
            context={"next": next_url, "errors": {}, "phone": "", "csrf_token": ""},
        )

    @post("/login/code", status_code=200, media_type=MediaType.HTML, guards=[same_site_form])
    async def send_code(self, request: Request[Any, Any, Any], state: State) -> Template:
        form = await request.form()
        raw = str(form.get("phone", "")).strip()
        next_url = local_path(str(form.get("next", "")))
        try:
            await signin.send_code(request, state, raw)
        except AppError as exc:
            errors = field_errors(request, exc)
            if "phone" not in errors:  # rate limits: shown by the phone field all the same
                errors = {"phone": next(iter(errors.values()))}
            return _form(next_url, raw, errors, status_code=exc.status)
        return _form(next_url, raw, sent=True, resend_after=state.otp_policy.resend_after)

    @post("/login", status_code=200, media_type=MediaType.HTML, guards=[same_site_form])
    async def sign_in(self, request: Request[Any, Any, Any], state: State) -> Response[Any]:
        form = await request.form()
        raw = str(form.get("phone", "")).strip()
        code = str(form.get("code", "")).strip()
        next_url = local_path(str(form.get("next", "")))
        try:
            done = await signin.sign_in(request, state, raw, code)
        except AppError as exc:
            errors = field_errors(request, exc)
            if "phone" not in errors:  # a wrong or expired code
                errors = {"code": next(iter(errors.values()))}
            return _form(next_url, raw, errors, sent=True, status_code=exc.status)
        resp = go(request, next_url)
        resp.set_cookie(done.cookie)
        return resp

    @post("/logout", status_code=200, media_type=MediaType.HTML)
    async def sign_out(self, request: Request[Any, Any, Any], state: State) -> Response[Any]:
        # Signing out needs no CSRF check: the worst a forged request does is sign you out.
        await signin.sign_out(request, state)
        resp = go(request, AREA + "/login")
        resp.delete_cookie(MEMBER_COOKIE, path="/")
        return resp
