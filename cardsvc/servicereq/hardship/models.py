"""Hardship records (困难职工档案): sensitive; every read by staff is audited."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Date, Enum, ForeignKey, Index, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from cardsvc.kernel.db import FOLLOWS_ORG


class HardshipStatus(enum.StrEnum):
    pending = "pending"  # waiting for the union one level above
    approved = "approved"  # in force until review_on
    rejected = "rejected"
    expired = "expired"  # not reviewed in time
    revoked = "revoked"  # ended early by staff


class HardshipCategory(enum.StrEnum):
    """The national 困难职工 classification."""

    deep = "deep"  # 深度困难
    relative = "relative"  # 相对困难
    accident = "accident"  # 意外致困


CATEGORY_LABELS_ZH = {
    HardshipCategory.deep: "深度困难",
    HardshipCategory.relative: "相对困难",
    HardshipCategory.accident: "意外致困",
}


class HardshipRecord(UUIDv7AuditBase):
    __tablename__ = "hardship_record"
    __table_args__ = (
        Index("ix_hardship_record_org_path", "org_path"),
        Index("ix_hardship_record_status_review", "status", "review_on"),
        # One open (pending or approved) record per member, on both databases.
        Index(
            "uq_hardship_record_open_member",
            "member_id",
            unique=True,
            postgresql_where=text("status IN ('pending', 'approved')"),
            sqlite_where=text("status IN ('pending', 'approved')"),
        ),
    )

    # In the key: distributed by member, every unique key holds the member (docs/scaling.md).
    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("member.id"), primary_key=True, index=True
    )
    # The member's union when applying, and the union one level above that decides.
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org.id"))
    org_path: Mapped[str] = mapped_column(String(400), info=FOLLOWS_ORG)
    approver_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org.id"))
    approver_org_path: Mapped[str] = mapped_column(String(400), info=FOLLOWS_ORG)
    # No foreign key: the request lives in another co-location group under Citus
    # (docs/distribution.toml); apply() checks that it is this member's hardship request.
    request_id: Mapped[uuid.UUID | None]
    status: Mapped[HardshipStatus] = mapped_column(
        Enum(HardshipStatus, native_enum=False, length=16), default=HardshipStatus.pending
    )
    category: Mapped[HardshipCategory] = mapped_column(
        Enum(HardshipCategory, native_enum=False, length=16)
    )
    level: Mapped[int] = mapped_column(SmallInteger)  # 1–3, what programmes test
    circumstances: Mapped[str] = mapped_column(Text)
    applied_by: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    reason: Mapped[str | None] = mapped_column(String(255))
    review_on: Mapped[date | None] = mapped_column(Date)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
