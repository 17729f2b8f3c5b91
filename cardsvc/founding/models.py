"""Founding applications, their documents and timeline, and the enterprise register."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cardsvc.kernel.db import FOLLOWS_ORG


class FoundingKind(enum.StrEnum):
    found = "found"  # the enterprise founds its own grassroots union
    join_joint = "join_joint"  # a small firm joins a regional or industry joint union


class ApplicantType(enum.StrEnum):
    employer = "employer"  # the employer's representative
    workers = "workers"  # a group of workers (at least the settings' minimum)


class FoundingStatus(enum.StrEnum):
    submitted = "submitted"  # waiting for the reviewing federation
    info_requested = "info_requested"  # the applicant is asked for more
    refused = "refused"
    approved = "approved"


OPEN_FOUNDING = frozenset({FoundingStatus.submitted, FoundingStatus.info_requested})


class FoundingApplication(UUIDv7AuditBase):
    """One application. ``reviewer_org_*`` is the federation that decides (the district the
    enterprise's region belongs to, or the level above when the tree has none); ``org_id`` the
    union the enterprise's workers join once approved (a new one, or the joint union)."""

    __tablename__ = "founding_application"
    __table_args__ = (
        Index("ix_founding_application_reviewer_path", "reviewer_org_path"),
        Index("ix_founding_application_phone", "phone_hash"),
    )

    ref_no: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[FoundingKind] = mapped_column(Enum(FoundingKind, native_enum=False, length=16))
    applicant_type: Mapped[ApplicantType] = mapped_column(
        Enum(ApplicantType, native_enum=False, length=16)
    )
    status: Mapped[FoundingStatus] = mapped_column(
        Enum(FoundingStatus, native_enum=False, length=16), default=FoundingStatus.submitted
    )
    # The applicant signs in with this phone; they follow the application with it.
    phone_hash: Mapped[str] = mapped_column(String(64))
    phone_enc: Mapped[str] = mapped_column(Text)
    contact_name_enc: Mapped[str] = mapped_column(Text)
    # JSON list of {name, phone, role}, encrypted as one value.
    founders_enc: Mapped[str] = mapped_column(Text)
    founders_count: Mapped[int] = mapped_column(Integer)
    data_key_id: Mapped[str] = mapped_column(String(16))

    enterprise_name: Mapped[str] = mapped_column(String(128))
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    address: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(6))
    headcount: Mapped[int] = mapped_column(Integer)
    union_name: Mapped[str | None] = mapped_column(String(128))
    joint_org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("org.id"))

    reviewer_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org.id"))
    reviewer_org_path: Mapped[str] = mapped_column(String(400), info=FOLLOWS_ORG)
    submitted_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    staff_note: Mapped[str | None] = mapped_column(Text)  # what was asked for, or why refused
    org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("org.id"))
    admin_staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_user.id"))
    invite_token: Mapped[str | None] = mapped_column(String(64))


class FoundingDocument(UUIDv7AuditBase):
    """A document of an application (licence, minutes…), stored outside the database."""

    __tablename__ = "founding_document"

    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("founding_application.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(128))
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)


class FoundingStep(UUIDv7AuditBase):
    """One entry of an application's timeline; the applicant sees every step."""

    __tablename__ = "founding_step"
    __table_args__ = (Index("ix_founding_step_app_at", "application_id", "at"),)

    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("founding_application.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    kind: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


class Enterprise(UUIDv7AuditBase):
    """An enterprise on a federation's register (imported per district): the denominator of
    the founding rate."""

    __tablename__ = "enterprise"
    __table_args__ = (Index("ix_enterprise_org_path", "org_path"),)

    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    headcount: Mapped[int] = mapped_column(Integer)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org.id"))
    org_path: Mapped[str] = mapped_column(String(400), info=FOLLOWS_ORG)
