"""A store's details and its closing, and a terminal's disabling and enabling.

A closed store, and a disabled terminal, stop redeeming at once: the terminal gate refuses a
key whose terminal is not active or whose store is not open (the caller tells the gate's cache
to forget them). Closing a store disables its terminals too. Every change is audited.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import record
from cardsvc.kernel.errors import Conflict, FieldError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from merchants.models import Store, StoreStatus, Terminal, TerminalKey, TerminalStatus
from merchants.onboarding import validation as check
from merchants.onboarding.service import get_store
from merchants.onboarding.terminals import get_terminal


def _open(store: Store) -> None:
    if store.status != StoreStatus.active:
        raise Conflict("store_closed", "该门店已关闭", "The store is closed")


async def update_store(
    session: AsyncSession,
    actor: Principal,
    store_id: uuid.UUID,
    *,
    name: str | None = None,
    address: str | None = None,
    region: str | None = None,
) -> Store:
    store, merchant = await get_store(session, actor, store_id, Perm.merchants_write)
    _open(store)
    before = {"name": store.name, "address": store.address, "region": store.region}
    if name is not None:
        name = check.text("name", name, 2, 128)
        if name != store.name and await session.scalar(
            select(Store.id).where(Store.merchant_id == merchant.id, Store.name == name)
        ):
            raise Conflict(
                "store_name_taken",
                f"该商户已有名为“{name}”的门店",
                f"the merchant already has a store named {name}",
                errors=[FieldError("name", "门店名称重复", "duplicate store name")],
            )
        store.name = name
    if address is not None:
        store.address = check.text("address", address, 4, 255)
    if region is not None:
        store.region = check.region("region", region)
    record(
        session,
        actor,
        "store.update",
        target_type="store",
        target_id=store.id,
        org_path=merchant.org_path,
        summary={
            "before": before,
            "after": {"name": store.name, "address": store.address, "region": store.region},
        },
    )
    return store


async def close_store(
    session: AsyncSession, actor: Principal, store_id: uuid.UUID, *, reason: str
) -> tuple[Store, list[str]]:
    """Close the store and disable its terminals; returns the store and the prefixes of the
    keys that stop working (for the gate's cache)."""
    store, merchant = await get_store(session, actor, store_id, Perm.merchants_write)
    _open(store)
    reason = check.text("reason", reason, 2, 255)
    store.status = StoreStatus.closed
    terminals = list(await session.scalars(select(Terminal).where(Terminal.store_id == store.id)))
    for t in terminals:
        t.status = TerminalStatus.disabled
    prefixes = list(
        await session.scalars(
            select(TerminalKey.prefix).where(TerminalKey.terminal_id.in_([t.id for t in terminals]))
        )
    )
    record(
        session,
        actor,
        "store.close",
        target_type="store",
        target_id=store.id,
        org_path=merchant.org_path,
        summary={"reason": reason, "terminals_disabled": len(terminals)},
    )
    return store, prefixes


async def set_terminal_status(
    session: AsyncSession,
    actor: Principal,
    terminal_id: uuid.UUID,
    *,
    active: bool,
    reason: str | None = None,
) -> tuple[Terminal, list[str]]:
    """Disable a terminal (its keys stop working, they are kept) or enable it again; returns
    the terminal and its key prefixes (for the gate's cache)."""
    terminal, store, merchant = await get_terminal(
        session, actor, terminal_id, Perm.merchants_write
    )
    want = TerminalStatus.active if active else TerminalStatus.disabled
    if terminal.status == want:
        raise Conflict(
            "terminal_unchanged",
            "终端已是启用状态" if active else "终端已停用",
            "the terminal is already " + ("active" if active else "disabled"),
        )
    if active:
        _open(store)
    terminal.status = want
    prefixes = list(
        await session.scalars(
            select(TerminalKey.prefix).where(TerminalKey.terminal_id == terminal.id)
        )
    )
    record(
        session,
        actor,
        "terminal.enable" if active else "terminal.disable",
        target_type="terminal",
        target_id=terminal.id,
        org_path=merchant.org_path,
        summary={
            "store_id": str(store.id),
            "reason": check.optional_text("reason", reason, 255),
        },
    )
    return terminal, prefixes
