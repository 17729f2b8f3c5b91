"""Staff authentication for requests: session cookie → Principal, with CSRF for mutations."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import AppError, Unauthorized
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.web import client_ip
from cardsvc.staff.models import StaffUser
from cardsvc.staff.service import load_session, principal_of

SESSION_COOKIE = "uc_staff"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfFailed(AppError):
    status = 403
    code = "csrf_failed"
    message_zh = "请求缺少有效的 CSRF 令牌，请刷新页面后重试"
    message_en = "Missing or invalid CSRF token; reload the page and retry"


async def provide_staff(
    request: Request[Any, Any, Any], state: State, db_session: AsyncSession
) -> Principal:
    """Litestar dependency ``staff``: the signed-in staff member, or 401."""
    token = request.cookies.get(SESSION_COOKIE, "")
    sess = await load_session(state.stores.get("sessions"), token)
    if sess is None:
        raise Unauthorized("unauthorized", "请先登录", "Please sign in")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent, sess.csrf):
            raise CsrfFailed()
    user = await db_session.get(StaffUser, sess.staff_id)
    if user is None or not user.active:
        raise Unauthorized("unauthorized", "请先登录", "Please sign in")
    return principal_of(
        user, ip=client_ip(request), request_id=request.scope.get("state", {}).get("request_id")
    )
