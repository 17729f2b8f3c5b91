"""Member sessions: a random cookie token → (phone hash, encrypted phone, CSRF token).

A session exists before membership does: a worker signs in with a phone to apply to join.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request
from litestar.datastructures import State
from litestar.stores.base import Store
from litestar.stores.redis import RedisStore
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


def _usable(token: str) -> bool:
    return bool(token) and len(token) <= 128


class _Record(msgspec.Struct):
    ph: str
    pe: str
    csrf: str


_read_record = msgspec.json.Decoder(_Record).decode  # read on every member request: msgspec's


def _from_record(token: str, raw: bytes | str | None) -> MemberSession | None:
    if raw is None:
        return None
    r = _read_record(raw)
    return MemberSession(token, r.ph, r.pe, r.csrf)


async def load_member_session(store: Store, token: str) -> MemberSession | None:
    if not _usable(token):
        return None
    return _from_record(token, await store.get(_PREFIX + token))


async def close_member_session(store: Store, token: str) -> None:
    await store.delete(_PREFIX + token)


async def provide_member_session(request: Request[Any, Any, Any], state: State) -> MemberSession:
    """Dependency ``member_session``: the signed-in phone (member or applicant), or 401."""
    return await member_session_of(request, state)


async def member_session_of(request: Request[Any, Any, Any], state: State) -> MemberSession:
    """The request's member session, or 401 (CSRF checked on unsafe methods): the dependency's
    work, for a provider that reads the session itself rather than depend on another."""
    sess = await load_member_session(
        state.stores.get("sessions"), request.cookies.get(MEMBER_COOKIE, "")
    )
    return _checked(request, state, sess)


def _checked(
    request: Request[Any, Any, Any], state: State, sess: MemberSession | None
) -> MemberSession:
    if sess is None or not state.cipher.can_decrypt(sess.phone_enc):
        # A session made under a data key retired since then: sign in again.
        raise Unauthorized("unauthorized", "请先用手机号登录", "Please sign in with your phone")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        if not sent or not hmac.compare_digest(sent, sess.csrf):
            raise CsrfFailed()
    return sess


class PendingMemberSession:
    """The request's member session, checked when its caller is ready rather than as a
    dependency (``SignIn`` of the voucher claim): ``key`` names its record in Redis (None
    without a usable cookie, or with the sessions in process), so that the caller may read it
    in the round trip of its own first Redis command and hand it to ``check``; without it,
    ``check`` reads it. ``check`` makes ``member_session_of``'s checks (401, CSRF) and keeps
    the session in ``session``."""

    __slots__ = ("_request", "_state", "_store", "_token", "key", "session")

    def __init__(self, request: Request[Any, Any, Any], state: State) -> None:
        self._request, self._state = request, state
        self._store = state.stores.get("sessions")
        token = request.cookies.get(MEMBER_COOKIE, "")
        self._token = token if _usable(token) else ""
        self.key: str | None = None
        if self._token and isinstance(self._store, RedisStore):
            # The store's own key (RedisStore: "namespace:key"), read with its client's GET.
            ns = self._store.namespace
            self.key = f"{ns}:{_PREFIX}{token}" if ns else _PREFIX + token
        self.session: MemberSession | None = None

    async def check(self, record: bytes | None = None, *, read: bool = False) -> None:
        if not read and self._token:
            record = await self._store.get(_PREFIX + self._token)
        sess = _from_record(self._token, record) if self._token else None
        self.session = _checked(self._request, self._state, sess)


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
