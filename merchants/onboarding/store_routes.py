"""Staff API for a store's details and closing, and a terminal's disabling and enabling."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, patch, post
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.principal import Principal
from merchants.onboarding.routes import STAFF
from merchants.onboarding.schemas import ReasonIn, StoreOut, TerminalOut, store_out, terminal_out
from merchants.onboarding.stores import close_store, set_terminal_status, update_store
from merchants.onboarding.terminals import keys_of
from merchants.terminal.auth import gate_of


class StorePatch(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    address: Annotated[str, msgspec.Meta(max_length=255)] | None = None
    region: Annotated[str, msgspec.Meta(max_length=6)] | None = None


class StoreCloseIn(msgspec.Struct):
    reason: Annotated[str, msgspec.Meta(min_length=2, max_length=255, examples=["门店停业"])]


class StoreAdminController(Controller):
    path = "/api/v1"
    tags = ["staff: merchants"]
    security = STAFF

    @patch("/stores/{store_id:uuid}", summary="Change a store's name, address or region")
    async def update(
        self, staff: Principal, db_session: AsyncSession, store_id: uuid.UUID, data: StorePatch
    ) -> StoreOut:
        store = await update_store(
            db_session, staff, store_id, name=data.name, address=data.address, region=data.region
        )
        return store_out(store)

    @post(
        "/stores/{store_id:uuid}/close",
        status_code=200,
        summary="Close a store: its terminals are disabled and stop redeeming",
    )
    async def close(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        store_id: uuid.UUID,
        data: StoreCloseIn,
    ) -> StoreOut:
        store, prefixes = await close_store(db_session, staff, store_id, reason=data.reason)
        gate_of(state).forget(prefixes=tuple(prefixes))
        return store_out(store)

    @post(
        "/terminals/{terminal_id:uuid}/disable",
        status_code=200,
        summary="Disable a terminal: its keys stop working (kept for enabling again)",
    )
    async def disable(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        terminal_id: uuid.UUID,
        data: ReasonIn,
    ) -> TerminalOut:
        terminal, prefixes = await set_terminal_status(
            db_session, staff, terminal_id, active=False, reason=data.reason
        )
        gate_of(state).forget(prefixes=tuple(prefixes))
        return terminal_out(terminal, await keys_of(db_session, [terminal.id]))

    @post("/terminals/{terminal_id:uuid}/enable", status_code=200, summary="Enable a terminal")
    async def enable(
        self, staff: Principal, state: State, db_session: AsyncSession, terminal_id: uuid.UUID
    ) -> TerminalOut:
        terminal, prefixes = await set_terminal_status(db_session, staff, terminal_id, active=True)
        gate_of(state).forget(prefixes=tuple(prefixes))
        return terminal_out(terminal, await keys_of(db_session, [terminal.id]))
