"""Shared by the member pages: who is signed in, field errors, htmx redirects."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import AppError
from cardsvc.memberauth.sessions import MemberSession, member_for_phone
from cardsvc.members.models import Member, MemberStatus
from cardsvc.pages.i18n import lang_of, pick

AREA = "/m"


def local_path(target: str | None, default: str = AREA + "/") -> str:
    """Only same-site paths: ``next`` must never send the user to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def go(request: Request[Any, Any, Any], url: str) -> Response[Any]:
    """After a successful form post: a full navigation (htmx follows ``HX-Redirect``)."""
    if is_htmx(request):
        return Response(content="", status_code=200, headers={"HX-Redirect": url})
    return Redirect(url, status_code=303)


def field_errors(request: Request[Any, Any, Any], exc: AppError) -> dict[str, str]:
    """``errors[].field`` → reason in the page's language; the whole message if none."""
    lang = lang_of(request)
    out = {e.field: pick(lang, e.reason_zh, e.reason_en) for e in exc.errors}
    return out or {"_": pick(lang, exc.message_zh, exc.message_en)}


def message(request: Request[Any, Any, Any], exc: AppError) -> str:
    return pick(lang_of(request), exc.message_zh, exc.message_en)


async def current_member(db_session: AsyncSession, member_session: MemberSession) -> Member | None:
    """The membership held with the signed-in phone (an ended one if no current one)."""
    return await member_for_phone(db_session, member_session.phone_hash)


def page_context(
    member_session: MemberSession, member: Member | None, tab: str, **extra: Any
) -> dict[str, Any]:
    """What every signed-in member page's layout needs: CSRF token, tabs, membership."""
    return {
        "csrf_token": member_session.csrf,
        "signed_in": True,
        "member": member,
        "is_member": member is not None and member.status != MemberStatus.left,
        "tab": tab,
        **extra,
    }
