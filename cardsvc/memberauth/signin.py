"""Signing a member in with a phone and a one-time code: the steps the member API
(``/api/v1/me/otp``, ``/api/v1/me/session``) and the member pages' sign-in form share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie, State

from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.web import client_ip, cookie_secure
from cardsvc.memberauth.otp import OtpPolicy, request_code, verify_code
from cardsvc.memberauth.sessions import (
    MEMBER_COOKIE,
    MemberSession,
    close_member_session,
    open_member_session,
)
from cardsvc.members.identity import parse_phone


@dataclass(frozen=True, slots=True)
class SignedIn:
    phone: str  # normalised
    phone_hash: str
    session: MemberSession
    cookie: Cookie


async def send_code(request: Request[Any, Any, Any], state: State, raw_phone: str) -> OtpPolicy:
    """Check the phone and send it a code (rate-limited per phone and address)."""
    cipher: PiiCipher = state.cipher
    phone = parse_phone(raw_phone)
    await request_code(
        state.kv,
        state.limiter,
        state.sender,
        secret=state.settings.secret_key.encode(),
        phone=phone,
        phone_hash=cipher.lookup_hash("phone", phone),
        ip=client_ip(request),
        policy=state.otp_policy,
    )
    policy: OtpPolicy = state.otp_policy
    return policy


async def sign_in(
    request: Request[Any, Any, Any], state: State, raw_phone: str, code: str
) -> SignedIn:
    """Check the code, end the browser's previous session and open a new one; the caller sets
    the returned cookie."""
    cipher: PiiCipher = state.cipher
    phone = parse_phone(raw_phone)
    phone_hash = cipher.lookup_hash("phone", phone)
    await verify_code(
        state.kv,
        state.limiter,
        secret=state.settings.secret_key.encode(),
        phone_hash=phone_hash,
        code=code.strip(),
        policy=state.otp_policy,
    )
    store = state.stores.get("sessions")
    if old := request.cookies.get(MEMBER_COOKIE):
        await close_member_session(store, old)
    sess = await open_member_session(
        store,
        phone_hash=phone_hash,
        phone_enc=cipher.encrypt("phone", phone),
        max_age=state.settings.member_session_max_age,
    )
    cookie = Cookie(
        key=MEMBER_COOKIE,
        value=sess.token,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        max_age=state.settings.member_session_max_age,
        path="/",
    )
    return SignedIn(phone, phone_hash, sess, cookie)


async def sign_out(request: Request[Any, Any, Any], state: State) -> None:
    if token := request.cookies.get(MEMBER_COOKIE):
        await close_member_session(state.stores.get("sessions"), token)
