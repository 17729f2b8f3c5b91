"""HTTP: the staff onboarding API and the terminal's own endpoint (thin controllers; the shapes
are in :mod:`merchants.onboarding.schemas`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get, patch, post
from litestar.datastructures import CacheControlHeader, State
from litestar.openapi.spec import SecurityRequirement
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from merchants.models import MerchantCategory, MerchantStatus
from merchants.onboarding.schemas import (
    IssuedKeyOut,
    MerchantIn,
    MerchantOut,
    MerchantPage,
    MerchantPatch,
    ReasonIn,
    RotateIn,
    StoreIn,
    StoreOut,
    TerminalIn,
    TerminalOut,
    issued_out,
    merchant_out,
    store_out,
    terminal_out,
)
from merchants.onboarding.service import (
    EDITABLE,
    MerchantInput,
    MerchantQuery,
    change_status,
    create_merchant,
    create_store,
    get_merchant,
    list_stores,
    search_merchants,
    update_merchant,
)
from merchants.onboarding.terminals import (
    create_terminal,
    get_terminal,
    keys_of,
    list_terminals,
    revoke_key,
    rotate_key,
)
from merchants.terminal.auth import gate_of
from merchants.terminal.routes import BillRefQuery, redemption_page_out
from merchants.terminal.schemas import RedemptionPageOut
from merchants.terminal.voucher_routes import VoucherRedemptionPageOut, voucher_page_out

STAFF: list[SecurityRequirement] = [{"staffSession": []}]
TERMINAL: list[SecurityRequirement] = [{"terminalKey": []}]
NO_STORE = CacheControlHeader(no_store=True)  # responses that carry a plain key
MAX_OFFSET = 1_000_000_000  # past the driver's 64-bit integers it was a 500
Limit = Annotated[int, Parameter(ge=1, le=200, description="page size (1–200)")]
Offset = Annotated[int, Parameter(ge=0, le=MAX_OFFSET, description="rows to skip")]


# --- staff: merchants ---------------------------------------------------------------------


class MerchantController(Controller):
    path = "/api/v1/merchants"
    tags = ["staff: merchants"]
    security = STAFF

    @get("/", summary="List or search merchants in my subtrees (paginated)")
    async def index(
        self,
        staff: Principal,
        db_session: AsyncSession,
        q: str | None = None,
        category: MerchantCategory | None = None,
        status: MerchantStatus | None = None,
        region: str | None = None,
        org_id: uuid.UUID | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> MerchantPage:
        rows, total = await search_merchants(
            db_session,
            staff,
            MerchantQuery(q, category, status, region, org_id, limit, offset),
        )
        return MerchantPage([merchant_out(m) for m in rows], total, limit, offset)

    @post("/", summary="Onboard a merchant, owned by an org in my subtree")
    async def create(
        self, staff: Principal, state: State, db_session: AsyncSession, data: MerchantIn
    ) -> MerchantOut:
        fields = {f: getattr(data, f) for f in data.__struct_fields__}
        m = await create_merchant(db_session, staff, state.cipher, MerchantInput(**fields))
        return merchant_out(m)

    @get("/{merchant_id:uuid}", summary="One merchant (account number masked)")
    async def detail(
        self, staff: Principal, db_session: AsyncSession, merchant_id: uuid.UUID
    ) -> MerchantOut:
        return merchant_out(await get_merchant(db_session, staff, merchant_id))

    @patch("/{merchant_id:uuid}", summary="Change a merchant's details")
    async def update(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        merchant_id: uuid.UUID,
        data: MerchantPatch,
    ) -> MerchantOut:
        changes = {
            f: getattr(data, f)
            for f in data.__struct_fields__
            if getattr(data, f) is not msgspec.UNSET and f in EDITABLE
        }
        m = await update_merchant(db_session, staff, state.cipher, merchant_id, changes)
        gate_of(state).forget(merchant_id=m.id)
        return merchant_out(m)

    async def _status(
        self,
        action: str,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        merchant_id: uuid.UUID,
        data: ReasonIn,
    ) -> MerchantOut:
        m = await change_status(db_session, staff, merchant_id, action=action, reason=data.reason)
        gate_of(state).forget(merchant_id=m.id)
        return merchant_out(m)

    @post(
        "/{merchant_id:uuid}/suspend",
        status_code=200,
        summary="Suspend: its terminals get 403 merchant_suspended (reason required)",
    )
    async def suspend(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        merchant_id: uuid.UUID,
        data: ReasonIn,
    ) -> MerchantOut:
        return await self._status("suspend", staff, state, db_session, merchant_id, data)

    @post("/{merchant_id:uuid}/resume", status_code=200, summary="Resume a suspended merchant")
    async def resume(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        merchant_id: uuid.UUID,
        data: ReasonIn,
    ) -> MerchantOut:
        return await self._status("resume", staff, state, db_session, merchant_id, data)

    @post(
        "/{merchant_id:uuid}/terminate",
        status_code=200,
        summary="End the partnership for good; every terminal key is revoked (reason required)",
    )
    async def terminate(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        merchant_id: uuid.UUID,
        data: ReasonIn,
    ) -> MerchantOut:
        return await self._status("terminate", staff, state, db_session, merchant_id, data)

    @get("/{merchant_id:uuid}/stores", summary="The merchant's stores")
    async def stores(
        self, staff: Principal, db_session: AsyncSession, merchant_id: uuid.UUID
    ) -> list[StoreOut]:
        return [store_out(s) for s in await list_stores(db_session, staff, merchant_id)]

    @post("/{merchant_id:uuid}/stores", summary="Add a store")
    async def add_store(
        self, staff: Principal, db_session: AsyncSession, merchant_id: uuid.UUID, data: StoreIn
    ) -> StoreOut:
        store = await create_store(
            db_session,
            staff,
            merchant_id,
            name=data.name,
            address=data.address,
            region=data.region,
        )
        return store_out(store)


# --- staff: stores' terminals and keys ----------------------------------------------------


class TerminalAdminController(Controller):
    path = "/api/v1"
    tags = ["staff: merchants"]
    security = STAFF

    @get("/stores/{store_id:uuid}/terminals", summary="A store's terminals and their key prefixes")
    async def terminals(
        self, staff: Principal, db_session: AsyncSession, store_id: uuid.UUID
    ) -> list[TerminalOut]:
        now = utc_now()
        rows = await list_terminals(db_session, staff, store_id)
        return [terminal_out(t, keys, now) for t, keys in rows]

    @post(
        "/stores/{store_id:uuid}/terminals",
        summary="Add a terminal; the response shows its API key, once",
        cache_control=NO_STORE,
    )
    async def add_terminal(
        self, staff: Principal, db_session: AsyncSession, store_id: uuid.UUID, data: TerminalIn
    ) -> IssuedKeyOut:
        terminal, issued = await create_terminal(db_session, staff, store_id, name=data.name)
        return issued_out(terminal, await keys_of(db_session, [terminal.id]), issued)

    @get("/terminals/{terminal_id:uuid}", summary="One terminal with its keys (prefixes only)")
    async def terminal(
        self, staff: Principal, db_session: AsyncSession, terminal_id: uuid.UUID
    ) -> TerminalOut:
        terminal, _, _ = await get_terminal(db_session, staff, terminal_id)
        return terminal_out(terminal, await keys_of(db_session, [terminal.id]))

    @post(
        "/terminals/{terminal_id:uuid}/keys/rotate",
        summary="New key (shown once); the old one stops working now or after grace_seconds",
        cache_control=NO_STORE,
    )
    async def rotate(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        terminal_id: uuid.UUID,
        data: RotateIn,
    ) -> IssuedKeyOut:
        gate = gate_of(state)
        grace = (
            data.grace_seconds
            if data.grace_seconds is not None
            else gate.config.rotation_grace_seconds
        )
        terminal, issued, old = await rotate_key(
            db_session, staff, terminal_id, grace_seconds=grace
        )
        gate.forget(prefixes=tuple(k.prefix for k in old))
        return issued_out(terminal, await keys_of(db_session, [terminal.id]), issued)

    @post(
        "/terminals/{terminal_id:uuid}/keys/{key_id:uuid}/revoke",
        status_code=200,
        summary="Revoke one key now",
    )
    async def revoke(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        terminal_id: uuid.UUID,
        key_id: uuid.UUID,
        data: ReasonIn,
    ) -> TerminalOut:
        key, _ = await revoke_key(
            db_session, staff, key_id=key_id, terminal_id=terminal_id, reason=data.reason
        )
        gate_of(state).forget(prefixes=(key.prefix,))
        terminal, _, _ = await get_terminal(db_session, staff, terminal_id)
        return terminal_out(terminal, await keys_of(db_session, [terminal.id]))


class StaffRedemptionController(Controller):
    path = "/api/v1/merchants"
    tags = ["staff: merchants"]
    security = STAFF

    @get(
        "/{merchant_id:uuid}/redemptions",
        summary="A merchant's redemptions (staff with merchants.read on its owner's subtree)",
    )
    async def merchant_redemptions(
        self,
        staff: Principal,
        db_session: AsyncSession,
        merchant_id: uuid.UUID,
        since: Annotated[datetime | None, Parameter(query="from")] = None,
        until: Annotated[datetime | None, Parameter(query="to")] = None,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        bill_ref: BillRefQuery = None,
    ) -> RedemptionPageOut:
        m = await get_merchant(db_session, staff, merchant_id, Perm.merchants_read)
        return await redemption_page_out(db_session, m.id, since, until, cursor, limit, bill_ref)

    @get(
        "/{merchant_id:uuid}/voucher-redemptions",
        operation_id="listMerchantVoucherRedemptions",
        summary="A merchant's voucher redemptions (staff with merchants.read on its owner's "
        "subtree)",
        description=(
            "商户的消费券核销记录（含已撤销），参数与终端的 `GET /api/v1/voucher-redemptions` "
            "相同。A merchant's voucher uses, as its terminals list them: newest first, reversed "
            "ones included, the same `from`/`to`/`cursor`/`limit`/`bill_ref`."
        ),
    )
    async def merchant_voucher_redemptions(
        self,
        staff: Principal,
        db_session: AsyncSession,
        merchant_id: uuid.UUID,
        since: Annotated[datetime | None, Parameter(query="from")] = None,
        until: Annotated[datetime | None, Parameter(query="to")] = None,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        bill_ref: BillRefQuery = None,
    ) -> VoucherRedemptionPageOut:
        m = await get_merchant(db_session, staff, merchant_id, Perm.merchants_read)
        return await voucher_page_out(db_session, m.id, since, until, cursor, limit, bill_ref)
