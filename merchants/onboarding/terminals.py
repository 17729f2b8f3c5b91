"""Terminals and their API keys: issue (shown once), rotate, revoke.

A key authenticates as exactly one terminal, hence one store of one merchant. Only the key's
public prefix and its SHA-256 are stored; the plain key leaves this module once, in the
return value of the call that made it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import record
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import Conflict, FieldError, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from merchants.config import MAX_ROTATION_GRACE_SECONDS
from merchants.errors import KeyNotFound, TerminalNotFound
from merchants.keys import IssuedKey, generate_key
from merchants.models import (
    Merchant,
    MerchantStatus,
    Store,
    StoreStatus,
    Terminal,
    TerminalKey,
    TerminalStatus,
)
from merchants.onboarding import validation as check
from merchants.onboarding.service import get_store, require


def key_is_live(key: TerminalKey, now: datetime) -> bool:
    return key.revoked_at is None or key.revoked_at > now


def _ensure_usable(merchant: Merchant, store: Store | None = None) -> None:
    if merchant.status == MerchantStatus.terminated:
        raise Conflict(
            "merchant_terminated",
            "该商户已终止合作，不能签发终端密钥",
            "The merchant is terminated; no keys can be issued",
        )
    if store is not None and store.status != StoreStatus.active:
        raise Conflict("store_closed", "该门店已关闭", "The store is closed")


async def _issue(session: AsyncSession, terminal: Terminal) -> tuple[TerminalKey, IssuedKey]:
    while True:
        issued = generate_key()
        # 40-bit public ids: a clash is very unlikely but must not become a 409 for the user.
        if not await session.scalar(
            select(TerminalKey.id).where(TerminalKey.prefix == issued.prefix)
        ):
            break
    row = TerminalKey(terminal_id=terminal.id, prefix=issued.prefix, secret_hash=issued.secret_hash)
    session.add(row)
    await session.flush()
    return row, issued


async def create_terminal(
    session: AsyncSession, actor: Principal, store_id: uuid.UUID, *, name: str
) -> tuple[Terminal, IssuedKey]:
    """A terminal in the store, with its first key (the only time the key is shown)."""
    store, merchant = await get_store(session, actor, store_id, Perm.merchants_write)
    _ensure_usable(merchant, store)
    name = check.text("name", name, 1, 64)
    if await session.scalar(
        select(Terminal.id).where(Terminal.store_id == store.id, Terminal.name == name)
    ):
        raise Conflict(
            "terminal_name_taken",
            f"该门店已有名为“{name}”的终端",
            f"the store already has a terminal named {name}",
            errors=[FieldError("name", "终端名称重复", "duplicate terminal name")],
        )
    terminal = Terminal(
        store_id=store.id, merchant_id=merchant.id, name=name, status=TerminalStatus.active
    )
    session.add(terminal)
    await session.flush()
    _, issued = await _issue(session, terminal)
    record(
        session,
        actor,
        "terminal.create",
        target_type="terminal",
        target_id=terminal.id,
        org_path=merchant.org_path,
        summary={
            "merchant_id": str(merchant.id),
            "store_id": str(store.id),
            "name": name,
            "key_prefix": issued.prefix,
        },
    )
    return terminal, issued


async def get_terminal(
    session: AsyncSession,
    viewer: Principal,
    terminal_id: uuid.UUID,
    perm: Perm = Perm.merchants_read,
) -> tuple[Terminal, Store, Merchant]:
    require(viewer, perm)
    row = (
        await session.execute(
            select(Terminal, Store, Merchant)
            .join(Store, Store.id == Terminal.store_id)
            .join(Merchant, Merchant.id == Terminal.merchant_id)
            .where(Terminal.id == terminal_id)
        )
    ).first()
    if row is None or not viewer.can(perm, row[2].org_path):
        raise TerminalNotFound()
    return row[0], row[1], row[2]


async def keys_of(session: AsyncSession, terminal_ids: list[uuid.UUID]) -> list[TerminalKey]:
    if not terminal_ids:
        return []
    rows = await session.scalars(
        select(TerminalKey)
        .where(TerminalKey.terminal_id.in_(terminal_ids))
        .order_by(TerminalKey.created_at.desc(), TerminalKey.id.desc())
    )
    return list(rows)


async def list_terminals(
    session: AsyncSession, viewer: Principal, store_id: uuid.UUID
) -> list[tuple[Terminal, list[TerminalKey]]]:
    store, _ = await get_store(session, viewer, store_id)
    terminals = list(
        await session.scalars(
            select(Terminal).where(Terminal.store_id == store.id).order_by(Terminal.name)
        )
    )
    keys = await keys_of(session, [t.id for t in terminals])
    return [(t, [k for k in keys if k.terminal_id == t.id]) for t in terminals]


async def rotate_key(
    session: AsyncSession,
    actor: Principal,
    terminal_id: uuid.UUID,
    *,
    grace_seconds: int = 0,
    now: datetime | None = None,
) -> tuple[Terminal, IssuedKey, list[TerminalKey]]:
    """Issue a new key; the live old ones stop working after ``grace_seconds`` (0 = now).

    A grace period lets a till switch over without downtime on a planned rotation; after a
    leak, rotate with 0.
    """
    if not 0 <= grace_seconds <= MAX_ROTATION_GRACE_SECONDS:
        raise ValidationError.field(
            "grace_seconds",
            f"宽限期应为 0–{MAX_ROTATION_GRACE_SECONDS} 秒",
            f"grace_seconds must be 0–{MAX_ROTATION_GRACE_SECONDS}",
        )
    now = now or utc_now()
    terminal, store, merchant = await get_terminal(
        session, actor, terminal_id, Perm.merchants_write
    )
    _ensure_usable(merchant, store)
    old = list(
        await session.scalars(
            select(TerminalKey).where(
                TerminalKey.terminal_id == terminal.id,
                or_(TerminalKey.revoked_at.is_(None), TerminalKey.revoked_at > now),
            )
        )
    )
    until = now + timedelta(seconds=grace_seconds)
    for k in old:
        # A key already winding down keeps its earlier end.
        if k.revoked_at is None or k.revoked_at > until:
            k.revoked_at, k.revoked_reason = until, "rotated"
    _, issued = await _issue(session, terminal)
    record(
        session,
        actor,
        "terminal.key_rotate",
        target_type="terminal",
        target_id=terminal.id,
        org_path=merchant.org_path,
        summary={
            "new_prefix": issued.prefix,
            "old_prefixes": [k.prefix for k in old],
            "grace_seconds": grace_seconds,
        },
    )
    return terminal, issued, old


async def revoke_key(
    session: AsyncSession,
    actor: Principal,
    *,
    key_id: uuid.UUID | None = None,
    prefix: str | None = None,
    terminal_id: uuid.UUID | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> tuple[TerminalKey, Merchant]:
    """Revoke one key now (by id or by its printed prefix); a key still in grace ends now."""
    now = now or utc_now()
    require(actor, Perm.merchants_write)
    stmt = (
        select(TerminalKey, Terminal, Merchant)
        .join(Terminal, Terminal.id == TerminalKey.terminal_id)
        .join(Merchant, Merchant.id == Terminal.merchant_id)
    )
    if key_id is not None:
        stmt = stmt.where(TerminalKey.id == key_id)
    elif prefix is not None:
        stmt = stmt.where(TerminalKey.prefix == prefix.strip())
    else:
        raise ValueError("key_id or prefix is required")
    if terminal_id is not None:
        stmt = stmt.where(TerminalKey.terminal_id == terminal_id)
    row = (await session.execute(stmt)).first()
    if row is None or not actor.can(Perm.merchants_write, row[2].org_path):
        raise KeyNotFound()
    key, terminal, merchant = row[0], row[1], row[2]
    if not key_is_live(key, now):
        raise Conflict("key_revoked", "该密钥已吊销", "The key is already revoked")
    key.revoked_at = now
    key.revoked_reason = check.optional_text("reason", reason, 255) or "revoked"
    record(
        session,
        actor,
        "terminal.key_revoke",
        target_type="terminal",
        target_id=terminal.id,
        org_path=merchant.org_path,
        summary={"prefix": key.prefix, "reason": key.revoked_reason},
    )
    return key, merchant
