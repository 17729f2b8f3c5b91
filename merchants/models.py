"""Merchants, their stores, the terminals in a store, and the terminals' API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from advanced_alchemy.base import UUIDv7AuditBase, UUIDv7Base
from advanced_alchemy.types import GUID, DateTimeUTC, JsonB
from sqlalchemy import Enum, Float, ForeignKey, Index, Integer, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.schema import DDL

from cardsvc.kernel.db import FOLLOWS_ORG
from merchants.kinds import (
    CATEGORY_LABELS_ZH,
    MerchantCategory,
    MerchantStatus,
    StoreStatus,
    TerminalStatus,
)
from merchants.spatial import SPATIAL_DDL

__all__ = [
    "CATEGORY_LABELS_ZH",
    "Merchant",
    "MerchantCategory",
    "MerchantStatus",
    "ReversalRequest",
    "ScanLog",
    "Store",
    "StoreStatus",
    "Terminal",
    "TerminalKey",
    "TerminalStatus",
]


class Merchant(UUIDv7AuditBase):
    """A partner business. Owned by the org that onboarded it; staff scope by ``org_path``."""

    __tablename__ = "merchant"
    __table_args__ = (Index("ix_merchant_org_path", "org_path"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org.id"), index=True)
    # Denormalised owner path so that scoping is a string-prefix test without a join.
    org_path: Mapped[str] = mapped_column(String(400), info=FOLLOWS_ORG)
    legal_name: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(64), index=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    category: Mapped[MerchantCategory] = mapped_column(
        Enum(MerchantCategory, native_enum=False, length=16), index=True
    )
    # GB/T 2260 administrative division code (6 digits), matched by prefix in programme scopes.
    region: Mapped[str] = mapped_column(String(6), index=True)
    region_name: Mapped[str | None] = mapped_column(String(64))
    contact_name: Mapped[str] = mapped_column(String(64))
    contact_phone: Mapped[str] = mapped_column(String(32))
    # Settlement: the federation pays subsidies into this account. The number is encrypted
    # (PiiCipher field "bank_account", key id beside it); only its last 4 digits are shown.
    bank_name: Mapped[str | None] = mapped_column(String(64))
    bank_account_name: Mapped[str | None] = mapped_column(String(128))
    bank_account_enc: Mapped[str | None] = mapped_column(String(255))
    bank_account_last4: Mapped[str | None] = mapped_column(String(4))
    data_key_id: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[MerchantStatus] = mapped_column(
        Enum(MerchantStatus, native_enum=False, length=16),
        default=MerchantStatus.active,
        index=True,
    )
    status_reason: Mapped[str | None] = mapped_column(String(255))
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class Store(UUIDv7AuditBase):
    __tablename__ = "merchant_store"
    __table_args__ = (UniqueConstraint("merchant_id", "name"),)

    merchant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("merchant.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    address: Mapped[str] = mapped_column(String(255))
    region: Mapped[str] = mapped_column(String(6), index=True)
    status: Mapped[StoreStatus] = mapped_column(
        Enum(StoreStatus, native_enum=False, length=16), default=StoreStatus.active
    )
    # WGS-84 degrees (what a phone's GPS reports); both or neither. The spatial index over
    # them is made outside the table definition (merchants/spatial.py).
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    phone: Mapped[str | None] = mapped_column(String(32))
    # Weekly spans and closures (merchants/directory/hours.py); None: not given.
    hours: Mapped[dict[str, Any] | None] = mapped_column(JsonB)
    # Rest-station amenities as bits (merchants/directory/amenities.py).
    amenities: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    photos: Mapped[list[str] | None] = mapped_column(JsonB)


for _dialect, _statements in SPATIAL_DDL.items():
    for _sql in _statements:
        event.listen(Store.__table__, "after_create", DDL(_sql).execute_if(dialect=_dialect))


class Terminal(UUIDv7AuditBase):
    """A till, POS or scanning phone in one store; it authenticates with its keys."""

    __tablename__ = "merchant_terminal"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("merchant_store.id"), index=True)
    # Denormalised: revoking every key of a merchant and listing its terminals need no join.
    merchant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("merchant.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[TerminalStatus] = mapped_column(
        Enum(TerminalStatus, native_enum=False, length=16), default=TerminalStatus.active
    )


class TerminalKey(UUIDv7AuditBase):
    """An API key: only its public prefix and the SHA-256 of the whole key are stored.

    ``revoked_at`` in the future means "still valid until then" (the grace period of a
    rotation); in the past or now, the key no longer authenticates.
    """

    __tablename__ = "merchant_terminal_key"

    terminal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("merchant_terminal.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # "uck_" + 8-char public id
    secret_hash: Mapped[str] = mapped_column(String(64))  # hex SHA-256 of the full key
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(String(255))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class ScanLog(UUIDv7Base):
    """One scan at a terminal: which merchant saw which member's card, when, and the outcome.

    Where a member shopped is personal data (PIPL): rows are kept for
    ``scan_log_retention_days`` and then deleted by ``unioncard merchants purge-scans``.
    No foreign keys, so that logging a scan costs one plain INSERT and purging needs no joins.
    """

    __tablename__ = "merchant_scan_log"

    merchant_id: Mapped[uuid.UUID] = mapped_column(GUID(), index=True)
    store_id: Mapped[uuid.UUID] = mapped_column(GUID())
    terminal_id: Mapped[uuid.UUID] = mapped_column(GUID())
    card_id: Mapped[uuid.UUID | None] = mapped_column(GUID())
    member_id: Mapped[uuid.UUID | None] = mapped_column(GUID())
    at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    result: Mapped[str] = mapped_column(String(32))  # "ok" or the error code


class ReversalRequest(UUIDv7Base):
    """A terminal's reversal under its ``Idempotency-Key``: a retry gets the stored answer.

    The engine's reversal row makes a reversal happen once; this row remembers which request
    did it, so the same request repeated is answered (200, replayed) and not refused.
    """

    __tablename__ = "merchant_reversal_request"
    __table_args__ = (UniqueConstraint("merchant_id", "idempotency_key"),)

    # In the key: distributed by merchant, every unique key holds the merchant (docs/scaling.md).
    merchant_id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    redemption_id: Mapped[uuid.UUID] = mapped_column(GUID(), index=True)
    terminal_id: Mapped[uuid.UUID] = mapped_column(GUID())
    reason: Mapped[str] = mapped_column(String(255))
    reversed_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
