"""Member sign-in with phone + one-time code (the same functions as ``/api/v1/me/session``),
after accepting the user agreement and privacy notice, whose versions are recorded."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import AppError
from cardsvc.kernel.web import same_site_form
from cardsvc.memberauth import signin
from cardsvc.memberauth.consent import record_consent
from cardsvc.memberauth.otp import OtpRateLimited
from cardsvc.memberauth.sessions import (
    MEMBER_COOKIE,
    load_member_session,
)
from cardsvc.pages.errors import page_exception_handlers
from cardsvc.pages.i18n import lang_of, pick
from cardsvc.pages.member.common import AREA, field_errors, go, local_path
from cardsvc.pages.member.terms import SIGN_IN_DOCUMENTS


def _form(
    next_url: str,
    phone: str = "",
    errors: dict[str, str] | None = None,
    *,
    sent: bool = False,
    accepted: bool = False,
    wait: int = 0,
    sent_at: int = 0,
    status_code: int = 200,
) -> Template:
    """The sign-in form. ``sent``: a code was sent to this phone from this form (only then is
    there anything to "send again"); ``wait``: seconds before another code may be asked for."""
    return Template(
        "m/_login_form.html",
        context={
            "next": next_url,
            "phone": phone,
            "errors": errors or {},
            "sent": sent,
            "accepted": accepted,
            "wait": wait,
            "sent_at": sent_at,
            "documents": SIGN_IN_DOCUMENTS,
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
            context={
                "next": next_url,
                "errors": {},
                "phone": "",
                "csrf_token": "",
                "sent": False,
                "accepted": False,
                "wait": 0,
                "documents": SIGN_IN_DOCUMENTS,
            },
        )

    @post("/login/code", status_code=200, media_type=MediaType.HTML, guards=[same_site_form])
    async def send_code(self, request: Request[Any, Any, Any], state: State) -> Template:
        form = await request.form()
        raw = str(form.get("phone", "")).strip()
        next_url = local_path(str(form.get("next", "")))
        was_sent = form.get("sent") == "1"
        accepted = form.get("accept") == "yes"
        try:
            policy = await signin.send_code(request, state, raw)
        except AppError as exc:
            errors = field_errors(request, exc)
            if "phone" not in errors:  # rate limits: shown by the phone field all the same
                errors = {"phone": next(iter(errors.values()))}
            wait = _retry_after(exc) if isinstance(exc, OtpRateLimited) else 0
            return _form(
                next_url,
                raw,
                errors,
                sent=was_sent,
                accepted=accepted,
                wait=wait,
                sent_at=_int(str(form.get("sent_at", ""))),
                status_code=exc.status,
            )
        now = int(utc_now().timestamp())
        return _form(
            next_url, raw, sent=True, accepted=accepted, wait=policy.resend_after, sent_at=now
        )

    @post("/login", status_code=200, media_type=MediaType.HTML, guards=[same_site_form])
    async def sign_in(
        self, request: Request[Any, Any, Any], state: State, db_session: AsyncSession
    ) -> Response[Any]:
        form = await request.form()
        raw = str(form.get("phone", "")).strip()
        code = str(form.get("code", "")).strip()
        next_url = local_path(str(form.get("next", "")))
        sent = form.get("sent") == "1"
        accepted = form.get("accept") == "yes"
        lang = lang_of(request)
        # The countdown goes on where it was when the form comes back with an error.
        sent_at = _int(str(form.get("sent_at", "")))
        since = int(utc_now().timestamp()) - sent_at
        wait = max(0, min(state.otp_policy.resend_after - since, state.otp_policy.resend_after))
        wait = wait if sent else 0
        if not accepted:
            errors = {
                "accept": pick(
                    lang,
                    "请阅读并同意用户协议和隐私政策",
                    "Please read and accept the user agreement and privacy notice",
                )
            }
            return _form(
                next_url, raw, errors, sent=sent, wait=wait, sent_at=sent_at, status_code=422
            )
        if not sent and not code:
            errors = {"code": pick(lang, "请先获取验证码", "Ask for a code first")}
            return _form(next_url, raw, errors, accepted=True, status_code=422)
        try:
            done = await signin.sign_in(request, state, raw, code)
        except AppError as exc:
            errors = field_errors(request, exc)
            if "phone" not in errors:  # a wrong or expired code
                errors = {"code": next(iter(errors.values()))}
            return _form(
                next_url,
                raw,
                errors,
                sent=sent,
                accepted=True,
                wait=wait,
                sent_at=sent_at,
                status_code=exc.status,
            )
        await record_consent(
            db_session, done.phone_hash, {d.key: d.version for d in SIGN_IN_DOCUMENTS}
        )
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


def _retry_after(exc: AppError) -> int:
    return max(0, _int((exc.headers or {}).get("Retry-After", "0")))


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        return 0
