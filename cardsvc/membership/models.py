"""Join applications, transfers between unions, invite links, and each membership's history."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from advanced_alchemy.base import DefaultBase, UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Date, Enum, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from cardsvc.kernel.db import FOLLOWS_ORG


class RequestStatus(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"


class JoinApplication(UUIDv7AuditBase):
    """An application to join a grassroots union. The Member row exists only once approved;
    until then the applicant's identity lives here, encrypted like a member's."""

    __tablename__ = "join_application"
    __table_args__ = (Index("ix_join_application_org_path", "org_path"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(400), info=FOLLOWS_ORG)
    status: Mapped[RequestStatus] = mapped_column(
        Enum(RequestStatus, native_enum=False, length=16), default=RequestStatus.pending, index=True
    )
    source: Mapped[str] = mapped_column(String(16))  # self | invite | staff
    name: Mapped[str] = mapped_column(String(64))
    id_number_enc: Mapped[str] = mapped_column(String(255))
    id_number_hash: Mapped[str] = mapped_column(String(64), index=True)
    phone_enc: Mapped[str] = mapped_column(String(255))
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    data_key_id: Mapped[str] = mapped_column(String(16))
    birth_date: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(1))
    employment_type: Mapped[str | None] = mapped_column(String(32))
    employer: Mapped[str | None] = mapped_column(String(128))
    job: Mapped[str | None] = mapped_column(String(64))
    region_code: Mapped[str | None] = mapped_column(String(6))  # where the applicant lives
    privacy_version: Mapped[str] = mapped_column(String(16))
    consented_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    submitted_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(255))
    # The member the applicant is or becomes, given at submission: the member's id when the ID
    # number is already a member's, a new one otherwise (the Member row made at approval takes
    # it). So the application and its member share a shard under Citus, and it is in the key
    # (docs/distribution.toml). No foreign key: until approval there may be no member yet.
    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # Why staff must look twice (the applicant is never told): ``member`` when the ID number is
    # already a member's, ``pending`` when another phone has an application with it pending.
    review_flag: Mapped[str | None] = mapped_column(String(16))


class TransferRequest(UUIDv7AuditBase):
    """A member asks to move to another union; the receiving union decides."""

    __tablename__ = "transfer_request"
    __table_args__ = (
        Index("ix_transfer_request_to_path", "to_org_path"),
        Index(
            "uq_transfer_request_pending_member",
            "member_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    # In the key: distributed by member, every unique key holds the member (docs/scaling.md).
    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("member.id"), primary_key=True, index=True
    )
    from_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org.id"))
    from_org_path: Mapped[str] = mapped_column(String(400), info=FOLLOWS_ORG)
    to_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org.id"))
    to_org_path: Mapped[str] = mapped_column(String(400), info=FOLLOWS_ORG)
    status: Mapped[RequestStatus] = mapped_column(
        Enum(RequestStatus, native_enum=False, length=16), default=RequestStatus.pending, index=True
    )
    note: Mapped[str | None] = mapped_column(String(255))
    submitted_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(255))


class InviteLink(UUIDv7AuditBase):
    """A union's invitation (link or QR) that opens the join form with the union chosen."""

    __tablename__ = "invite_link"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org.id"), index=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    label: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    uses: Mapped[int] = mapped_column(default=0)


class MembershipEvent(UUIDv7AuditBase):
    """The history of one membership: joined, transferred, suspended, resumed, left."""

    __tablename__ = "membership_event"

    # In the key: distributed by member, every unique key holds the member (docs/scaling.md).
    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("member.id"), primary_key=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    from_org_id: Mapped[uuid.UUID | None] = mapped_column()
    to_org_id: Mapped[uuid.UUID | None] = mapped_column()
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)


class ApplicationIdentity(DefaultBase):
    """At most one pending application per person (ID number), those flagged as duplicates for
    staff to review not counted: a row while such an application is pending, deleted when it is
    decided or withdrawn. A lookup table distributed by the hash under Citus, written in the
    application's transaction (docs/distribution.toml)."""

    __tablename__ = "application_identity"

    id_number_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[uuid.UUID]
    application_id: Mapped[uuid.UUID]
