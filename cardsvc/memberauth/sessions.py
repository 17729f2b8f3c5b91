"""Member sessions: a random cookie token → (phone hash, encrypted phone, CSRF token).

A session exists before membership does: a worker signs in with a phone to apply to join.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.stores.base import Store
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import NotFound, Unauthorized
from cardsvc.members.models import Member, MemberStatus
from cardsvc.staff.auth import SAFE_METHODS, CsrfFailed

MEMBER_COOKIE = "uc_member"
_PREFIX = "m:"
# Index of a phone's session tokens, so that an erasure can end them all.
_INDEX = "mi:"


@dataclass(frozen=True, slots=True)
class MemberSession:
    token: str
    phone_hash: str
    phone_enc: str
    csrf: str


async def open_member_session(
    store: Store, *, phone_hash: str, phone_enc: str, max_age: int
) -> MemberSession:
    s = MemberSession(secrets.token_urlsafe(32), phone_hash, phone_enc, secrets.token_urlsafe(24))
    payload = {"ph": phone_hash, "pe": phone_enc, "csrf": s.csrf}
    await store.set(_PREFIX + s.token, json.dumps(payload), expires_in=max_age)
    # Read-modify-write is fine here: one person signs in on a few devices, not concurrently.
    raw = await store.get(_INDEX + phone_hash)
    tokens = [t for t in (json.loads(raw) if raw else []) if await store.exists(_PREFIX + t)]
    await store.set(_INDEX + phone_hash, json.dumps([*tokens, s.token]), expires_in=max_age)
    return s


async def close_member_sessions(store: Store, phone_hash: str) -> int:
    """End every session opened with this phone (erasure); returns how many were live."""
    raw = await store.get(_INDEX + phone_hash)
    ended = 0
    for token in json.loads(raw) if raw else []:
        if await store.exists(_PREFIX + token):
            ended += 1
        await store.delete(_PREFIX + token)
    await store.delete(_INDEX + phone_hash)
    return ended


async def load_member_session(store: Store, token: str) -> MemberSession | None:
    if not token or len(token) > 128:
        return None
    raw = await store.get(_PREFIX + token)
    if raw is None:
        return None
    data = json.loads(raw)
    return MemberSession(token, data["ph"], data["pe"], data["csrf"])


async def close_member_session(store: Store, token: str) -> None:
    await store.delete(_PREFIX + token)


async def provide_member_session(request: Request[Any, Any, Any], state: State) -> MemberSession:
    """Dependency ``member_session``: the signed-in phone (member or applicant), or 401."""
    sess = await load_member_session(
        state.stores.get("sessions"), request.cookies.get(MEMBER_COOKIE, "")
    )
    if sess is None or not state.cipher.can_decrypt(sess.phone_enc):
        # A session made under a data key retired since then: sign in again.
        raise Unauthorized("unauthorized", "请先用手机号登录", "Please sign in with your phone")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        if not sent or not hmac.compare_digest(sent, sess.csrf):
            raise CsrfFailed()
    return sess


async def member_for_phone(db_session: AsyncSession, phone_hash: str) -> Member | None:
    """The membership held with this phone; a current one before one that has ended."""
    rows = (
        await db_session.scalars(
            select(Member).where(Member.phone_hash == phone_hash).order_by(Member.created_at.desc())
        )
    ).all()
    live = [m for m in rows if m.status != MemberStatus.left]
    return next(iter(live or rows), None)


async def provide_me(member_session: MemberSession, db_session: AsyncSession) -> Member:
    """Dependency ``me``: the signed-in member; 404 ``not_a_member`` for an applicant."""
    member = await member_for_phone(db_session, member_session.phone_hash)
    if member is None:
        raise NotFound("not_a_member", "您还不是会员，请先申请入会", "You are not a member yet")
    return member
