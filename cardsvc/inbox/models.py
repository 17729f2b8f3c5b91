"""Notifications: one row per recipient (a member or a staff account), read or not, and
whether it still has to go out by SMS/WeChat."""

from __future__ import annotations

import uuid
from datetime import datetime

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column


class Notification(UUIDv7AuditBase):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_member", "member_id", "created_at"),
        Index("ix_notification_staff", "staff_id", "created_at"),
        Index("ix_notification_outbound", "outbound", "sent_at"),
    )

    # No foreign key: the member lives in another co-location group under Citus
    # (docs/distribution.toml). Members are never deleted (erasure anonymises them and deletes
    # their notifications itself); every caller passes the member id of a row it read.
    member_id: Mapped[uuid.UUID | None]
    staff_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE")
    )
    topic: Mapped[str] = mapped_column(String(32))  # e.g. service.accepted
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[uuid.UUID | None] = mapped_column()
    title: Mapped[str] = mapped_column(String(100))
    title_en: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    read_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    # Outbound copy: channel (sms / wechat) or None; sent_at once the sender took it.
    outbound: Mapped[str | None] = mapped_column(String(16))
    sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    send_attempts: Mapped[int] = mapped_column(default=0)
    send_error: Mapped[str | None] = mapped_column(String(255))
