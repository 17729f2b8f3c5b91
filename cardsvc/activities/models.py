"""Activities and training courses an org publishes, and the members' sign-ups.

``signed_count`` is the number of sign-ups holding a place; it is only ever changed by a
conditional UPDATE on the activity row (``signed_count < capacity``), so concurrent sign-ups
queue on that row and never take more places than there are. ``waitlist_seq`` hands out the
waiting list's positions under the same row lock.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from advanced_alchemy.base import DefaultBase, UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cardsvc.kernel.db import FOLLOWS_ORG


class ActivityKind(enum.StrEnum):
    activity = "activity"  # 工会活动
    training = "training"  # 培训课程 (completion, hours, certificate)


class ActivityStatus(enum.StrEnum):
    published = "published"
    cancelled = "cancelled"


class SignupStatus(enum.StrEnum):
    signed = "signed"  # holds a place
    waitlisted = "waitlisted"  # in line for a place (``position``)
    cancelled = "cancelled"


class Activity(UUIDv7AuditBase):
    __tablename__ = "activity"
    __table_args__ = (Index("ix_activity_org_path_starts", "org_path", "starts_at"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org.id"))
    org_path: Mapped[str] = mapped_column(String(400), info=FOLLOWS_ORG)
    kind: Mapped[ActivityKind] = mapped_column(Enum(ActivityKind, native_enum=False, length=16))
    status: Mapped[ActivityStatus] = mapped_column(
        Enum(ActivityStatus, native_enum=False, length=16), default=ActivityStatus.published
    )
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    place: Mapped[str] = mapped_column(String(200))  # an address, or the store's name
    store_id: Mapped[uuid.UUID | None] = mapped_column()  # a merchant's store, if held there
    capacity: Mapped[int] = mapped_column(Integer)
    eligibility: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    signup_opens_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    signup_closes_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    cancel_deadline: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    cost_fen: Mapped[int] = mapped_column(Integer, default=0)  # what it costs per person
    subsidy_fen: Mapped[int] = mapped_column(Integer, default=0)  # of which the union pays
    training_minutes: Mapped[int | None] = mapped_column(Integer)  # a course's planned hours
    signed_count: Mapped[int] = mapped_column(Integer, default=0)
    waitlist_seq: Mapped[int] = mapped_column(Integer, default=0)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64))


class ActivitySignup(UUIDv7AuditBase):
    """One member's sign-up; cancelled and signed up again, the same row comes back."""

    __tablename__ = "activity_signup"
    __table_args__ = (
        UniqueConstraint("activity_id", "member_id"),
        Index("ix_activity_signup_member", "member_id"),
    )

    activity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    # In the key: distributed by member, every unique key holds the member (docs/scaling.md).
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("member.id"), primary_key=True)
    status: Mapped[SignupStatus] = mapped_column(Enum(SignupStatus, native_enum=False, length=16))
    position: Mapped[int | None] = mapped_column(Integer)  # place in the waiting list
    signed_up_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    promoted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    checked_in_by: Mapped[str | None] = mapped_column(String(64))
    passed: Mapped[bool | None] = mapped_column(Boolean)
    minutes: Mapped[int | None] = mapped_column(Integer)  # training time credited
    completed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    # Random, checked publicly by number: unique in ``certificate``, written with it.
    cert_no: Mapped[str | None] = mapped_column(String(32))


class IssuedCertificate(DefaultBase):
    """Certificate number → sign-up: numbers are unique across members, which a key on
    ``activity_signup`` would not hold under Citus (distributed by member); this lookup table,
    distributed by the number, does, and the public check reads it first. Written in the
    transaction that gives or takes back the number."""

    __tablename__ = "certificate"

    cert_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    member_id: Mapped[uuid.UUID]
    signup_id: Mapped[uuid.UUID]
