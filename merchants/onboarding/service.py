"""Onboarding: merchants and their stores, scoped to the staff member's org subtrees.

A merchant belongs to the org that onboarded it. Staff see it when they hold
``merchants.read`` on a subtree containing that org (``merchants.write`` to change it);
otherwise it does not exist for them (404). Every change writes an audit row.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import record
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import Conflict, FieldError, Forbidden, NotFound, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.public import Org, OrgStatus, find_org
from merchants.errors import MerchantNotFound, StoreNotFound
from merchants.models import (
    Merchant,
    MerchantCategory,
    MerchantStatus,
    Store,
    StoreStatus,
    Terminal,
    TerminalKey,
)
from merchants.onboarding import validation as check

BANK_FIELD = "bank_account"  # the cipher's associated data for the account number


class FieldCipher(Protocol):
    """What onboarding needs of ``cardsvc.kernel.pii.PiiCipher`` (passed in by the caller)."""

    def encrypt(self, field: str, plaintext: str) -> str: ...

    def key_id(self, token: str) -> str: ...


def require(viewer: Principal, perm: Perm) -> None:
    """Refuse roles that hold ``perm`` nowhere (e.g. a union admin asking for merchants)."""
    if not viewer.can(perm):
        raise Forbidden(
            "forbidden",
            "您的角色无权管理商户",
            "Your role does not allow managing merchants",
        )


@dataclass(frozen=True, slots=True)
class MerchantInput:
    org_id: uuid.UUID
    legal_name: str
    display_name: str
    uscc: str
    category: MerchantCategory
    region: str
    contact_name: str
    contact_phone: str
    region_name: str | None = None
    bank_name: str | None = None
    bank_account_name: str | None = None
    bank_account_number: str | None = None


EDITABLE = frozenset(
    {
        "legal_name",
        "display_name",
        "uscc",
        "category",
        "region",
        "region_name",
        "contact_name",
        "contact_phone",
        "bank_name",
        "bank_account_name",
        "bank_account_number",
    }
)


async def _owner_org(session: AsyncSession, actor: Principal, org_id: uuid.UUID) -> Org:
    org = await find_org(session, org_id)
    if org is None or not actor.can(Perm.merchants_write, org.path):
        raise NotFound("org_not_found", "未找到该组织", "Org not found")
    if org.status != OrgStatus.active:
        raise ValidationError.field("org_id", "该组织已撤销", "the org is closed")
    return org


async def _check_uscc_free(
    session: AsyncSession, uscc: str, except_id: uuid.UUID | None = None
) -> None:
    stmt = select(Merchant.id).where(Merchant.uscc == uscc)
    if except_id is not None:
        stmt = stmt.where(Merchant.id != except_id)
    if await session.scalar(stmt):
        raise Conflict(
            "uscc_taken",
            f"统一社会信用代码 {uscc} 已有商户登记",
            f"a merchant with unified social credit code {uscc} already exists",
            errors=[FieldError("uscc", "该代码已登记", "already registered")],
        )


def _set_bank(
    m: Merchant,
    cipher: FieldCipher,
    *,
    bank_name: str | None,
    account_name: str | None,
    number: str | None,
) -> None:
    """Settlement details are all-or-nothing: bank, account holder and account number."""
    m.bank_name = check.optional_text("bank_name", bank_name, 64)
    m.bank_account_name = check.optional_text("bank_account_name", account_name, 128)
    if number is not None and number.strip():
        digits = check.bank_account(number)
        m.bank_account_enc = cipher.encrypt(BANK_FIELD, digits)
        m.bank_account_last4 = digits[-4:]
        m.data_key_id = cipher.key_id(m.bank_account_enc)
    elif number is not None:  # explicitly cleared
        m.bank_account_enc = m.bank_account_last4 = m.data_key_id = None
    given = {
        "bank_name": m.bank_name,
        "bank_account_name": m.bank_account_name,
        "bank_account_number": m.bank_account_enc,
    }
    if any(given.values()) and not all(given.values()):
        missing = next(k for k, v in given.items() if not v)
        raise ValidationError.field(
            missing,
            "结算信息需同时填写开户行、账户名和账号",
            "settlement details need bank name, account name and account number together",
        )


def _summary(m: Merchant) -> dict[str, Any]:
    """What the audit log keeps about a merchant: no account number, only its last 4."""
    return {
        "legal_name": m.legal_name,
        "display_name": m.display_name,
        "uscc": m.uscc,
        "category": m.category.value,
        "region": m.region,
        "contact_name": m.contact_name,
        "bank_account_last4": m.bank_account_last4,
    }


async def create_merchant(
    session: AsyncSession, actor: Principal, cipher: FieldCipher, data: MerchantInput
) -> Merchant:
    require(actor, Perm.merchants_write)
    uscc = check.uscc(data.uscc)
    m = Merchant(
        legal_name=check.text("legal_name", data.legal_name, 2, 128),
        display_name=check.text("display_name", data.display_name, 2, 64),
        uscc=uscc,
        category=MerchantCategory(data.category),
        region=check.region("region", data.region),
        region_name=check.optional_text("region_name", data.region_name, 64),
        contact_name=check.text("contact_name", data.contact_name, 2, 64),
        contact_phone=check.phone("contact_phone", data.contact_phone),
        status=MerchantStatus.active,
    )
    _set_bank(
        m,
        cipher,
        bank_name=data.bank_name,
        account_name=data.bank_account_name,
        number=data.bank_account_number,
    )
    org = await _owner_org(session, actor, data.org_id)
    await _check_uscc_free(session, uscc)
    m.org_id, m.org_path = org.id, org.path
    session.add(m)
    await session.flush()
    record(
        session,
        actor,
        "merchant.create",
        target_type="merchant",
        target_id=m.id,
        org_path=m.org_path,
        summary=_summary(m),
    )
    return m


async def get_merchant(
    session: AsyncSession,
    viewer: Principal,
    merchant_id: uuid.UUID,
    perm: Perm = Perm.merchants_read,
) -> Merchant:
    """The merchant if ``viewer`` holds ``perm`` on its owner's subtree; otherwise 404."""
    require(viewer, perm)
    m = await session.get(Merchant, merchant_id)
    if m is None or not viewer.can(perm, m.org_path):
        raise MerchantNotFound()
    return m


async def find_by_uscc(session: AsyncSession, uscc: str) -> Merchant | None:
    return await session.scalar(select(Merchant).where(Merchant.uscc == uscc.strip().upper()))


async def update_merchant(
    session: AsyncSession,
    actor: Principal,
    cipher: FieldCipher,
    merchant_id: uuid.UUID,
    changes: Mapping[str, Any],
) -> Merchant:
    """Apply the given fields (the others stay). The owning org is not changed here."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    m = await get_merchant(session, actor, merchant_id, Perm.merchants_write)
    if m.status == MerchantStatus.terminated:
        raise Conflict(
            "merchant_terminated",
            "该商户已终止合作，不能修改",
            "The merchant is terminated and cannot be changed",
        )
    before = _summary(m)
    for name, lo, hi in (("legal_name", 2, 128), ("display_name", 2, 64), ("contact_name", 2, 64)):
        if name in changes:
            setattr(m, name, check.text(name, changes[name], lo, hi))
    if "uscc" in changes:
        uscc = check.uscc(changes["uscc"])
        await _check_uscc_free(session, uscc, except_id=m.id)
        m.uscc = uscc
    if "category" in changes:
        m.category = MerchantCategory(changes["category"])
    if "region" in changes:
        m.region = check.region("region", changes["region"])
    if "region_name" in changes:
        m.region_name = check.optional_text("region_name", changes["region_name"], 64)
    if "contact_phone" in changes:
        m.contact_phone = check.phone("contact_phone", changes["contact_phone"])
    if {"bank_name", "bank_account_name", "bank_account_number"} & set(changes):
        _set_bank(
            m,
            cipher,
            bank_name=changes.get("bank_name", m.bank_name),
            account_name=changes.get("bank_account_name", m.bank_account_name),
            number=changes.get("bank_account_number"),
        )
    after = _summary(m)
    record(
        session,
        actor,
        "merchant.update",
        target_type="merchant",
        target_id=m.id,
        org_path=m.org_path,
        summary={
            "before": {k: v for k, v in before.items() if after[k] != v},
            "after": {k: v for k, v in after.items() if before[k] != v},
            "bank_account_changed": "bank_account_number" in changes,
        },
    )
    return m


async def revoke_all_keys(
    session: AsyncSession, merchant_id: uuid.UUID, *, reason: str, now: datetime
) -> int:
    """Revoke (now) every key of the merchant that still works or would still work."""
    terminals = select(Terminal.id).where(Terminal.merchant_id == merchant_id)
    result = await session.execute(
        update(TerminalKey)
        .where(
            TerminalKey.terminal_id.in_(terminals),
            or_(TerminalKey.revoked_at.is_(None), TerminalKey.revoked_at > now),
        )
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # typed Result; DML gives a CursorResult


_TRANSITIONS: dict[str, tuple[frozenset[MerchantStatus], MerchantStatus]] = {
    "suspend": (frozenset({MerchantStatus.active}), MerchantStatus.suspended),
    "resume": (frozenset({MerchantStatus.suspended}), MerchantStatus.active),
    "terminate": (
        frozenset({MerchantStatus.active, MerchantStatus.suspended}),
        MerchantStatus.terminated,
    ),
}
_STATUS_ZH = {
    MerchantStatus.active: "合作中",
    MerchantStatus.suspended: "已暂停",
    MerchantStatus.terminated: "已终止",
}


async def change_status(
    session: AsyncSession,
    actor: Principal,
    merchant_id: uuid.UUID,
    *,
    action: str,
    reason: str | None,
) -> Merchant:
    """``suspend`` / ``resume`` / ``terminate`` (terminating also revokes every key)."""
    allowed, target = _TRANSITIONS[action]
    m = await get_merchant(session, actor, merchant_id, Perm.merchants_write)
    if action != "resume":
        reason = check.text("reason", reason or "", 2, 255)
    else:
        reason = check.optional_text("reason", reason, 255)
    if m.status not in allowed:
        raise Conflict(
            "merchant_status_conflict",
            f"商户当前状态为“{_STATUS_ZH[m.status]}”，不能执行该操作",
            f"cannot {action} a merchant that is {m.status.value}",
        )
    now = utc_now()
    before = m.status
    m.status, m.status_reason, m.status_changed_at = target, reason, now
    revoked = 0
    if target == MerchantStatus.terminated:
        revoked = await revoke_all_keys(session, m.id, reason="merchant terminated", now=now)
    record(
        session,
        actor,
        f"merchant.{action}",
        target_type="merchant",
        target_id=m.id,
        org_path=m.org_path,
        summary={
            "from": before.value,
            "to": target.value,
            "reason": reason,
            "keys_revoked": revoked,
        },
    )
    return m


@dataclass(frozen=True, slots=True)
class MerchantQuery:
    q: str | None = None
    category: MerchantCategory | None = None
    status: MerchantStatus | None = None
    region: str | None = None  # prefix: "4205" = all of Yichang
    org_id: uuid.UUID | None = None  # owned by this org or its subtree
    limit: int = 50
    offset: int = 0


async def search_merchants(
    session: AsyncSession, viewer: Principal, query: MerchantQuery
) -> tuple[list[Merchant], int]:
    require(viewer, Perm.merchants_read)
    conds = [viewer.scope_filter(Merchant.org_path, Perm.merchants_read)]
    if query.q and query.q.strip():
        q = query.q.strip()
        conds.append(
            or_(
                Merchant.display_name.contains(q, autoescape=True),
                Merchant.legal_name.contains(q, autoescape=True),
                Merchant.uscc == q.upper(),
            )
        )
    if query.category:
        conds.append(Merchant.category == query.category)
    if query.status:
        conds.append(Merchant.status == query.status)
    if query.region:
        conds.append(Merchant.region.startswith(query.region.strip(), autoescape=True))
    if query.org_id:
        org = await find_org(session, query.org_id)
        if org is None or not viewer.sees(org.path):
            raise NotFound("org_not_found", "未找到该组织", "Org not found")
        conds.append(Merchant.org_path.startswith(org.path, autoescape=True))
    total = (
        await session.execute(select(func.count()).select_from(Merchant).where(*conds))
    ).scalar_one()
    rows = await session.scalars(
        select(Merchant)
        .where(*conds)
        .order_by(Merchant.display_name, Merchant.id)
        .limit(query.limit)
        .offset(query.offset)
    )
    return list(rows), total


# --- stores -------------------------------------------------------------------------------


async def create_store(
    session: AsyncSession,
    actor: Principal,
    merchant_id: uuid.UUID,
    *,
    name: str,
    address: str,
    region: str,
) -> Store:
    m = await get_merchant(session, actor, merchant_id, Perm.merchants_write)
    if m.status == MerchantStatus.terminated:
        raise Conflict(
            "merchant_terminated",
            "该商户已终止合作，不能新增门店",
            "The merchant is terminated; no new stores",
        )
    name = check.text("name", name, 2, 128)
    if await session.scalar(select(Store.id).where(Store.merchant_id == m.id, Store.name == name)):
        raise Conflict(
            "store_name_taken",
            f"该商户已有名为“{name}”的门店",
            f"the merchant already has a store named {name}",
            errors=[FieldError("name", "门店名称重复", "duplicate store name")],
        )
    store = Store(
        merchant_id=m.id,
        name=name,
        address=check.text("address", address, 4, 255),
        region=check.region("region", region),
        status=StoreStatus.active,
    )
    session.add(store)
    await session.flush()
    record(
        session,
        actor,
        "store.create",
        target_type="store",
        target_id=store.id,
        org_path=m.org_path,
        summary={"merchant_id": str(m.id), "name": name, "region": store.region},
    )
    return store


async def list_stores(
    session: AsyncSession, viewer: Principal, merchant_id: uuid.UUID
) -> list[Store]:
    m = await get_merchant(session, viewer, merchant_id)
    rows = await session.scalars(
        select(Store).where(Store.merchant_id == m.id).order_by(Store.name, Store.id)
    )
    return list(rows)


async def get_store(
    session: AsyncSession,
    viewer: Principal,
    store_id: uuid.UUID,
    perm: Perm = Perm.merchants_read,
) -> tuple[Store, Merchant]:
    require(viewer, perm)
    row = (
        await session.execute(
            select(Store, Merchant)
            .join(Merchant, Merchant.id == Store.merchant_id)
            .where(Store.id == store_id)
        )
    ).first()
    if row is None or not viewer.can(perm, row[1].org_path):
        raise StoreNotFound()
    return row[0], row[1]
