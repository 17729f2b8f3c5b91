from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from advanced_alchemy.base import DefaultBase, UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Date, Enum, ForeignKey, Index, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cardsvc.kernel.db import FOLLOWS_ORG


class MemberStatus(enum.StrEnum):
    pending = "pending"
    active = "active"
    suspended = "suspended"
    left = "left"


class Category(enum.StrEnum):
    model_worker = "model_worker"  # 劳模
    hardship = "hardship"  # 困难职工 (with a level)
    migrant_worker = "migrant_worker"  # 农民工
    flexible_worker = "flexible_worker"  # 灵活就业
    retired = "retired"  # 退休


CATEGORY_LABELS_ZH = {
    Category.model_worker: "劳模",
    Category.hardship: "困难职工",
    Category.migrant_worker: "农民工",
    Category.flexible_worker: "灵活就业",
    Category.retired: "退休",
}


class Member(UUIDv7AuditBase):
    __tablename__ = "member"
    __table_args__ = (
        Index("ix_member_org_path", "org_path"),
        Index("ix_member_name", "name"),
        # Member numbers come from number_sequence blocks, unique by construction; the key
        # holds the member so that Citus can keep it per shard (docs/distribution.toml). The
        # number first: a lookup by number alone still uses it.
        UniqueConstraint("member_no", "id", name="uq_member_member_no"),
    )

    member_no: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    # PII: ciphertext ("kid.base64") + keyed hash for exact lookup / de-duplication.
    id_number_enc: Mapped[str] = mapped_column(String(255))
    # One membership per person: unique in member_identity, written with the row.
    id_number_hash: Mapped[str] = mapped_column(String(64), index=True)
    phone_enc: Mapped[str | None] = mapped_column(String(255))
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    data_key_id: Mapped[str] = mapped_column(String(16), index=True)
    # None only once the member's personal data was erased (``erased_at``).
    birth_date: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(1))  # "M" / "F" from the ID number; "" if erased

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(400), info=FOLLOWS_ORG)
    status: Mapped[MemberStatus] = mapped_column(
        Enum(MemberStatus, native_enum=False, length=16), default=MemberStatus.pending, index=True
    )
    status_reason: Mapped[str | None] = mapped_column(String(255))
    categories: Mapped[list[str]] = mapped_column(JsonB, default=list)
    hardship_level: Mapped[int | None] = mapped_column(SmallInteger)
    employment_type: Mapped[str | None] = mapped_column(String(32))
    employer: Mapped[str | None] = mapped_column(String(128))
    job: Mapped[str | None] = mapped_column(String(64))
    region_code: Mapped[str | None] = mapped_column(String(6))  # GB/T 2260 (kernel/regions)
    joined_on: Mapped[date | None] = mapped_column(Date)
    extra: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    # PIPL erasure: personal fields anonymised for good (cardsvc/privacy/erasure.py).
    erased_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class MemberIdentity(DefaultBase):
    """One membership per person (ID number): the member's row holds the hash too, but a unique
    key there would not hold under Citus (distributed by member); this lookup table, distributed
    by the hash, does (docs/distribution.toml). Written in the member's transaction."""

    __tablename__ = "member_identity"

    id_number_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[uuid.UUID]
