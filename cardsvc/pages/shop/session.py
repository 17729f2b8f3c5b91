"""The cashier's session: the terminal key pasted once, kept server-side.

The key never reaches JavaScript or localStorage: the ``uc_shop`` cookie (HttpOnly,
SameSite=Lax) holds a random session token; the session store ("sessions": Redis, or
in-process when embedded) maps it to the key, encrypted with the PII cipher (the store is not
meant to hold secrets in the clear), and a CSRF token that htmx sends as ``X-CSRF-Token``
(plain form posts send it as the ``csrf`` field).

Every request authenticates the stored key again through the terminal gate, exactly as the
API does: a key revoked or a merchant suspended since sign-in stops working at once.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from litestar import Request
from litestar.datastructures import State
from litestar.stores.base import Store
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import Unauthorized
from cardsvc.kernel.pii import PiiCipher, PiiError
from cardsvc.staff.auth import SAFE_METHODS, CsrfFailed
from merchants.errors import TerminalUnauthorized
from merchants.terminal.auth import TerminalContext, gate_of

SHOP_COOKIE = "uc_shop"
SHOP_SESSION_SECONDS = 12 * 3600  # a long shift at the till; the key itself does not expire
_PREFIX = "shop:"
_KEY_FIELD = "terminal_key"  # the cipher's associated data: this ciphertext is only a key


@dataclass(frozen=True, slots=True)
class ShopSession:
    token: str
    key_enc: str
    csrf: str


@dataclass(frozen=True, slots=True)
class Shop:
    """What a shop handler gets: the authenticated terminal and the session."""

    terminal: TerminalContext
    session: ShopSession


def sessions_of(state: State) -> Store:
    return state.stores.get("sessions")


async def open_shop_session(store: Store, cipher: PiiCipher, key: str) -> ShopSession:
    s = ShopSession(
        secrets.token_urlsafe(32), cipher.encrypt(_KEY_FIELD, key), secrets.token_urlsafe(24)
    )
    payload = json.dumps({"k": s.key_enc, "csrf": s.csrf})
    await store.set(_PREFIX + s.token, payload, expires_in=SHOP_SESSION_SECONDS)
    return s


async def load_shop_session(store: Store, token: str) -> ShopSession | None:
    if not token or len(token) > 128:
        return None
    raw = await store.get(_PREFIX + token)
    if raw is None:
        return None
    data = json.loads(raw)
    return ShopSession(token, data["k"], data["csrf"])


async def close_shop_session(store: Store, token: str) -> None:
    if token:
        await store.delete(_PREFIX + token)


def _signed_out() -> Unauthorized:
    return Unauthorized(
        "unauthorized", "请先用终端密钥登录", "Please sign in with the terminal key"
    )


async def authenticate_key(state: State, db_session: AsyncSession, key: str) -> TerminalContext:
    """The API's checks for a key: known, not revoked, merchant active; then the rate limit."""
    gate = gate_of(state)
    terminal = await gate.authenticate(db_session, f"Bearer {key}")
    await gate.throttle(terminal)
    return terminal


async def provide_shop(
    request: Request[Any, Any, Any], state: State, db_session: AsyncSession
) -> Shop:
    """Dependency ``shop``: the signed-in terminal (re-checked on every request), or 401."""
    store = sessions_of(state)
    sess = await load_shop_session(store, request.cookies.get(SHOP_COOKIE, ""))
    if sess is None:
        raise _signed_out()
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        if not sent and request.headers.get("hx-request") != "true":
            form = await request.form()
            sent = str(form.get("csrf", ""))
        if not sent or not hmac.compare_digest(sent, sess.csrf):
            raise CsrfFailed()
    try:
        key = state.cipher.decrypt(_KEY_FIELD, sess.key_enc)
    except (PiiError, ValueError, InvalidTag):  # the data key was rotated away: sign in again
        await close_shop_session(store, sess.token)
        raise _signed_out() from None
    try:
        terminal = await authenticate_key(state, db_session, key)
    except TerminalUnauthorized:
        # Revoked or rotated since sign-in: the session is worthless now.
        await close_shop_session(store, sess.token)
        raise _signed_out() from None
    return Shop(terminal, sess)
