"""Onboarding API and terminal self-check shapes, and how their rows become them."""

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.masking import mask_account
from cardsvc.kernel.regions import full_name
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
from merchants.onboarding.terminals import key_is_live

KEY_NOTICE_ZH = "密钥仅显示这一次，请立即妥善保存；系统只保存其哈希，无法找回。"
KEY_NOTICE_EN = "The key is shown this once: store it now. Only its hash is kept."
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
    name: Annotated[str, msgspec.Meta(max_length=128, examples=["老街面馆（解放路店）"])]
    address: Annotated[str, msgspec.Meta(max_length=255, examples=["宜昌市西陵区解放路 18 号"])]
    region: Region


class StoreOut(msgspec.Struct):
    id: uuid.UUID
    merchant_id: uuid.UUID
    name: str
    address: str
    region: str  # GB/T 2260 code
    status: StoreStatus
    created_at: datetime
    region_name: str | None = None  # the code's full name, e.g. "湖北省宜昌市西陵区"


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
        region_name=m.region_name or full_name(m.region),
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
    return StoreOut(
        s.id,
        s.merchant_id,
        s.name,
        s.address,
        s.region,
        s.status,
        s.created_at,
        full_name(s.region),
    )


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
