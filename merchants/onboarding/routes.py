"""HTTP: the staff onboarding API and the terminal's own endpoint (thin controllers)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get, patch, post
from litestar.datastructures import CacheControlHeader, State
from litestar.openapi.spec import SecurityRequirement
from litestar.params import Parameter
from litestar.types import ControllerRouterHandler
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.masking import mask_account
from cardsvc.kernel.principal import Principal
from merchants.keys import IssuedKey
from merchants.models import (
    CATEGORY_LABELS_ZH,
    Merchant,
    MerchantCategory,
    MerchantStatus,
    Store,
    StoreStatus,
    Terminal,
    TerminalKey,
    TerminalStatus,
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
    key_is_live,
    keys_of,
    list_terminals,
    revoke_key,
    rotate_key,
)
from merchants.terminal.auth import TerminalContext, gate_of
from merchants.terminal.routes import StaffRedemptionController, TerminalRedeemController

STAFF: list[SecurityRequirement] = [{"staffSession": []}]
TERMINAL: list[SecurityRequirement] = [{"terminalKey": []}]
NO_STORE = CacheControlHeader(no_store=True)  # responses that carry a plain key
KEY_NOTICE_ZH = "密钥仅显示这一次,请立即妥善保存;系统只保存其哈希,无法找回。"
KEY_NOTICE_EN = "The key is shown this once: store it now. Only its hash is kept."
MAX_OFFSET = 1_000_000_000  # past the driver's 64-bit integers it was a 500
Limit = Annotated[int, Parameter(ge=1, le=200, description="page size (1–200)")]
Offset = Annotated[int, Parameter(ge=0, le=MAX_OFFSET, description="rows to skip")]
Uscc = Annotated[str, msgspec.Meta(min_length=1, max_length=32, examples=["91420502MA4F3XL01B"])]
Region = Annotated[str, msgspec.Meta(max_length=6, examples=["420502"])]


# --- shapes -------------------------------------------------------------------------------


class MerchantOut(msgspec.Struct):
    id: uuid.UUID
    org_id: uuid.UUID
    legal_name: str
    display_name: str
    uscc: str
    category: MerchantCategory
    category_label: str
    region: str
    region_name: str | None
    contact_name: str
    contact_phone: str
    bank_name: str | None
    bank_account_name: str | None
    bank_account_masked: str | None
    status: MerchantStatus
    status_reason: str | None
    created_at: datetime
    updated_at: datetime


class MerchantPage(msgspec.Struct):
    items: list[MerchantOut]
    total: int
    limit: int
    offset: int


class MerchantIn(msgspec.Struct):
    org_id: uuid.UUID
    legal_name: Annotated[str, msgspec.Meta(max_length=128, examples=["宜昌市老街面馆有限公司"])]
    display_name: Annotated[str, msgspec.Meta(max_length=64, examples=["老街面馆"])]
    uscc: Uscc
    category: MerchantCategory
    region: Region
    contact_name: Annotated[str, msgspec.Meta(max_length=64, examples=["王师傅"])]
    contact_phone: Annotated[str, msgspec.Meta(max_length=32, examples=["13907170001"])]
    region_name: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    bank_name: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    bank_account_name: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    bank_account_number: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class MerchantPatch(msgspec.Struct, omit_defaults=True):
    legal_name: str | msgspec.UnsetType = msgspec.UNSET
    display_name: str | msgspec.UnsetType = msgspec.UNSET
    uscc: str | msgspec.UnsetType = msgspec.UNSET
    category: MerchantCategory | msgspec.UnsetType = msgspec.UNSET
    region: str | msgspec.UnsetType = msgspec.UNSET
    region_name: str | msgspec.UnsetType | None = msgspec.UNSET
    contact_name: str | msgspec.UnsetType = msgspec.UNSET
    contact_phone: str | msgspec.UnsetType = msgspec.UNSET
    bank_name: str | msgspec.UnsetType | None = msgspec.UNSET
    bank_account_name: str | msgspec.UnsetType | None = msgspec.UNSET
    bank_account_number: str | msgspec.UnsetType | None = msgspec.UNSET


class ReasonIn(msgspec.Struct):
    reason: Annotated[str, msgspec.Meta(max_length=255, examples=["食品安全检查整改中"])] | None = (
        None
    )


class StoreIn(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(max_length=128, examples=["老街面馆(解放路店)"])]
    address: Annotated[str, msgspec.Meta(max_length=255, examples=["宜昌市西陵区解放路 18 号"])]
    region: Region


class StoreOut(msgspec.Struct):
    id: uuid.UUID
    merchant_id: uuid.UUID
    name: str
    address: str
    region: str
    status: StoreStatus
    created_at: datetime


class TerminalIn(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(max_length=64, examples=["1 号收银台"])]


class KeyOut(msgspec.Struct):
    id: uuid.UUID
    prefix: str
    active: bool
    created_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None
    last_used_at: datetime | None


class TerminalOut(msgspec.Struct):
    id: uuid.UUID
    store_id: uuid.UUID
    merchant_id: uuid.UUID
    name: str
    status: TerminalStatus
    created_at: datetime
    keys: list[KeyOut]


class IssuedKeyOut(msgspec.Struct):
    """A new key: ``key`` is returned by this response only."""

    terminal: TerminalOut
    key: str
    key_prefix: str
    notice: str
    notice_en: str


class RotateIn(msgspec.Struct):
    grace_seconds: (
        Annotated[int, msgspec.Meta(ge=0, le=7 * 24 * 3600, examples=[0, 3600])] | None
    ) = None


class TerminalSelfOut(msgspec.Struct):
    terminal_id: uuid.UUID
    terminal_name: str
    store_id: uuid.UUID
    store_name: str
    region: str
    merchant_id: uuid.UUID
    merchant_name: str
    category: MerchantCategory
    key_prefix: str


def merchant_out(m: Merchant) -> MerchantOut:
    return MerchantOut(
        id=m.id,
        org_id=m.org_id,
        legal_name=m.legal_name,
        display_name=m.display_name,
        uscc=m.uscc,
        category=m.category,
        category_label=CATEGORY_LABELS_ZH[m.category],
        region=m.region,
        region_name=m.region_name,
        contact_name=m.contact_name,
        contact_phone=m.contact_phone,
        bank_name=m.bank_name,
        bank_account_name=m.bank_account_name,
        bank_account_masked=mask_account(m.bank_account_last4),
        status=m.status,
        status_reason=m.status_reason,
        created_at=m.created_at,
        updated_at=m.updated_at,
    )


def store_out(s: Store) -> StoreOut:
    return StoreOut(s.id, s.merchant_id, s.name, s.address, s.region, s.status, s.created_at)


def terminal_out(t: Terminal, keys: list[TerminalKey], now: datetime | None = None) -> TerminalOut:
    now = now or utc_now()
    return TerminalOut(
        id=t.id,
        store_id=t.store_id,
        merchant_id=t.merchant_id,
        name=t.name,
        status=t.status,
        created_at=t.created_at,
        keys=[
            KeyOut(
                k.id,
                k.prefix,
                key_is_live(k, now),
                k.created_at,
                k.revoked_at,
                k.revoked_reason,
                k.last_used_at,
            )
            for k in keys
        ],
    )


def issued_out(t: Terminal, keys: list[TerminalKey], issued: IssuedKey) -> IssuedKeyOut:
    return IssuedKeyOut(
        terminal=terminal_out(t, keys),
        key=issued.plain,
        key_prefix=issued.prefix,
        notice=KEY_NOTICE_ZH,
        notice_en=KEY_NOTICE_EN,
    )


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


# --- terminals ----------------------------------------------------------------------------


class TerminalSelfController(Controller):
    path = "/api/v1/terminal"
    tags = ["merchant API"]
    security = TERMINAL

    @get(
        "/",
        summary="Who am I: the store and merchant this key authenticates as (check a key)",
        description=(
            "POS 接入自检:返回该密钥所属的终端、门店与商户。Errors: 401 `unauthorized`, "
            "403 `merchant_suspended`, 429 `rate_limited` (with `Retry-After`)."
        ),
    )
    async def whoami(self, terminal: TerminalContext) -> TerminalSelfOut:
        return TerminalSelfOut(
            terminal_id=terminal.terminal_id,
            terminal_name=terminal.terminal_name,
            store_id=terminal.store_id,
            store_name=terminal.store_name,
            region=terminal.region,
            merchant_id=terminal.merchant_id,
            merchant_name=terminal.merchant_name,
            category=terminal.category,
            key_prefix=terminal.key_prefix,
        )


def route_handlers() -> list[ControllerRouterHandler]:
    return [
        MerchantController,
        TerminalAdminController,
        TerminalSelfController,
        TerminalRedeemController,
        StaffRedemptionController,
    ]
